import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { resolveEventStreamOptions } from '../../adapters/nats/event-stream';
import { openPostgresPool } from '../../adapters/postgres/open-pool';
import { createPostgresAutomationStore } from '../../adapters/postgres/postgres-automation-store';
import { PostgresEngineFeed } from '../../adapters/postgres/postgres-engine-feed';
import { PostgresKeyStore } from '../../adapters/postgres/postgres-key-store';
import { PostgresPartitionProgress } from '../../adapters/postgres/postgres-partition-progress';
import { PostgresPartitionRouter } from '../../adapters/postgres/postgres-partition-router';
import { PostgresSingletonLease } from '../../adapters/postgres/postgres-singleton-lease';
import { createAutomation, type Automation } from '../../automation/automation';
import { createDefaultChannels } from '../../automation/channels';
import { channelBaselineFromEnv, createChannelSettings } from '../../automation/channel-settings';
import { createPostgresSettingsStore } from '../../adapters/postgres/postgres-settings-store';
import { automationConfigFromEnv } from '../../automation/config';
import { createFeedPlanner, feedbackEvents } from '../../automation/feed-planner';
import { createPlaybookRegistry, watchPlaybooks } from '../../automation/playbook-registry';
import type { EmittedMessage } from '../../automation/types';
import { ConfigError } from '../../domain/errors';
import { protectAdminApi } from '../../http/admin-auth';
import { createMetricsRegistry } from '../../http/metrics';
import { systemClock, type Clock } from '../../ports/clock';
import type { EngineFeed } from '../../ports/engine-feed';
import { BUILTIN_TEMPLATE_DIR, engineCustomerDirectory, userPlaybookDir } from '../automation-extension';
import { buildEngine } from '../build-engine';
import type { RoleHandle } from './role-handle';
import { createRoleServer } from './role-server';
import { openStreamSink } from './stream-sink';

/** Name of the planner's lease (one dispatcher plans at a time). */
export const PLANNER_LEASE = 'dispatcher-planner';

