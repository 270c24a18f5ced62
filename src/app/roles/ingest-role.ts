import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { resolveEventStreamOptions } from '../../adapters/nats/event-stream';
import { openPostgresPool } from '../../adapters/postgres/open-pool';
import { PostgresKeyStore } from '../../adapters/postgres/postgres-key-store';
import { PostgresPartitionRouter } from '../../adapters/postgres/postgres-partition-router';
import { RapportError, UnavailableError } from '../../domain/errors';
import type { StoredEvent } from '../../domain/event';
import { errorBody } from '../../http/error-handler';
import { createMetricsRegistry } from '../../http/metrics';
import { registerSegmentRoutes } from '../../http/segment-routes';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from '../../ingest/prepare-request';
import { systemClock, type Clock } from '../../ports/clock';
import type { AppendOutcome } from '../../ports/event-log';
import type { KeyStore, Source } from '../../ports/key-store';
import type { PartitionRouter } from '../../ports/partition-router';
import type { RoleHandle } from './role-handle';
import { createRoleServer } from './role-server';
import { openStreamSink } from './stream-sink';
import { withTimeout } from './with-timeout';

/** Options of {@link startIngestRole}. */
export interface IngestRoleOptions {
  databaseUrl: string;
  /** NATS server URL(s), comma-separated. */
  natsUrl: string;
  port: number;
  host: string;
  /** Stream settings (`scale:` section); defaults as in `event-stream.ts`. */
  stream?: { partitions?: number; stream?: string; subjectPrefix?: string };
  /** Size limits of the tracking API (Segment's by default). */
  limits?: IngestLimits;
  /** Bound on events being routed/published at once; above it requests get 429 (default 100 000). */
  maxInFlightEvents?: number;
  /** Retry-After hint with 429 (default 1 s). */
  retryAfterSeconds?: number;
  /** Retry-After hint with 503 while NATS or PostgreSQL is down (default 2 s). */
  unavailableRetryAfterSeconds?: number;
  /** PostgreSQL schema (tests); default the user's search_path. */
  schema?: string;
  /** Connections to PostgreSQL (default 8). */
  poolSize?: number;
  /** How long a verified write key is trusted without asking PostgreSQL again (ms, default 5000). */
  writeKeyCacheMs?: number;
  /** How often PostgreSQL reachability is probed for `/readyz` (ms, default 1000). */
  probeEveryMs?: number;
  /** A PostgreSQL call (route, write key, probe) that takes longer counts as unreachable (ms, default 5000). */
  postgresTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  newMessageId?: () => string;
}

/** A running ingest role. */
export interface IngestRoleHandle extends RoleHandle {
  readonly url: string;
  /** The role's metrics registry (served at `/metrics`). */
  readonly metrics: Registry;
}

/**
 * Starts the stateless ingest role of the scaled-out mode: the Segment tracking API with write keys
 * checked on PostgreSQL, each event routed to its customer's partition and published to JetStream;
 * a 200 is sent only after every publish is acknowledged. While NATS or PostgreSQL is unreachable,
 * requests get 503 `unavailable` with Retry-After and `/readyz` is not ready; the role recovers on its
 * own when they return. PostgreSQL must be reachable at start (migrations run); NATS need not be.
 */
