import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { connectNats, ensureEventStream, resolveEventStreamOptions } from '../../adapters/nats/event-stream';
import { PartitionStream, type NatsConnectionHandle } from '../../adapters/nats/partition-stream';
import { openPostgresPool } from '../../adapters/postgres/open-pool';
import { PostgresPartitionLeases } from '../../adapters/postgres/postgres-partition-leases';
import { PostgresPartitionLog } from '../../adapters/postgres/postgres-partition-log';
import { PostgresPartitionProgress } from '../../adapters/postgres/postgres-partition-progress';
import { createMetricsRegistry } from '../../http/metrics';
import { systemClock, type Clock } from '../../ports/clock';
import { buildEngineFromConfig, engineSectionSchema, type BuiltEngine } from '../build-engine';
import type { RapportConfig } from '../config';
import { parseConfigSection } from '../config-section';
import { publishClockTick, publishValueRefit } from './control-publisher';
import { GroupAppender, PartitionPipeline, Turns, type PipelineObserver } from './partition-pipeline';
import type { RoleHandle } from './role-handle';
import { createRoleServer, type RoleServer } from './role-server';

const DAY_MS = 86_400_000;
/** Name of the singleton lease whose holder publishes clock ticks and value refits. */
export const SCHEDULER_LEASE = 'scheduler';

/** Options of {@link startWorkerRole}. */
export interface WorkerRoleOptions {
  /** Validated configuration: the `engine`, `value`, `mapping` and `costs` sections are read. */
  config: RapportConfig;
  databaseUrl: string;
  /** NATS server URL(s), comma-separated. */
  natsUrl: string;
  /** Port of `/healthz`, `/readyz`, `/metrics` (0: any free port; omitted: no HTTP server). */
  port?: number;
  host?: string;
  /** Stream settings (`scale:` section); defaults as in `event-stream.ts`. */
  stream?: { partitions?: number; stream?: string; subjectPrefix?: string };
  /** PostgreSQL schema (tests); default the user's search_path. */
  schema?: string;
  /** Connections to PostgreSQL (default 10). */
  poolSize?: number;
  /** Unique id of this worker (default hostname-pid-random). */
  workerId?: string;
  /** How often leases are rebalanced and the heartbeat written (ms, default 1000). */
  rebalanceEveryMs?: number;
  /** A worker without a heartbeat for this long is gone (ms, default 5000; a closed session is gone at once). */
  workerTtlMs?: number;
  /** Publish scheduled clock ticks and value refits when holding the scheduler lease (default true). */
  schedule?: boolean;
  /** Least time between two commits of one partition's processor under load (ms; default 10 × partitions owned, at least 50). */
  commitEveryMs?: number;
  /**
   * Partition processors of this worker running at once (default 2): they share one thread, and with all
   * of them interleaved each commit's statements wait behind every other partition's processing.
   */
  processorsAtOnce?: number;
  /** Processor batch size per partition (default 2000) and decoded customers kept per partition (default 20,000). */
  batchSize?: number;
  cacheSize?: number;
  /** The engine (lenses, mapping, value settings), when already built (tests); else built from `config`. */
  engine?: BuiltEngine;
  clock?: Clock;
  logger?: Logger;
}

/** A running worker. */
export interface WorkerRoleHandle extends RoleHandle {
  readonly workerId: string;
  /** The worker's metrics registry (served at `/metrics`). */
  readonly metrics: Registry;
  /** Partitions this worker processes now. */
  owned(): number[];
}

/** The worker's Prometheus metrics. */
function workerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    processed: new Counter({ name: 'rapport_worker_events_processed_total', help: 'Events processed (classified and committed)', labelNames: ['partition'], registers }),
    appended: new Counter({ name: 'rapport_worker_events_appended_total', help: 'Events appended from the stream to PostgreSQL', labelNames: ['partition'], registers }),
    lag: new Gauge({ name: 'rapport_worker_stream_lag', help: 'Last stream sequence of the partition subject minus the stored position', labelNames: ['partition'], registers }),
    latency: new Histogram({
      name: 'rapport_worker_processing_latency_seconds',
      help: 'From receipt by ingest to the commit that classified the event',
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
      registers,
    }),
    owned: new Gauge({ name: 'rapport_worker_partitions_owned', help: 'Partitions this worker holds', registers }),
    scheduler: new Gauge({ name: 'rapport_worker_scheduler', help: '1 while this worker holds the scheduler lease', registers }),
    errors: new Counter({ name: 'rapport_worker_errors_total', help: 'Errors by kind', labelNames: ['kind'], registers }),
  };
}

