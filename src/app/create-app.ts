import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '../ports/clock';
import type { AppendOutcome, EventLog } from '../ports/event-log';
import type { StoredEvent } from '../domain/event';
import type { KeyStore } from '../ports/key-store';
import { IngestWriter } from '../ingest/ingest-writer';
import { protectAdminApi } from '../http/admin-auth';
import { createServer } from '../http/create-server';
import { registerHealthRoutes } from '../http/health-routes';
import { registerSegmentRoutes } from '../http/segment-routes';
import { registerSourceRoutes } from '../http/source-routes';
import type { RapportConfig } from './config';
import { openAppStore, type AppStore } from './app-store';

/**
 * EXTENSION POINT: a component that plugs into the server (event processor, /api/customers, ...).
 * `routes` runs while the app is built (before listening); `start` after the server listens;
 * `stop` during shutdown, after HTTP has stopped and the write queue is flushed, before the
 * database closes (extensions stop in reverse order). Every `/api/*` route is behind admin auth.
 */
export interface AppExtension {
  name: string;
  routes?(server: FastifyInstance, app: App): Promise<void> | void;
  start?(app: App): Promise<void> | void;
  stop?(app: App): Promise<void> | void;
}

/** The wired application. */
export interface App {
  config: RapportConfig;
  clock: Clock;
  logger: Logger;
  /** Every storage port, on the embedded SQLite file or on PostgreSQL (`config.databaseUrl`). */
  store: AppStore;
  /** The log the ingest writer appends to (`store.eventLog`, possibly decorated). */
  eventLog: EventLog;
  keyStore: KeyStore;
  /** Where accepted events go; `ingest.onCommitted(fn)` wakes a consumer right after each commit. */
  ingest: AppWriter;
  server: FastifyInstance;
  /** Listens on config.host:config.port and starts extensions. */
  start(): Promise<{ url: string }>;
  /** Graceful stop: stop accepting, finish in-flight requests, flush the write queue, stop extensions, close the db. */
  stop(): Promise<void>;
}

/**
 * Where the app's accepted events go (tracking API, feedback, control events): the group-commit
 * {@link IngestWriter} on the store's event log by default, or the event stream in the scaled-out API role.
 */
export interface AppWriter {
  submit(events: readonly StoredEvent[]): Promise<AppendOutcome[]>;
  /** Runs `listener` after each commit to the app's own log (never, when events go elsewhere); returns an unsubscribe function. */
  onCommitted(listener: (lastSeq: number) => void): () => void;
  /** True while the writer refuses more events (readiness reports not ready). */
  readonly overloaded: boolean;
  /** Refuses new events and waits for those in flight. */
  close(): Promise<void>;
}

/** Optional dependencies of {@link createApp}. */
export interface AppDeps {
  clock?: Clock;
  logger?: Logger;
  extensions?: AppExtension[];
  /** messageId generator for events without one (tests make it deterministic). */
  newMessageId?: () => string;
  /** Wraps the event log the writer appends to (instrumentation, or tests that hold commits back). */
  decorateEventLog?: (log: EventLog) => EventLog;
  /** Replaces the group-commit writer (the scaled-out API role publishes to the event stream instead). */
  writer?: AppWriter;
  /** Opens the store (default {@link openAppStore} on the config); tests pass pool options such as a schema. The app closes it. */
  openStore?: (config: RapportConfig) => Promise<AppStore>;
}

const HOUR = 3_600_000;

/**
 * Composition root: opens the store (PostgreSQL when `config.databaseUrl` is set, else the SQLite file in
 * `config.dataDir`), builds the writer and the HTTP server with all routes.
 */
export async function createApp(config: RapportConfig, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? pino({ level: config.logLevel }, pino.destination({ fd: 2, sync: false }));
  const store = deps.openStore
    ? await deps.openStore(config)
    : await openAppStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, writerThread: config.ingest.writerThread });
  const eventLog: EventLog = store.eventLog;
  const dedupeWindowMs = config.ingest.dedupeWindowHours * HOUR;
  const ingest: AppWriter =
    deps.writer ??
    new IngestWriter({
      eventLog: deps.decorateEventLog ? deps.decorateEventLog(eventLog) : eventLog,
      clock,
      maxPendingEvents: config.ingest.maxPendingEvents,
      dedupeWindowMs,
      retryAfterSeconds: config.ingest.retryAfterSeconds,
    });
  const server = createServer({ logger, maxRequestBytes: config.ingest.maxRequestBytes, trustProxy: config.trustProxy });
  const extensions = deps.extensions ?? [];
  let pruneTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  // While closing, answers carry `Connection: close` so keep-alive sockets do not hold shutdown open.
  server.addHook('onSend', async (_request, reply, payload) => {
    if (stopping) void reply.header('connection', 'close');
    return payload;
  });

  const app: App = {
    config,
    clock,
    logger,
    store,
    eventLog,
    keyStore: store.keyStore,
    ingest,
    server,
    async start() {
      await eventLog.pruneDedupe(clock.now() - dedupeWindowMs);
      pruneTimer = setInterval(() => {
        void eventLog.pruneDedupe(clock.now() - dedupeWindowMs).catch((err: unknown) => logger.error({ err }, 'dedupe prune failed'));
      }, HOUR);
      pruneTimer.unref();
      await server.listen({ port: config.port, host: config.host });
      for (const ext of extensions) await ext.start?.(app);
      return { url: serverUrl(server) };
    },
    stop() {
      stopping ??= (async () => {
        if (pruneTimer) clearInterval(pruneTimer);
        await server.close();
        await ingest.close();
        for (const ext of [...extensions].reverse()) {
          try {
            await ext.stop?.(app);
          } catch (err) {
            logger.error({ err, extension: ext.name }, 'extension failed to stop');
          }
        }
        await store.close();
        logger.flush?.();
      })();
      return stopping;
    },
  };

  protectAdminApi(server, store.keyStore);
  registerHealthRoutes(server, { dbOpen: () => store.healthy(), overloaded: () => ingest.overloaded });
  registerSegmentRoutes(server, {
    keyStore: store.keyStore,
    writer: ingest,
    clock,
    limits: config.ingest,
    ...(deps.newMessageId ? { newMessageId: deps.newMessageId } : {}),
  });
  registerSourceRoutes(server, { keyStore: store.keyStore, clock });
  try {
    for (const ext of extensions) await ext.routes?.(server, app);
  } catch (err) {
    // A bad lens or playbook fails the start: release the store (pool, writer thread) so the process can exit.
    await store.close();
    throw err;
  }
  return app;
}

function serverUrl(server: FastifyInstance): string {
  const addr = server.server.address();
  if (addr === null || typeof addr === 'string') return String(addr);
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}`;
}
