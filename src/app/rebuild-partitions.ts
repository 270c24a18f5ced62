import type { PostgresPool } from '../adapters/postgres/open-pool';
import { PostgresEngineStore } from '../adapters/postgres/postgres-engine-store';
import { PartitionEventReader } from '../adapters/postgres/postgres-partition-log';
import { PostgresPartitionLeases } from '../adapters/postgres/postgres-partition-leases';
import { RapportError } from '../domain/errors';
import { Processor } from '../engine/processor';
import { partitionValueEngine } from './roles/partition-pipeline';
import type { BuiltEngine } from './build-engine';
import type { Clock } from '../ports/clock';

/** Dependencies of {@link rebuildPartitions}. */
export interface RebuildPartitionsDeps {
  readonly pool: PostgresPool;
  readonly engine: Pick<BuiltEngine, 'modules' | 'value' | 'valueOptions'>;
  /** The deployment's partition count (`scale.partitions`). */
  readonly partitions: number;
  readonly clock: Clock;
  /** Keep the derived state and continue each partition from its checkpoint instead of starting over. */
  readonly continue?: boolean;
  /** Partitions rebuilt at once (default 3). */
  readonly concurrency?: number;
  /** Events per commit (default 100,000). */
  readonly batchSize?: number;
  /** Events processed so far, over all partitions. */
  readonly onProgress?: (events: number) => void;
}

/** Name under which the rebuild holds the partitions (shows in `worker_heartbeats` while it runs). */
const REBUILD_WORKER_ID = 'rapport-replay';

/**
 * Rebuilds the scaled-out mode's derived state from the event log in PostgreSQL: takes every partition's
 * lease (so no worker can process while it runs, and it refuses while one does), deletes all derived state
 * (unless `continue`), then replays each partition's events through a processor set up as a worker's
 * (refits only where the log's refit events carry models), a few partitions at once. Stream positions and
 * the automation's feed positions are kept, so workers started afterwards go on where the stream is.
 */
export async function rebuildPartitions(d: RebuildPartitionsDeps): Promise<{ events: number; partitions: number }> {
  const leases = await PostgresPartitionLeases.open({ pool: d.pool, workerId: REBUILD_WORKER_ID, partitions: d.partitions, clock: d.clock });
  try {
    const busy: number[] = [];
    for (let p = 0; p < d.partitions; p++) if (!(await leases.tryAcquire(p))) busy.push(p);
    if (busy.length > 0) {
      const holders = await leases.holders();
      const who = [...new Set(busy.map((p) => holders.get(p) ?? '?'))].join(', ');
      throw new RapportError('workers_running', `partitions ${busy.join(', ')} are held by running workers (${who}): stop every worker, then replay`);
    }
    // Events a single-process server appended (no partition) are read by no partition processor.
    const single = await d.pool.query('SELECT 1 FROM events WHERE partition IS NULL LIMIT 1');
    if ((single.rowCount ?? 0) > 0) {
      throw new RapportError('mixed_log', 'the log holds events appended by a single-process server (no partition): a scaled-out rebuild would leave them out');
    }
    if (!d.continue) await new PostgresEngineStore(d.pool).reset();
    let events = 0;
    const rebuild = async (p: number): Promise<void> => {
      const value = d.engine.value ? partitionValueEngine(d.engine.valueOptions) : undefined;
      const processor = new Processor({
        eventLog: new PartitionEventReader(d.pool, p),
        store: new PostgresEngineStore(d.pool, { partition: p }),
        modules: d.engine.modules,
        batchSize: d.batchSize ?? 100_000,
        ...(value ? { value } : {}),
      });
      let done = 0;
      try {
        await processor.drain((n) => {
          events += n - done;
          done = n;
          d.onProgress?.(events);
        });
      } finally {
        processor.dispose();
      }
    };
    // A few partitions at once, as live workers do: one applies events while PostgreSQL commits another's.
    let next = 0;
    let failed = false;
    const lanes = Array.from({ length: Math.min(d.partitions, d.concurrency ?? 3) }, async () => {
      try {
        while (!failed && next < d.partitions) await rebuild(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    });
    // Every lane has stopped before the leases go (a failure stops the others after their partition).
    const ends = await Promise.allSettled(lanes);
    for (const e of ends) if (e.status === 'rejected') throw e.reason;
    return { events, partitions: d.partitions };
  } finally {
    await leases.close();
  }
}