/** Options of {@link startDispatcherRole}. */
export interface DispatcherRoleOptions {
  databaseUrl: string;
  /** NATS server URL(s): feedback events (deliveries, opens, clicks, unsubscribes) go back through the stream. */
  natsUrl: string;
  port: number;
  host: string;
  /** Data folder: user lenses and templates, `<data>/playbooks`, the signing secret when `RAPPORT_SIGNING_SECRET` is unset. */
  dataDir: string;
  stream?: { partitions?: number; stream?: string; subjectPrefix?: string };
  /** Playbook folders (default `<data>/playbooks`). */
  playbookDirs?: readonly string[];
  /** Template folders (default `<data>/templates`, then the built-ins). */
  templateDirs?: readonly string[];
  /** The `mapping:` section and config file (lens evaluation needs the same vocabulary as the workers). */
  mapping?: unknown;
  configFile?: string | null;
  /** Environment for channels and automation settings (RAPPORT_SMTP_URL, RAPPORT_PUBLIC_URL, RAPPORT_SIGNING_SECRET...). */
  env?: NodeJS.ProcessEnv;
  /** PostgreSQL schema (tests). */
  schema?: string;
  /** Milliseconds between rounds (plan if leader, then dispatch due actions); default 500. */
  pollMs?: number;
  /** Lease on a claimed action: a dispatcher that dies mid-send gives its actions back after this (default 60 s). */
  actionLeaseMs?: number;
  /** Actions claimed per round (default 500). */
  batchSize?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A running dispatcher role. */
export interface DispatcherRoleHandle extends RoleHandle {
  readonly url: string;
  readonly metrics: Registry;
  /** True while this dispatcher holds the planner lease. */
  readonly planning: boolean;
}

/**
 * Starts a dispatcher of the scaled-out mode. Every dispatcher carries out due actions (claims use
 * `FOR UPDATE SKIP LOCKED` with a lease, channels get idempotency keys), so several can run side by
 * side; one of them at a time, holding a PostgreSQL advisory lease, also plans: it turns what the
 * workers processed into playbook signals, reading no further than the safe position (the smallest
 * unprocessed seq over all partitions minus one), and enrols schedule-triggered playbooks. Feedback
 * events go back into the event stream. Serves `/healthz`, `/readyz`, `/metrics`, the tracking,
 * unsubscribe and inbox routes and the automation's `/api/*` routes (admin token required).
 */
export async function startDispatcherRole(opts: DispatcherRoleOptions): Promise<DispatcherRoleHandle> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: 'silent' });
  const env = opts.env ?? process.env;
  const streamOpts = resolveEventStreamOptions(opts.stream);
  const dirs = opts.playbookDirs ?? [userPlaybookDir(opts.dataDir)];
  const playbooks = createPlaybookRegistry({ dirs });
  const errors = playbooks.lastErrors();
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new ConfigError(`${errors.length} playbook error(s):\n${errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n')}`, first, 'invalid_playbook');
  }
  // Only the lenses are used (contact policies per type); the engine is not run here.
  const engine = buildEngine({ dataDir: opts.dataDir, mapping: opts.mapping, configFile: opts.configFile ?? null, statements: false, value: false });

  const pool = await openPostgresPool(opts.databaseUrl, { max: 8, ...(opts.schema ? { schema: opts.schema } : {}) });
  const store = createPostgresAutomationStore(pool);
  const keyStore = new PostgresKeyStore(pool);
  const progress = new PostgresPartitionProgress(pool);
  const baseFeed = new PostgresEngineFeed(pool);
  // The planner must not read past a position some partition has not processed yet.
  const feed: EngineFeed = {
    eventsBetween: (after, upto) => baseFeed.eventsBetween(after, upto),
    customersOfEvents: (names) => baseFeed.customersOfEvents(names),
    typeChangesBetween: (after, upto) => baseFeed.typeChangesBetween(after, upto),
    position: (consumer) => baseFeed.position(consumer),
    setPosition: (consumer, seq) => baseFeed.setPosition(consumer, seq),
    processed: () => progress.safeProcessedSeq(),
    customers: (ids) => baseFeed.customers(ids),
    page: (afterId, limit) => baseFeed.page(afterId, limit),
  };
  const router = new PostgresPartitionRouter({ pool, partitions: streamOpts.partitions });
  const lease = new PostgresSingletonLease(pool, PLANNER_LEASE);
  const metrics = createMetricsRegistry({ defaultLabels: { role: 'dispatcher' } });
  const m = dispatcherMetrics(metrics, store);

  const sink = openStreamSink({
    natsUrl: opts.natsUrl,
    name: 'rapport-dispatcher',
    stream: streamOpts,
    router,
    maxInFlightEvents: 100_000,
    retryAfterSeconds: 1,
    unavailableRetryAfterSeconds: 2,
    logger,
  });
  const emit = async (messages: readonly EmittedMessage[]): Promise<void> => {
    const events = feedbackEvents(messages, clock.now(), (message, result) => logger.error({ message, result }, 'feedback event rejected'));
    // Feedback messageIds are deterministic: a retry after a failed publish is deduplicated downstream.
    if (events.length > 0) await sink.submit(events);
  };

  const base = automationConfigFromEnv(opts.dataDir, env);
  const channelSettings = createChannelSettings({
    store: createPostgresSettingsStore(pool),
    baseline: channelBaselineFromEnv(env, base.signingSecret),
    publicUrl: base.publicUrl,
    now: () => clock.now(),
  });
  const automation: Automation = createAutomation({
    clock,
    store,
    customers: engineCustomerDirectory(engine, feed),
    // Channel settings saved from the dashboard (any process) apply here too, within the settings' refresh time.
    channels: createDefaultChannels({ store, signingSecret: base.signingSecret, env, settings: channelSettings }),
    emit,
    playbooks,
    config: {
      ...base,
      templateDirs: [...(opts.templateDirs ?? [join(opts.dataDir, 'templates'), BUILTIN_TEMPLATE_DIR])],
      ...(opts.actionLeaseMs !== undefined ? { leaseMs: opts.actionLeaseMs } : {}),
      ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
      verifyWriteKey: async (k) => (await keyStore.verifyWriteKey(k)) !== null,
    },
    logger,
  });
  const planner = createFeedPlanner({ feed, automation, playbooks });

  const batch = opts.batchSize ?? 500;
  let pgOk = true;
  let stopping = false;
  const roleServer = createRoleServer({
    port: opts.port,
    host: opts.host,
    metrics,
    logger,
    ready: () => ({
      ready: pgOk && !stopping,
      checks: { postgres: pgOk ? 'reachable' : 'unreachable', nats: sink.ready ? 'connected' : 'unreachable', planner: lease.held ? 'leader' : 'standby' },
    }),
  });
  protectAdminApi(roleServer.server, keyStore);
  await automation.routes(roleServer.server);
  const stopWatch = watchPlaybooks(playbooks, dirs, (r) => {
    if (r.ok) logger.info({ playbooks: playbooks.current().length }, 'playbooks reloaded');
    else logger.error({ errors: playbooks.lastErrors() }, 'playbook reload failed; keeping the last valid set');
  });

  /** One round: plan (when leader), then dispatch everything due. */
  async function round(): Promise<void> {
    const started = performance.now();
    try {
      const leader = await lease.tryAcquire();
      m.leader.set(leader ? 1 : 0);
      if (leader) {
        m.signals.inc(await planner.catchUp());
        m.enrolled.inc(await automation.tickSchedules());
      }
      // One claim batch per call: metrics move as work is done, and a stop waits for one batch only.
      for (;;) {
        const n = await automation.dispatchDue(clock.now(), batch);
        m.dispatched.inc(n);
        if (n === 0 || stopping) break;
      }
      pgOk = true;
    } catch (err) {
      m.errors.inc();
      pgOk = false;
      logger.error({ err }, 'dispatcher round failed; retrying');
    } finally {
      m.roundSeconds.observe((performance.now() - started) / 1000);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopping) return;
    timer = setTimeout(() => {
      current = round().finally(schedule);
    }, opts.pollMs ?? 500);
  };

  let url: string;
  try {
    url = await roleServer.start();
  } catch (err) {
    stopWatch();
    await sink.close();
    await pool.end().catch(() => {});
    throw err;
  }
  current = round().finally(schedule);
  logger.info({ url }, 'dispatcher role listening');

  let stopped: Promise<void> | undefined;
  return {
    url,
    metrics,
    get planning() {
      return lease.held;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (timer) clearTimeout(timer);
        await current;
        stopWatch();
        await roleServer.stop();
        await automation.stop();
        await lease.close();
        await sink.close();
        await pool.end().catch(() => {});
      })();
      return stopped;
    },
  };
}

