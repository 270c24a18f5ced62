import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isoTime } from '../domain/event';
import type { DashboardQueries } from '../ports/dashboard-queries';
import { ValidationError } from '../domain/errors';
import { parseQuery, requireLens, type LensNames } from './customer-routes';

/** Rows examined per request at most: a page of a very selective filter may come back short, with a cursor to go on. */
export const FILTER_WINDOW = 20_000;

const num = z.coerce.number().finite();
const filterQuery = z.strictObject({
  lens: z.string().max(100).optional(),
  type: z.string().max(100).optional(),
  minProbability: num.min(0).max(1).optional(),
  maxProbability: num.min(0).max(1).optional(),
  minClv: num.optional(),
  maxClv: num.optional(),
  minPAlive: num.min(0).max(1).optional(),
  maxPAlive: num.min(0).max(1).optional(),
  heavyUser: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

/**
 * `GET /api/dashboard/customers` — the customer list with the filters the search API lacks:
 * probability of the type in a lens, CLV, P(alive), heavy users. Walks customers in id order (or
 * the type index when a type is given) and examines at most {@link FILTER_WINDOW} rows per call, so
 * every call stays fast at millions of customers; `nextCursor` continues where it stopped.
 */
export function registerDashboardCustomerRoutes(server: FastifyInstance, deps: { queries: DashboardQueries; lenses: () => LensNames }): void {
  server.get('/api/dashboard/customers', async (request) => {
    const q = parseQuery(filterQuery, request.query);
    if ((q.minProbability !== undefined || q.maxProbability !== undefined || q.type !== undefined) && q.lens === undefined) {
      throw new ValidationError("'type' and the probability filters need 'lens'");
    }
    if (q.lens !== undefined) requireLens(deps.lenses(), q.lens);
    const { cursor, heavyUser, ...filters } = q;
    const page = await deps.queries.filterCustomers({
      ...filters,
      ...(heavyUser !== undefined ? { heavyUser: heavyUser === 'true' } : {}),
      after: cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : '',
      window: FILTER_WINDOW,
    });
    return {
      customers: page.customers.map((c) => ({ ...c, lastSeen: isoTime(c.lastSeen) })),
      nextCursor: page.nextAfter === null ? null : Buffer.from(page.nextAfter, 'utf8').toString('base64url'),
      exhausted: page.exhausted,
    };
  });
}
