import type { StoredEvent } from '../../domain/event';
import type { AppendOutcome, EventLog } from '../../ports/event-log';
import { decodeEventRow, encodeEventData, type EventRow } from '../shared/event-row';
import type { SqliteDatabase } from './open-database';

/** SQL of the append path, shared with the worker-thread writer (sqlite-append-worker.mjs). */
export const INSERT_EVENT_SQL = `INSERT INTO events (message_id, type, user_id, anonymous_id, event, timestamp, received_at, source_id, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/**
 * Inserts the id, or refreshes it when its previous sighting fell out of the window;
 * zero changes means "seen inside the window" = duplicate. Parameters: id, now, windowStart.
 */
export const CLAIM_MESSAGE_ID_SQL = `INSERT INTO event_dedupe (message_id, seen_at) VALUES (?, ?)
       ON CONFLICT (message_id) DO UPDATE SET seen_at = excluded.seen_at WHERE event_dedupe.seen_at < ?`;

/**
 * Event log on the embedded SQLite database. `append` runs one transaction for the whole call,
 * so a group of events is all-or-nothing and durable (synchronous=FULL) when the promise resolves.
 * Dedupe: `event_dedupe` remembers each messageId with the time it was accepted.
 */
export class SqliteEventLog implements EventLog {
  private readonly insertEvent;
  private readonly claimMessageId;
  private readonly selectAfter;
  private readonly selectLastSeq;
  private readonly deleteOldDedupe;
  private readonly appendTx;

  constructor(db: SqliteDatabase) {
    this.insertEvent = db.prepare(INSERT_EVENT_SQL);
    this.claimMessageId = db.prepare(CLAIM_MESSAGE_ID_SQL);
    this.selectAfter = db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.selectLastSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events').pluck();
    this.deleteOldDedupe = db.prepare('DELETE FROM event_dedupe WHERE seen_at < ?');
    this.appendTx = db.transaction((events: readonly StoredEvent[], now: number, windowStart: number) => {
      const out: AppendOutcome[] = new Array(events.length);
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as StoredEvent;
        if (this.claimMessageId.run(e.messageId, now, windowStart).changes === 0) {
          out[i] = { duplicate: true };
          continue;
        }
        const r = this.insertEvent.run(
          e.messageId,
          e.type,
          e.userId,
          e.anonymousId,
          e.event,
          e.timestamp,
          e.receivedAt,
          e.sourceId,
          encodeEventData(e),
        );
        out[i] = { seq: Number(r.lastInsertRowid) };
      }
      return out;
    });
  }

  async append(events: readonly StoredEvent[], opts: { now: number; dedupeWindowMs: number }): Promise<AppendOutcome[]> {
    if (events.length === 0) return [];
    return this.appendTx(events, opts.now, opts.now - opts.dedupeWindowMs);
  }

  async read(after: number, limit: number): Promise<StoredEvent[]> {
    return (this.selectAfter.all(after, limit) as EventRow[]).map(decodeEventRow);
  }

  async lastSeq(): Promise<number> {
    return this.selectLastSeq.get() as number;
  }

  async pruneDedupe(before: number): Promise<number> {
    return this.deleteOldDedupe.run(before).changes;
  }
}
