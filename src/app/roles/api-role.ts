import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { createMetricsRegistry, registerMetricsRoute } from '../../http/metrics';
import { connectNats, ensureEventStream, resolveEventStreamOptions } from '../../adapters/nats/event-stream';
import { PartitionStream, type NatsConnectionHandle } from '../../adapters/nats/partition-stream';
import { openPostgresPool, type PostgresPool } from '../../adapters/postgres/open-pool';
import { PostgresPartitionProgress } from '../../adapters/postgres/postgres-partition-progress';
import { PostgresPartitionRouter } from '../../adapters/postgres/postgres-partition-router';
import { CLOCK_TICK_EVENT } from '../../engine/processor';
import type { Clock } from '../../ports/clock';
import type { RapportConfig } from '../config';
import { openAppStore } from '../app-store';
import { createApp, type App } from '../create-app';
import { defaultExtensions } from '../default-extensions';
import { publishClockTick, publishValueRefit, restoreValueFromPostgres } from './control-publisher';
import type { RoleHandle } from './role-handle';
import { openStreamSink } from './stream-sink';

/** Options of {@link startApiRole}. */
export interface ApiRoleOptions {
  /** Validated configuration; `databaseUrl` must be set (the state the workers commit). */
  config: RapportConfig;
  natsUrl: string;
  stream?: { partitions?: number; stream?: string; subjectPrefix?: string };
  /** PostgreSQL schema (tests). */
  schema?: string;
  env?: NodeJS.ProcessEnv;
  /** How often the value models and purchase summaries are reloaded from PostgreSQL for `/api/value/*` (ms, default 300 000). */
  valueReloadMs?: number;
  /**
   * Most buyers whose purchase summaries this process keeps for the value summary (default 200,000): with
   * more customers it keeps a uniform sample and scales the summary's counts and sums up from it.
   */
  valueSampleBuyers?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A running API role. */
export interface ApiRoleHandle extends RoleHandle {
  readonly url: string;
  readonly app: App;
}

/**
 * Starts the admin API and dashboard of the scaled-out mode: the same routes as the single-process
 * server, reading what the partition workers committed to PostgreSQL. It runs no processor and no
 * automation planner: events it accepts (tracking API, feedback from tracked links, task completions)
 * are routed and published to the event stream, and `POST /api/value/refit` / `POST /api/engine/tick`
 * publish control events to every partition (a refit is fitted once, here, from PostgreSQL state).
 * Stateless: run as many as the dashboard and API traffic needs.
 */
export async function startApiRole(opts: ApiRoleOptions): Promise<ApiRoleHandle> {
  const { config } = opts;
  if (!config.databaseUrl) throw new Error('the api role needs a PostgreSQL database URL');
  const streamOpts = resolveEventStreamOptions(opts.stream);
  const poolOptions = opts.schema ? { schema: opts.schema } : {};
  const pool: PostgresPool = await openPostgresPool(config.databaseUrl, { max: 4, ...poolOptions });
  const logger = opts.logger;
  let nc: NatsConnectionHandle | null = null;
  let app: App | undefined;
  let valueTimer: NodeJS.Timeout | undefined;
  const sink = openStreamSink({
    natsUrl: opts.natsUrl,
    name: 'rapport-api',
    stream: streamOpts,
    router: new PostgresPartitionRouter({ pool, partitions: streamOpts.partitions }),
    maxInFlightEvents: config.ingest.maxPendingEvents,
    retryAfterSeconds: config.ingest.retryAfterSeconds,
    unavailableRetryAfterSeconds: 2,
    logger: logger ?? pino({ level: 'silent' }),
  });
  try {
    nc = await connectNats(opts.natsUrl, { name: 'rapport-api-control' });
    await ensureEventStream(await nc.jetstreamManager(), streamOpts);
    const stream = new PartitionStream(nc, streamOpts);
    const progress = new PostgresPartitionProgress(pool);
    const ext = defaultExtensions(config, {
      ...(opts.env ? { env: opts.env } : {}),
      readOnly: {
        processed: () => progress.safeProcessedSeq(),
        async control(event, at) {
          const now = (app as App).clock.now();
          const id = `rapport-control-${randomUUID()}`;
          if (event === CLOCK_TICK_EVENT) await publishClockTick(stream, id, now);
          else {
            const engine = ext.engine;
            if (!engine.value) return 0;
            await publishValueRefit(stream, pool, { id, at: at ?? ((await progress.latestEventTime()) || now), now, valueOptions: engine.valueOptions });
          }
          return 0;
        },
      },
    });
    // The value summary (Pareto, CLV, heavy users) reads a value engine: keep this process's copy of the
    // workers' models and purchase summaries, reloaded now and then (a refit shows at the next reload).
    const value = ext.engine.value;
    const reloadValue = async (): Promise<void> => {
      // A sample of at most `valueSampleBuyers` buyers: the summary's figures are scaled up from it.
      if (value) await restoreValueFromPostgres(pool, value, { maxBuyers: opts.valueSampleBuyers ?? 200_000 });
    };
    await reloadValue();
    valueTimer = setInterval(() => {
      reloadValue().catch((err: unknown) => logger?.error({ err }, 'could not reload the value models'));
    }, opts.valueReloadMs ?? 300_000);
    valueTimer.unref();
    // Process metrics, events this role published, and how far the workers have processed (the safe position).
    const metrics = createMetricsRegistry({ defaultLabels: { role: 'api' } });
    const published = new Counter({ name: 'rapport_api_events_published_total', help: 'Events this api role published to the stream (tracking API, feedback).', registers: [metrics] });
    new Gauge({
      name: 'rapport_api_safe_processed_seq',
      help: 'Highest log position every partition has processed (what the read routes show).',
      registers: [metrics],
      async collect() {
        this.set(await progress.safeProcessedSeq());
      },
    });
    app = await createApp(config, {
      writer: {
        async submit(events) {
          const out = await sink.submit(events);
          published.inc(events.length);
          return out;
        },
        onCommitted: () => () => {},
        get overloaded() {
          return sink.overloaded || !sink.ready;
        },
        close: () => sink.close(),
      },
      extensions: ext.list,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(logger ? { logger } : {}),
      openStore: (c) => openAppStore({ dataDir: c.dataDir, databaseUrl: c.databaseUrl, pool: poolOptions }),
    });
    registerMetricsRoute(app.server, metrics);
    const { url } = await app.start();
    const started = app;
    let stopped: Promise<void> | undefined;
    return {
      url,
      app: started,
      stop() {
        stopped ??= (async () => {
          clearInterval(valueTimer);
          await started.stop();
          await nc?.drain().catch(() => {});
          await pool.end().catch(() => {});
        })();
        return stopped;
      },
    };
  } catch (err) {
    clearInterval(valueTimer);
    await app?.stop().catch(() => {});
    await sink.close().catch(() => {});
    await nc?.close().catch(() => {});
    await pool.end().catch(() => {});
    throw err;
  }
}
