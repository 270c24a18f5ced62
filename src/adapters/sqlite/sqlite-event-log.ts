import type { EventType, JsonObject, StoredEvent } from '../../domain/event';
import type { AppendOutcome, EventLog } from '../../ports/event-log';
import type { SqliteDatabase } from './open-database';

/** Row shape of the `events` table. */
export interface EventRow {
  seq: number;
  message_id: string;
  type: string;
  user_id: string | null;
  anonymous_id: string | null;
  event: string | null;
  timestamp: number;
  received_at: number;
  source_id: string;
  data: string;
}

/** The part of an event kept in the `data` JSON column. */
interface EventData {
  name?: string | null;
  groupId?: string | null;
  previousId?: string | null;
  properties?: JsonObject;
  traits?: JsonObject;
  context?: JsonObject;
  integrations?: JsonObject;
  sentAt?: number | null;
}

/**
 * Event log on the embedded SQLite database. `append` runs one transaction for the whole call,
 * so a group of events is all-or-nothing and durable (synchronous=FULL) when the promise resolves.
 * Dedupe: `event_dedupe` remembers each messageId with the time it was accepted.
 */
/** SQL of the append path, shared with the worker-thread writer (sqlite-append-worker.mjs). */
export const INSERT_EVENT_SQL = `INSERT INTO events (message_id, type, user_id, anonymous_id, event, timestamp, received_at, source_id, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/**
 * Inserts the id, or refreshes it when its previous sighting fell out of the window;
 * zero changes means "seen inside the window" = duplicate. Parameters: id, now, windowStart.
 */
export const CLAIM_MESSAGE_ID_SQL = `INSERT INTO event_dedupe (message_id, seen_at) VALUES (?, ?)
       ON CONFLICT (message_id) DO UPDATE SET seen_at = excluded.seen_at WHERE event_dedupe.seen_at < ?`;
/** Number of values per event in a flat row array (see {@link encodeEventRow}). */
export const ROW_WIDTH = 9;

/** Appends one event's column values (INSERT_EVENT_SQL order) to a flat array. */
export function encodeEventRow(e: StoredEvent, out: unknown[]): void {
  out.push(e.messageId, e.type, e.userId, e.anonymousId, e.event, e.timestamp, e.receivedAt, e.sourceId, encodeData(e));
}

export class SqliteEventLog implements EventLog {
  private readonly insertEvent;
  private readonly claimMessageId;
  private readonly selectAfter;
  private readonly selectLastSeq;
  private readonly deleteOldDedupe;
  private readonly appendTx;

  constructor(private readonly db: SqliteDatabase) {
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
          encodeData(e),
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
    return (this.selectAfter.all(after, limit) as EventRow[]).map(decodeRow);
  }

  async lastSeq(): Promise<number> {
    return this.selectLastSeq.get() as number;
  }

  async pruneDedupe(before: number): Promise<number> {
    return this.deleteOldDedupe.run(before).changes;
  }
}

function encodeData(e: StoredEvent): string {
  const d: EventData = {};
  // Empty parts are left out: smaller rows, less to write.
  if (e.name !== null) d.name = e.name;
  if (e.groupId !== null) d.groupId = e.groupId;
  if (e.previousId !== null) d.previousId = e.previousId;
  if (!isEmpty(e.properties)) d.properties = e.properties;
  if (!isEmpty(e.traits)) d.traits = e.traits;
  if (!isEmpty(e.context)) d.context = e.context;
  if (!isEmpty(e.integrations)) d.integrations = e.integrations;
  if (e.sentAt !== null) d.sentAt = e.sentAt;
  return JSON.stringify(d);
}

function isEmpty(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}

/** Turns an `events` row back into a StoredEvent. */
export function decodeRow(r: EventRow): StoredEvent {
  const d = JSON.parse(r.data) as EventData;
  return {
    seq: r.seq,
    messageId: r.message_id,
    type: r.type as EventType,
    userId: r.user_id,
    anonymousId: r.anonymous_id,
    event: r.event,
    name: d.name ?? null,
    groupId: d.groupId ?? null,
    previousId: d.previousId ?? null,
    properties: d.properties ?? {},
    traits: d.traits ?? {},
    context: d.context ?? {},
    integrations: d.integrations ?? {},
    timestamp: r.timestamp,
    receivedAt: r.received_at,
    sentAt: d.sentAt ?? null,
    sourceId: r.source_id,
  };
}

/** Decodes an `events` row (shared with the customer queries, which join on it). */
export const decodeEventRow: (row: EventRow) => StoredEvent = decodeRow;