export async function startIngestRole(opts: IngestRoleOptions): Promise<IngestRoleHandle> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: 'silent' });
  const streamOpts = resolveEventStreamOptions(opts.stream);
  const unavailableRetry = opts.unavailableRetryAfterSeconds ?? 2;
  const pool = await openPostgresPool(opts.databaseUrl, { max: opts.poolSize ?? 8, ...(opts.schema ? { schema: opts.schema } : {}) });
  const metrics = createMetricsRegistry({ defaultLabels: { role: 'ingest' } });
  const m = ingestMetrics(metrics);

  const pgTimeoutMs = opts.postgresTimeoutMs ?? 5000;
  const pgUnavailable = () => new UnavailableError(`PostgreSQL did not answer within ${pgTimeoutMs} ms`, unavailableRetry);
  const pgRouter = new PostgresPartitionRouter({ pool, partitions: streamOpts.partitions });
  const router: PartitionRouter = {
    partitions: pgRouter.partitions,
    route: (events) => withTimeout(pgRouter.route(events), pgTimeoutMs, pgUnavailable),
    customerPartition: (id) => withTimeout(pgRouter.customerPartition(id), pgTimeoutMs, pgUnavailable),
  };
  const keyStore = new CachedWriteKeys(new PostgresKeyStore(pool), clock, opts.writeKeyCacheMs ?? 5000, unavailableRetry, pgTimeoutMs);
  let pgReachable = true;
  let stopping = false;
  const sink = openStreamSink({
    natsUrl: opts.natsUrl,
    name: 'rapport-ingest',
    stream: streamOpts,
    router,
    maxInFlightEvents: opts.maxInFlightEvents ?? 100_000,
    retryAfterSeconds: opts.retryAfterSeconds ?? 1,
    unavailableRetryAfterSeconds: unavailableRetry,
    logger,
    observer: {
      published({ seconds, accepted, duplicates }) {
        m.publishSeconds.observe(seconds);
        m.published.inc({ outcome: 'accepted' }, accepted);
        m.published.inc({ outcome: 'duplicate' }, duplicates);
      },
      inFlight: (n) => m.inFlight.set(n),
    },
  });

  const writer = {
    submit(events: readonly StoredEvent[]): Promise<AppendOutcome[]> {
      return sink.submit(events).catch((err: unknown) => {
        // A failed route lookup means PostgreSQL is gone: report not ready before the next probe.
        if (err instanceof UnavailableError && /PostgreSQL/.test(err.message)) pgReachable = false;
        throw err;
      });
    },
  };

  const roleServer = createRoleServer({
    port: opts.port,
    host: opts.host,
    metrics,
    logger,
    maxRequestBytes: (opts.limits ?? DEFAULT_INGEST_LIMITS).maxRequestBytes,
    ready: () => {
      const nats = sink.ready;
      const overloaded = sink.overloaded;
      return {
        ready: nats && pgReachable && !overloaded && !stopping,
        checks: { nats: nats ? 'connected' : 'unreachable', postgres: pgReachable ? 'reachable' : 'unreachable', writer: overloaded ? 'overloaded' : 'ok' },
      };
    },
  });
  roleServer.server.addHook('onError', async (_req, _reply, err) => {
    m.errors.inc({ code: errorBody(err).body.code });
  });
  registerSegmentRoutes(roleServer.server, {
    keyStore,
    writer,
    clock,
    limits: opts.limits ?? DEFAULT_INGEST_LIMITS,
    newMessageId: opts.newMessageId ?? randomUUID,
    observer: {
      request({ received, rejected }) {
        m.received.inc(received);
        for (const r of rejected) m.rejected.inc({ code: r.code });
      },
    },
  });

  // PostgreSQL reachability for /readyz; the pool reconnects by itself once it is back.
  // One probe at a time: against a hanging server they would otherwise pile up on the pool.
  let probing = false;
  const probe = setInterval(() => {
    if (probing) return;
    probing = true;
    withTimeout(pool.query('SELECT 1'), pgTimeoutMs, pgUnavailable)
      .then(
        () => {
          pgReachable = true;
        },
        () => {
          pgReachable = false;
        },
      )
      .finally(() => {
        probing = false;
      });
  }, opts.probeEveryMs ?? 1000);
  probe.unref();

  let url: string;
  try {
    url = await roleServer.start();
  } catch (err) {
    stopping = true;
    clearInterval(probe);
    await sink.close();
    await pool.end().catch(() => {});
    throw err;
  }
  logger.info({ url, stream: streamOpts.stream, partitions: streamOpts.partitions }, 'ingest role listening');

  let stopped: Promise<void> | undefined;
  return {
    url,
    metrics,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(probe);
        await roleServer.stop();
        await sink.close();
        await pool.end().catch(() => {});
      })();
      return stopped;
    },
  };
}

/** The ingest role's metrics. */
function ingestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    received: new Counter({ name: 'rapport_ingest_events_received_total', help: 'Events in authenticated, parsed tracking requests', registers }),
    published: new Counter({
      name: 'rapport_ingest_events_published_total',
      help: 'Events acknowledged by the stream (outcome: accepted or duplicate)',
      labelNames: ['outcome'],
      registers,
    }),
    rejected: new Counter({ name: 'rapport_ingest_events_rejected_total', help: 'Events rejected by validation, by code', labelNames: ['code'], registers }),
    errors: new Counter({ name: 'rapport_ingest_errors_total', help: 'Failed tracking requests, by error code', labelNames: ['code'], registers }),
    inFlight: new Gauge({ name: 'rapport_ingest_in_flight_events', help: 'Events being routed or published', registers }),
    publishSeconds: new Histogram({
      name: 'rapport_ingest_publish_seconds',
      help: 'Time from first publish to last ack of one request',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}

/**
 * Write-key checks with a short positive cache (a busy ingest node would otherwise ask PostgreSQL
 * on every request). A revoked key keeps working on a node for at most `ttlMs`. A failing
 * PostgreSQL becomes `unavailable` (503), never `unauthorized`.
 */
class CachedWriteKeys implements KeyStore {
  private readonly cache = new Map<string, { source: Source; until: number }>();

  constructor(
    private readonly inner: KeyStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly retryAfterSeconds: number,
    private readonly timeoutMs: number,
  ) {}

  // Key management is not the ingest role's job, but the routes take a whole KeyStore: pass through.
  createSource: KeyStore['createSource'] = (n, t) => this.inner.createSource(n, t);
  listSources: KeyStore['listSources'] = () => this.inner.listSources();
  revokeSource: KeyStore['revokeSource'] = (i, t) => this.inner.revokeSource(i, t);
  createToken: KeyStore['createToken'] = (n, t) => this.inner.createToken(n, t);
  listTokens: KeyStore['listTokens'] = () => this.inner.listTokens();
  revokeToken: KeyStore['revokeToken'] = (i, t) => this.inner.revokeToken(i, t);
  verifyToken: KeyStore['verifyToken'] = (s) => this.inner.verifyToken(s);

  async verifyWriteKey(writeKey: string): Promise<Source | null> {
    const now = this.clock.now();
    const hit = this.cache.get(writeKey);
    if (hit && hit.until > now) return hit.source;
    let source: Source | null;
    try {
      source = await withTimeout(this.inner.verifyWriteKey(writeKey), this.timeoutMs, () => new UnavailableError(`PostgreSQL did not answer within ${this.timeoutMs} ms`, this.retryAfterSeconds));
    } catch (err) {
      if (err instanceof RapportError) throw err;
      throw new UnavailableError(`PostgreSQL is unreachable: ${(err as Error).message}`, this.retryAfterSeconds);
    }
    if (source) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(writeKey, { source, until: now + this.ttlMs });
    } else this.cache.delete(writeKey);
    return source;
  }
}
