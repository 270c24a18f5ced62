import type { StoredEvent } from '../../domain/event';
import { LeaseLostError } from '../../domain/errors';
import type { AppendOutcome, EventLog } from '../../ports/event-log';
import { decodeEventRow, type EventRow } from '../shared/event-row';
import { appendEventsIn } from './postgres-event-log';
import { inTransaction, type PostgresPool } from './open-pool';

/** One batch read from a partition's stream subject, to append with the position it reaches. */
export interface StreamBatch {
  /** The partition (stream subject) the events were read from. */
  readonly partition: number;
  /** Events in stream order (their `seq` is ignored; PostgreSQL assigns it). */
  readonly events: readonly StoredEvent[];
  /** Stored position the batch continues from (the fence: another writer moved it → {@link LeaseLostError}). */
  readonly from: number;
  /** Stream sequence of the batch's last message: the new stored position. */
  readonly to: number;
  readonly now: number;
  readonly dedupeWindowMs: number;
}

/**
 * The workers' side of the event log: events read from partition p's JetStream subject are appended
 * with their partition and the new stream position in ONE transaction, so a worker that dies re-reads
 * exactly the messages that were not appended (no loss, no double append). Dedupe by messageId is the
 * event log's own ({@link appendEventsIn}), so a message repeated after the stream's duplicate window
 * is still dropped within the log's window.
 */
export class PostgresPartitionLog {
  constructor(private readonly pool: PostgresPool) {}

  /** Stored stream position of a partition (0 when nothing was appended from it yet). */
  async position(partition: number): Promise<number> {
    const r = await this.pool.query<{ stream_seq: number }>('SELECT stream_seq FROM stream_positions WHERE partition = $1', [partition]);
    return r.rows[0]?.stream_seq ?? 0;
  }

  /** Stored stream position of every partition appended from so far. */
  async positions(): Promise<Map<number, number>> {
    const r = await this.pool.query<{ partition: number; stream_seq: number }>('SELECT partition, stream_seq FROM stream_positions');
    return new Map(r.rows.map((row) => [row.partition, row.stream_seq]));
  }

  /**
   * Appends a stream batch and moves the partition's position to `to`, atomically. Fenced: when the
   * stored position is not `from` (another worker holds the partition now), nothing is written and
   * {@link LeaseLostError} is thrown.
   */
  async append(batch: StreamBatch): Promise<AppendOutcome[]> {
    const [out] = await this.appendMany([batch]);
    if (out instanceof LeaseLostError) throw out;
    return out as AppendOutcome[];
  }

  /**
   * Appends batches of several partitions (at most one per partition) in ONE transaction, each with
   * its new position (a worker groups what its partitions read meanwhile: one commit instead of one
   * per partition). A batch whose fence fails gets {@link LeaseLostError} in its place; the others
   * are appended.
   */
  async appendMany(batches: readonly StreamBatch[]): Promise<Array<AppendOutcome[] | LeaseLostError>> {
    if (batches.length === 0) return [];
    const parts = batches.map((b) => b.partition);
    if (new Set(parts).size !== parts.length) throw new RangeError('appendMany takes at most one batch per partition');
    return inTransaction(this.pool, async (client) => {
      // The stream keeps the events (days): a crash that loses this commit loses the positions with it,
      // and the batches are read again, so the commit need not wait for the WAL flush.
      await client.query('SET LOCAL synchronous_commit = off');
      // Lock the position rows first (created at 0 when missing, in partition order) so two writers
      // cannot both pass a fence.
      await client.query(
        'INSERT INTO stream_positions (partition, stream_seq) SELECT p, 0 FROM unnest($1::int[]) AS p ORDER BY p ON CONFLICT (partition) DO NOTHING',
        [parts],
      );
      const cur = await client.query<{ partition: number; stream_seq: number }>(
        'SELECT partition, stream_seq FROM stream_positions WHERE partition = ANY($1::int[]) ORDER BY partition FOR UPDATE',
        [parts],
      );
      const at = new Map(cur.rows.map((r) => [r.partition, r.stream_seq]));
      const out: Array<AppendOutcome[] | LeaseLostError> = [];
      const events: StoredEvent[] = [];
      const eventParts: number[] = [];
      const ok: StreamBatch[] = [];
      for (const b of batches) {
        const pos = at.get(b.partition) ?? 0;
        if (pos !== b.from) {
          out.push(new LeaseLostError(`partition ${b.partition} is at stream position ${pos}, not ${b.from}: another worker appended to it`));
          continue;
        }
        out.push([]);
        ok.push(b);
        for (const e of b.events) {
          events.push(e);
          eventParts.push(b.partition);
        }
      }
      if (ok.length === 0) return out;
      const first = ok[0]!;
      const outcomes = await appendEventsIn(client, events, first, eventParts);
      let k = 0;
      batches.forEach((b, i) => {
        if (out[i] instanceof LeaseLostError) return;
        out[i] = outcomes.slice(k, k + b.events.length);
        k += b.events.length;
      });
      await client.query(
        'UPDATE stream_positions SET stream_seq = x.s FROM unnest($1::int[], $2::bigint[]) AS x(p, s) WHERE partition = x.p',
        [ok.map((b) => b.partition), ok.map((b) => b.to)],
      );
      return out;
    });
  }

  /** The log of one partition, as the processor of that partition reads it. */
  reader(partition: number): PartitionEventReader {
    return new PartitionEventReader(this.pool, partition);
  }
}

/**
 * `EventLog`-shaped view of one partition (`events WHERE partition = p`, index `(partition, seq)`): the
 * processor of partition p reads it after its own checkpoint. Positions are the global `seq`, so
 * checkpoints, type history and the engine feed keep one numbering across partitions. Read-only.
 */
export class PartitionEventReader implements EventLog {
  constructor(
    private readonly pool: PostgresPool,
    readonly partition: number,
  ) {}

  async read(after: number, limit: number): Promise<StoredEvent[]> {
    const r = await this.pool.query<EventRow>('SELECT * FROM events WHERE partition = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      this.partition,
      after,
      limit,
    ]);
    return r.rows.map(decodeEventRow);
  }

  async lastSeq(): Promise<number> {
    const r = await this.pool.query<{ seq: number }>('SELECT seq FROM events WHERE partition = $1 ORDER BY seq DESC LIMIT 1', [this.partition]);
    return r.rows[0]?.seq ?? 0;
  }

  append(): Promise<AppendOutcome[]> {
    // Events reach a partition only from its stream subject (PostgresPartitionLog.append).
    return Promise.reject(new Error(`the log of partition ${this.partition} is read-only: publish events to the stream`));
  }

  async pruneDedupe(): Promise<number> {
    return 0;
  }
}