/** The dispatcher's metrics. */
function dispatcherMetrics(registry: Registry, store: { countActions(): Promise<Record<string, number>> }) {
  const registers = [registry];
  return {
    dispatched: new Counter({ name: 'rapport_dispatcher_actions_processed_total', help: 'Due actions carried out (sent, skipped or failed)', registers }),
    signals: new Counter({ name: 'rapport_dispatcher_signals_total', help: 'Signals planned from processed changes (leader only)', registers }),
    enrolled: new Counter({ name: 'rapport_dispatcher_schedule_enrolments_total', help: 'Enrolments of schedule-triggered playbooks', registers }),
    errors: new Counter({ name: 'rapport_dispatcher_errors_total', help: 'Failed rounds', registers }),
    leader: new Gauge({ name: 'rapport_dispatcher_planner_leader', help: '1 while this dispatcher holds the planner lease', registers }),
    roundSeconds: new Histogram({
      name: 'rapport_dispatcher_round_seconds',
      help: 'Duration of one plan + dispatch round',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    }),
    actions: new Gauge({
      name: 'rapport_dispatcher_actions',
      help: 'Scheduled actions by status (all dispatchers)',
      labelNames: ['status'],
      registers,
      async collect() {
        try {
          for (const [status, n] of Object.entries(await store.countActions())) this.set({ status }, n);
        } catch {
          // PostgreSQL unreachable: keep the last values; /readyz reports it.
        }
      },
    }),
  };
}
