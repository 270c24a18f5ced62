import type { FastifyInstance } from 'fastify';
import { NotFoundError, ValidationError } from '../domain/errors';
import type { Clock } from '../ports/clock';
import type { KeyStore } from '../ports/key-store';

/** Admin routes for sources: `GET /api/sources`, `POST /api/sources {name}`, `DELETE /api/sources/:id`. */
export function registerSourceRoutes(server: FastifyInstance, deps: { keyStore: KeyStore; clock: Clock }): void {
  server.get('/api/sources', async () => ({ sources: await deps.keyStore.listSources() }));
  server.post('/api/sources', async (request, reply) => {
    const body = request.body as { name?: unknown } | undefined;
    const name = body && typeof body === 'object' ? body.name : undefined;
    if (typeof name !== 'string' || name.trim() === '') throw new ValidationError("body needs a non-empty string 'name'");
    const { source, writeKey } = await deps.keyStore.createSource(name.trim(), deps.clock.now());
    return reply.code(201).send({ source, writeKey });
  });
  server.delete('/api/sources/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (!(await deps.keyStore.revokeSource(id, deps.clock.now()))) throw new NotFoundError('source', id);
    return { revoked: id };
  });
}
