import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { SqliteDatabase } from '../adapters/sqlite/open-database';
import { systemClock, type Clock } from '../ports/clock';
import type { EventLog } from '../ports/event-log';
import type { KeyStore } from '../ports/key-store';
import { IngestWriter } from '../ingest/ingest-writer';
import { protectAdminApi } from '../http/admin-auth';
import { createServer } from '../http/create-server';
import { registerHealthRoutes } from '../http/health-routes';
import { registerSegmentRoutes } from '../http/segment-routes';
import { registerSourceRoutes } from '../http/source-routes';
import type { RapportConfig } from './config';
import { openStore } from './open-event-log';
import { SqliteWorkerEventLog } from '../adapters/sqlite/sqlite-worker-event-log';

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
  /** The one write connection (WAL: readers may open their own). */
  db: SqliteDatabase;
  eventLog: EventLog;
  keyStore: KeyStore;
  /** Group-commit writer; `ingest.onCommitted(fn)` wakes a consumer right after each commit. */
  ingest: IngestWriter;
  server: FastifyInstance;
  /** Listens on config.host:config.port and starts extensions. */
  start(): Promise<{ url: string }>;
  /** Graceful stop: stop accepting, finish in-flight requests, flush the write queue, stop extensions, close the db. */
  stop(): Promise<void>;
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
}

const HOUR = 3_600_000;

/** Composition root: opens the store, builds the writer and the HTTP server with all routes. */
export async function createApp(config: RapportConfig, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? pino({ level: config.logLevel }, pino.destination({ fd: 2, sync: false }));
  const store = openStore(config.dataDir);
  // Measured: committing on a worker thread lets fsync overlap request parsing (see docs/ingest.md).
  const workerLog = config.ingest.writerThread ? await SqliteWorkerEventLog.open(store.db) : null;
  const eventLog: EventLog = workerLog ?? store.eventLog;
  const dedupeWindowMs = config.ingest.dedupeWindowHours * HOUR;
  const ingest = new IngestWriter({
    eventLog: deps.decorateEventLog ? deps.decorateEventLog(eventLog) : eventLog,
    clock,
    maxPendingEvents: config.ingest.maxPendingEvents,
    dedupeWindowMs,
    retryAfterSeconds: config.ingest.retryAfterSeconds,
  });
  const server = createServer({ logger, maxRequestBytes: config.ingest.maxRequestBytes });
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
    db: store.db,
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
        await workerLog?.close();
        store.close();
        logger.flush?.();
      })();
      return stopping;
    },
  };

  protectAdminApi(server, store.keyStore);
  registerHealthRoutes(server, { dbOpen: () => store.db.open, overloaded: () => ingest.overloaded });
  registerSegmentRoutes(server, {
    keyStore: store.keyStore,
    writer: ingest,
    clock,
    limits: config.ingest,
    ...(deps.newMessageId ? { newMessageId: deps.newMessageId } : {}),
  });
  registerSourceRoutes(server, { keyStore: store.keyStore, clock });
  for (const ext of extensions) await ext.routes?.(server, app);
  return app;
}

function serverUrl(server: FastifyInstance): string {
  const addr = server.server.address();
  if (addr === null || typeof addr === 'string') return String(addr);
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}`;
}