/**
 * Starts a worker of the scaled-out mode: takes a fair share of the partitions (PostgreSQL advisory
 * locks, rebalanced as workers come and go), and for each owned partition appends the stream's events
 * to PostgreSQL and runs the processor over them. One worker (lease `scheduler`) also publishes the
 * periodic clock ticks (`engine.tickEveryHours`) and value refits (`value.refitEveryDays`, fitted once
 * from PostgreSQL state) on the wall clock. Stop releases everything; a killed worker's partitions move
 * to the others as soon as PostgreSQL sees its session end.
 */
export async function startWorkerRole(opts: WorkerRoleOptions): Promise<WorkerRoleHandle> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: 'silent' });
  const workerId = opts.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const streamOpts = resolveEventStreamOptions(opts.stream);
  const { config } = opts;
  const engine = opts.engine ?? buildEngineFromConfig(config);
  const { tickEveryHours } = parseConfigSection(config, 'engine', engineSectionSchema);
  const valueOptions = engine.value ? engine.valueOptions : null;

  const pool = await openPostgresPool(opts.databaseUrl, { max: opts.poolSize ?? 10, ...(opts.schema ? { schema: opts.schema } : {}) });
  let nc: NatsConnectionHandle | null = null;
  let leases: PostgresPartitionLeases | null = null;
  try {
    nc = await connectNats(opts.natsUrl, { name: `rapport-worker-${workerId}` });
    await ensureEventStream(await nc.jetstreamManager(), streamOpts);
    leases = await PostgresPartitionLeases.open({ pool, workerId, partitions: streamOpts.partitions, clock, ...(opts.workerTtlMs ? { ttlMs: opts.workerTtlMs } : {}) });
  } catch (err) {
    await nc?.close().catch(() => {});
    await pool.end().catch(() => {});
    throw err;
  }
  const stream = new PartitionStream(nc, streamOpts);
  const partitionLog = new PostgresPartitionLog(pool);
  const appender = new GroupAppender(partitionLog);
  const turns = new Turns(opts.processorsAtOnce ?? 2);
  const progress = new PostgresPartitionProgress(pool);
  const registry = createMetricsRegistry({ defaultLabels: { role: 'worker', worker: workerId } });
  const m = workerMetrics(registry);
  const pipelines = new Map<number, PartitionPipeline>();
  const lost = new Set<number>();
  let stopping = false;

  const observer: PipelineObserver = {
    appended: (p, n) => m.appended.inc({ partition: String(p) }, n),
    processed: (p, n) => m.processed.inc({ partition: String(p) }, n),
    // A histogram only: a prom-client Summary keeps a t-digest per observation (~3 % of a worker's CPU);
    // quantiles come from `histogram_quantile` over the buckets.
    latency: (s) => m.latency.observe(s),
    error: (kind, err) => {
      m.errors.inc({ kind });
      logger.warn({ err, kind }, 'worker error');
    },
  };

  const startPartition = async (p: number): Promise<void> => {
    const pipeline = new PartitionPipeline({
      partition: p,
      stream,
      pool,
      partitionLog,
      appender,
      turns,
      // A commit costs about ten statements whatever its size, for every owned partition: pace commits
      // so that a worker with many partitions does not spend its time on small ones.
      commitEveryMs: opts.commitEveryMs ?? (() => Math.max(50, 10 * pipelines.size)),
      modules: engine.modules,
      valueOptions,
      clock,
      dedupeWindowMs: config.ingest.dedupeWindowHours * 3_600_000,
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      ...(opts.cacheSize ? { cacheSize: opts.cacheSize } : {}),
      observer,
      onLost: (q) => lost.add(q),
    });
    pipelines.set(p, pipeline);
    await pipeline.start();
  };

  const stopPartition = async (p: number): Promise<void> => {
    const pipeline = pipelines.get(p);
    pipelines.delete(p);
    m.lag.remove({ partition: String(p) });
    await pipeline?.stop();
  };

  /** One round: rebalance, start/stop pipelines, then the schedule if this worker is the scheduler. */
  const round = async (): Promise<void> => {
    let l = leases as PostgresPartitionLeases;
    if (l.lostError()) {
      // The lease session died: every partition may already be someone else's. Stop all, start over.
      logger.warn({ err: l.lostError() }, 'lease connection lost; releasing every partition');
      m.errors.inc({ kind: 'lease' });
      for (const p of [...pipelines.keys()]) await stopPartition(p);
      await l.close();
      l = leases = await PostgresPartitionLeases.open({ pool, workerId, partitions: streamOpts.partitions, clock, ...(opts.workerTtlMs ? { ttlMs: opts.workerTtlMs } : {}) });
    }
    for (const p of lost) {
      lost.delete(p);
      await stopPartition(p);
      await l.release(p);
    }
    const r = await l.rebalance(stopPartition);
    for (const p of r.acquired) {
      try {
        await startPartition(p);
      } catch (err) {
        observer.error('read', err);
        await stopPartition(p);
        await l.release(p);
      }
    }
    if (r.acquired.length > 0 || r.released.length > 0) logger.info({ workerId, acquired: r.acquired, released: r.released, owned: [...l.owned()] }, 'partitions rebalanced');
    m.owned.set(pipelines.size);
    if (opts.schedule !== false && (await l.tryAcquireNamed(SCHEDULER_LEASE))) {
      m.scheduler.set(1);
      await runSchedule(l);
    } else m.scheduler.set(0);
  };

  /** Publishes each schedule's slot once when the wall clock enters it (the slot is recorded after publishing). */
  const due = async (l: PostgresPartitionLeases, name: string, everyMs: number, publish: (slot: number) => Promise<void>): Promise<void> => {
    if (!(everyMs > 0)) return;
    const slot = Math.floor(clock.now() / everyMs);
    const last = await l.scheduleSlot(name);
    // The first scheduler only starts counting: the first tick comes one interval later, as embedded.
    if (last !== null && slot > last) await publish(slot);
    if (last === null || slot > last) await l.setScheduleSlot(name, slot);
  };

  const runSchedule = async (l: PostgresPartitionLeases): Promise<void> => {
    // messageIds derive from the slot, so a scheduler that dies between publishing and recording is deduplicated.
    await due(l, 'clock_tick', tickEveryHours * 3_600_000, (slot) => publishClockTick(stream, `rapport-tick-${slot}`, clock.now()));
    if (valueOptions) {
      await due(l, 'value_refit', valueOptions.refitEveryDays * DAY_MS, async (slot) => {
        const now = clock.now();
        // Event time, as the embedded API refit: customers as of the latest event.
        const at = (await progress.latestEventTime()) || now;
        await publishValueRefit(stream, pool, { id: `rapport-refit-${slot}`, at, now, valueOptions });
      });
    }
  };

  const updateLag = async (): Promise<void> => {
    for (const [p, pipeline] of pipelines) {
      try {
        m.lag.set({ partition: String(p) }, await pipeline.lag());
      } catch {
        // NATS unreachable: keep the last value; /readyz tells.
      }
    }
  };

  let roundRunning: Promise<void> | null = null;
  let rounds = 0;
  const tick = () => {
    if (stopping || roundRunning) return;
    roundRunning = (async () => {
      try {
        await round();
        if (rounds++ % 2 === 0) await updateLag();
      } catch (err) {
        observer.error('read', err);
      } finally {
        roundRunning = null;
      }
    })();
  };
  const timer = setInterval(tick, opts.rebalanceEveryMs ?? 1000);
  tick();

  let server: RoleServer | null = null;
  let url: string | undefined;
  if (opts.port !== undefined) {
    const natsConn = nc;
    server = createRoleServer({
      port: opts.port,
      host: opts.host ?? '127.0.0.1',
      metrics: registry,
      logger,
      ready: () => {
        const natsOk = !natsConn.isClosed() && natsConn.info !== undefined;
        const leaseOk = leases?.lostError() === null;
        return {
          ready: natsOk && leaseOk && !stopping,
          checks: { nats: natsOk ? 'connected' : 'unreachable', leases: leaseOk ? `${pipelines.size} partitions` : 'lost' },
        };
      },
    });
    url = await server.start();
  }
  logger.info({ workerId, url, stream: streamOpts.stream, partitions: streamOpts.partitions }, 'worker role started');

  let stopped: Promise<void> | undefined;
  const conn = nc;
  return {
    workerId,
    metrics: registry,
    ...(url ? { url } : {}),
    owned: () => [...pipelines.keys()].sort((a, b) => a - b),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(timer);
        await roundRunning;
        await server?.stop();
        for (const p of [...pipelines.keys()]) await stopPartition(p);
        await leases?.close();
        if (!conn.isClosed()) await conn.drain().catch(() => conn.close());
        await pool.end().catch(() => {});
        logger.info({ workerId }, 'worker role stopped');
      })();
      return stopped;
    },
  };
}
