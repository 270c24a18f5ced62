import type { StoredEvent } from '../../domain/event';
import type { AppendOutcome, EventLog } from '../../ports/event-log';
import { decodeEventRow, encodeEventRow, type EventRow } from '../shared/event-row';
import { recordsetJson, recordsetSql, type RecordsetColumn } from './json-recordset';
import { inTransaction, type PostgresClient, type PostgresPool } from './open-pool';

/** `encodeEventRow`'s columns, then the partition and the row's position (see json-recordset.ts). */
const EVENT_COLUMNS: readonly RecordsetColumn[] = (
  [
    ['message_id', 'text'],
    ['type', 'text'],
    ['user_id', 'text'],
    ['anonymous_id', 'text'],
    ['event', 'text'],
    ['timestamp', 'bigint'],
    ['received_at', 'bigint'],
    ['source_id', 'text'],
    ['data', 'json'],
    ['partition', 'integer'],
    ['ord', 'integer'],
  ] as const
).map(([name, kind]) => ({ name, kind }));
const EVENT_SET = recordsetSql(EVENT_COLUMNS);

/**
 * Event log on PostgreSQL. `append` is one transaction: claim the messageIds (INSERT ... ON CONFLICT,
 * refreshing ids whose sighting fell out of the window), then insert the claimed events in input order.
 *
 * Appends take a transaction-level advisory lock first: with several writers, an identity value taken
 * by a transaction that commits later would otherwise become visible after a reader had moved past it,
 * and `read(after)` would skip it for good. Serialising appends keeps "seq order = commit order".
 */
export class PostgresEventLog implements EventLog {
  constructor(private readonly pool: PostgresPool) {}

  async append(events: readonly StoredEvent[], opts: { now: number; dedupeWindowMs: number }): Promise<AppendOutcome[]> {
    if (events.length === 0) return [];
    return inTransaction(this.pool, (client) => appendEventsIn(client, events, opts));
  }

  async read(after: number, limit: number): Promise<StoredEvent[]> {
    const r = await this.pool.query<EventRow>('SELECT * FROM events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit]);
    return r.rows.map(decodeEventRow);
  }

  async lastSeq(): Promise<number> {
    // ORDER BY ... LIMIT 1 walks the primary key backwards; MAX() would too, but this reads plainly in EXPLAIN.
    const r = await this.pool.query<{ seq: number }>('SELECT seq FROM events ORDER BY seq DESC LIMIT 1');
    return r.rows[0]?.seq ?? 0;
  }

  async pruneDedupe(before: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM event_dedupe WHERE seen_at < $1', [before]);
    return r.rowCount ?? 0;
  }
}

/**
 * The body of {@link PostgresEventLog.append}, on a client inside the caller's transaction (the workers
 * append stream batches and their stream positions in one transaction). `partition` is stored with each
 * event — one for all, or one per event (null: not from a partitioned stream).
 */
export async function appendEventsIn(
  client: PostgresClient,
  events: readonly StoredEvent[],
  opts: { now: number; dedupeWindowMs: number },
  partition: number | null | readonly number[] = null,
): Promise<AppendOutcome[]> {
  if (events.length === 0) return [];
  // A repeat inside the same call is a duplicate of its first occurrence.
  const first = new Map<string, number>();
  events.forEach((e, i) => {
    if (!first.has(e.messageId)) first.set(e.messageId, i);
  });
  const ids = [...first.keys()];
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('rapport.events.' || current_schema()))`);
  const claimed = await client.query<{ message_id: string }>(
    `INSERT INTO event_dedupe (message_id, seen_at) SELECT id, $2 FROM unnest($1::text[]) AS id
     ON CONFLICT (message_id) DO UPDATE SET seen_at = excluded.seen_at WHERE event_dedupe.seen_at < $3
     RETURNING message_id`,
    [ids, opts.now, opts.now - opts.dedupeWindowMs],
  );
  const claimedIds = new Set(claimed.rows.map((r) => r.message_id));
  const keep: number[] = [];
  for (const [id, i] of first) if (claimedIds.has(id)) keep.push(i);
  keep.sort((a, b) => a - b);
  const out: AppendOutcome[] = events.map(() => ({ duplicate: true }) as const);
  if (keep.length === 0) return out;
  const rows: unknown[][] = [];
  for (const i of keep) {
    const row: unknown[] = [];
    encodeEventRow(events[i] as StoredEvent, row);
    row.push(typeof partition === 'number' || partition === null ? partition : partition[i], rows.length);
    rows.push(row);
  }
  // ORDER BY the row's position: identity values are assigned in input order.
  const inserted = await client.query<{ seq: number; message_id: string }>(
    `INSERT INTO events (message_id, type, user_id, anonymous_id, event, timestamp, received_at, source_id, data, partition)
     SELECT ${EVENT_SET.select.slice(0, -1).join(', ')} FROM ${EVENT_SET.from} ORDER BY x."ord"
     RETURNING seq, message_id`,
    [recordsetJson(EVENT_COLUMNS, rows)],
  );
  const seqOf = new Map(inserted.rows.map((r) => [r.message_id, r.seq]));
  for (const i of keep) out[i] = { seq: seqOf.get((events[i] as StoredEvent).messageId) as number };
  return out;
}
