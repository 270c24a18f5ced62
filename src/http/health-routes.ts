import type { FastifyInstance } from 'fastify';

/** What the probes look at. */
export interface HealthDeps {
  /** True while the database is open and answers a trivial query. */
  dbOpen: () => boolean;
  /** True when the write queue is at its bound. */
  overloaded: () => boolean;
}

/** `GET /healthz` (process alive) and `GET /readyz` (database open, writer not overloaded). */
export function registerHealthRoutes(server: FastifyInstance, deps: HealthDeps): void {
  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/readyz', async (_req, reply) => {
    const db = deps.dbOpen();
    const overloaded = deps.overloaded();
    const ready = db && !overloaded;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', db: db ? 'open' : 'closed', writer: overloaded ? 'overloaded' : 'ok' });
  });
}
