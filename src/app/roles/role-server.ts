import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createServer } from '../../http/create-server';
import { registerMetricsRoute } from '../../http/metrics';

/** What `/readyz` reports: overall readiness and one short status per dependency (e.g. `{ nats: 'connected' }`). */
export interface RoleReadiness {
  ready: boolean;
  checks: Record<string, string>;
}

/** Options of {@link createRoleServer}. */
export interface RoleServerOptions {
  port: number;
  host: string;
  metrics: Registry;
  /** Readiness of the role, asked on every `GET /readyz` (keep it cheap: report cached state). */
  ready: () => RoleReadiness | Promise<RoleReadiness>;
  logger?: Logger;
  /** Largest request body (only matters for roles with their own POST routes, e.g. ingest). Default 500 KiB. */
  maxRequestBytes?: number;
}

/** A role's HTTP server before and after it listens. */
export interface RoleServer {
  /** The Fastify instance: a role adds its own routes before {@link RoleServer.start}. */
  readonly server: FastifyInstance;
  /** Listens; resolves with the base URL. */
  start(): Promise<string>;
  /** Stops listening after in-flight requests finish. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The HTTP server every scaled-out role runs: `GET /healthz` (process alive), `GET /readyz`
 * (200 or 503 with the role's checks) and `GET /metrics` (Prometheus text). Errors use the
 * common JSON error handler, so `code` → status stays in one table.
 */
export function createRoleServer(opts: RoleServerOptions): RoleServer {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const server = createServer({ logger, maxRequestBytes: opts.maxRequestBytes ?? 500 * 1024 });
  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/readyz', async (_req, reply) => {
    const r = await opts.ready();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', ...r.checks });
  });
  registerMetricsRoute(server, opts.metrics);
  let stopped: Promise<void> | undefined;
  return {
    server,
    async start() {
      await server.listen({ port: opts.port, host: opts.host });
      const addr = server.server.address();
      if (addr === null || typeof addr === 'string') return String(addr);
      return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    },
    stop() {
      stopped ??= server.close();
      return stopped;
    },
  };
}
