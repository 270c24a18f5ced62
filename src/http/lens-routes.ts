import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CustomerQueries } from '../ports/engine-store';
import { parseQuery, requireLens, type LensNames } from './customer-routes';

const dateParam = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 date or date-time')
  .transform((s) => Date.parse(s));

/** What the lens routes show about each lens. */
export interface LensDescriptions extends LensNames {
  describe(name: string): unknown;
}

/**
 * Lens routes: `GET /api/lenses`, `GET /api/lenses/:lens`, `GET /api/lenses/:lens/distribution?asOf=`
 * (count per type, now or as of a past date) and `GET /api/lenses/:lens/transitions?from=&to=` (transition matrix).
 */
export function registerLensRoutes(server: FastifyInstance, deps: { queries: CustomerQueries; lenses: LensDescriptions; now: () => number }): void {
  server.get('/api/lenses', async () => ({ lenses: deps.lenses.names().map((n) => deps.lenses.describe(n)) }));

  server.get('/api/lenses/:lens', async (request) => {
    const { lens } = request.params as { lens: string };
    requireLens(deps.lenses, lens);
    return deps.lenses.describe(lens);
  });

  server.get('/api/lenses/:lens/distribution', async (request) => {
    const { lens } = request.params as { lens: string };
    requireLens(deps.lenses, lens);
    const { asOf } = parseQuery(z.strictObject({ asOf: dateParam.optional() }), request.query);
    const counts = await deps.queries.distribution(lens, asOf);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      lens,
      asOf: asOf === undefined ? null : new Date(asOf).toISOString(),
      total,
      types: Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([type, count]) => ({ type, count, share: total ? count / total : 0 })),
    };
  });

  server.get('/api/lenses/:lens/transitions', async (request) => {
    const { lens } = request.params as { lens: string };
    requireLens(deps.lenses, lens);
    const q = parseQuery(z.strictObject({ from: dateParam.optional(), to: dateParam.optional() }), request.query);
    const to = q.to ?? deps.now() + 1;
    const from = q.from ?? 0;
    const rows = await deps.queries.transitions(lens, from, to);
    const types = [...new Set(rows.flatMap((r) => [r.from ?? '(new)', r.to]))].sort();
    const index = new Map(types.map((t, i) => [t, i]));
    const matrix = types.map(() => types.map(() => 0));
    for (const r of rows) matrix[index.get(r.from ?? '(new)')!]![index.get(r.to)!]! += r.count;
    return { lens, from: new Date(from).toISOString(), to: new Date(to).toISOString(), transitions: rows, types, matrix };
  });
}
