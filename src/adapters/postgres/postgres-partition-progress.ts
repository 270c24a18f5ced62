import { PostgresCustomerQueries } from './postgres-customer-queries';
import type { PostgresPool } from './open-pool';

/** Name of partition p's processor checkpoint in `engine_checkpoint`. */
export function partitionCheckpointName(partition: number): string {
  return `partition:${partition}`;
}

/** Where one partition stands: stream position appended, last event appended, last event processed. */
export interface PartitionProgress {
  readonly partition: number;
  /** JetStream sequence of the last message appended to PostgreSQL. */
  readonly streamSeq: number;
  /** Log position (global `seq`) of the partition's last appended event (0 when none). */
  readonly lastSeq: number;
  /** The partition processor's checkpoint (0 when it has processed nothing). */
  readonly checkpoint: number;
}

// For each partition appended from, the first event after its processor's checkpoint (NULL when caught up).
const SAFE_SQL = `
  SELECT COALESCE(
    (SELECT MIN(u.first_unprocessed) - 1 FROM (
       SELECT (SELECT e.seq FROM events e
                WHERE e.partition = sp.partition AND e.seq > COALESCE(cp.seq, 0)
                ORDER BY e.seq LIMIT 1) AS first_unprocessed
         FROM stream_positions sp
         LEFT JOIN engine_checkpoint cp ON cp.name = 'partition:' || sp.partition) u),
    (SELECT seq FROM events ORDER BY seq DESC LIMIT 1),
    0) AS safe`;

/**
 * Progress of the partition processors (scaled-out mode), for the dispatcher's engine feed and for
 * monitoring.
 */
export class PostgresPartitionProgress {
  constructor(private readonly pool: PostgresPool) {}

  /**
   * The highest log position below which every event is processed, in every partition: the smallest
   * unprocessed seq over all partitions minus one (the last seq when all are caught up, 0 when empty).
   * A reader of processed changes (the engine feed) must not read past it: partitions process at
   * different speeds, so a later seq may be done while an earlier one in another partition is not.
   * One statement, so one snapshot; workers append under one lock, so seq order is commit order and a
   * seq appended later is always above the answer.
   */
  async safeProcessedSeq(): Promise<number> {
    const r = await this.pool.query<{ safe: number }>(SAFE_SQL);
    return r.rows[0]?.safe ?? 0;
  }

  /** Every partition appended from so far, in partition order. */
  async partitions(): Promise<PartitionProgress[]> {
    const r = await this.pool.query<{ partition: number; stream_seq: number; last_seq: number | null; checkpoint: number | null }>(
      `SELECT sp.partition, sp.stream_seq,
              (SELECT e.seq FROM events e WHERE e.partition = sp.partition ORDER BY e.seq DESC LIMIT 1) AS last_seq,
              cp.seq AS checkpoint
         FROM stream_positions sp
         LEFT JOIN engine_checkpoint cp ON cp.name = 'partition:' || sp.partition
        ORDER BY sp.partition`,
    );
    return r.rows.map((row) => ({ partition: row.partition, streamSeq: row.stream_seq, lastSeq: row.last_seq ?? 0, checkpoint: row.checkpoint ?? 0 }));
  }


  /** Latest event time of any customer (ms; 0 when none): the event time a scheduled value refit uses. */
  latestEventTime(): Promise<number> {
    // The engine store's per-partition counters, not MAX(last_seen) over every customer.
    return new PostgresCustomerQueries(this.pool).latestEventTime();
  }

  /**
   * True when scaled-out workers have used this database (a partition has a stream position): a
   * single-process server must then not run its own processor on it, or events would be processed twice.
   */
  async usedByPartitionWorkers(): Promise<boolean> {
    const r = await this.pool.query<{ used: boolean }>('SELECT EXISTS (SELECT 1 FROM stream_positions) AS used');
    return r.rows[0]?.used ?? false;
  }
}

/** {@link PostgresPartitionProgress.safeProcessedSeq} as a function. */
export function safeProcessedSeq(pool: PostgresPool): Promise<number> {
  return new PostgresPartitionProgress(pool).safeProcessedSeq();
}
