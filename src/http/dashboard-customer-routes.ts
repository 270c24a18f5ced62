import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SqliteDatabase } from '../adapters/sqlite/open-database';
import { isoTime } from '../domain/event';
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

interface Row {
  id: string;
  user_id: string | null;
  email: string | null;
  name: string | null;
  last_seen: number;
  event_count: number;
  classifications: string;
  clv: number | null;
  p_alive: number | null;
  probability: number | null;
}

/**
 * `GET /api/dashboard/customers` — the customer list with the filters the search API lacks:
 * probability of the type in a lens, CLV, P(alive), heavy users. Walks customers in id order (or
 * the type index when a type is given) and examines at most {@link FILTER_WINDOW} rows per call, so
 * every call stays fast at millions of customers; `nextCursor` continues where it stopped.
 */
export function registerDashboardCustomerRoutes(server: FastifyInstance, deps: { db: SqliteDatabase; lenses: () => LensNames }): void {
  server.get('/api/dashboard/customers', async (request) => {
    const q = parseQuery(filterQuery, request.query);
    if ((q.minProbability !== undefined || q.maxProbability !== undefined || q.type !== undefined) && q.lens === undefined) {
      throw new ValidationError("'type' and the probability filters need 'lens'");
    }
    if (q.lens !== undefined) requireLens(deps.lenses(), q.lens);
    const after = q.cursor ? Buffer.from(q.cursor, 'base64url').toString('utf8') : '';
    const params: Record<string, unknown> = { after, window: FILTER_WINDOW, limit: q.limit + 1 };
    const window =
      q.type !== undefined
        ? `SELECT customer_id AS id FROM customer_types WHERE lens = @lens AND type = @type AND customer_id > @after ORDER BY customer_id LIMIT @window`
        : `SELECT id FROM customers WHERE id > @after ORDER BY id LIMIT @window`;
    if (q.lens !== undefined) params['lens'] = q.lens;
    if (q.type !== undefined) params['type'] = q.type;
    const where: string[] = [];
    const add = (sql: string, name: string, value: unknown) => {
      where.push(sql);
      params[name] = value;
    };
    if (q.minProbability !== undefined) add('t.probability >= @minP', 'minP', q.minProbability);
    if (q.maxProbability !== undefined) add('t.probability <= @maxP', 'maxP', q.maxProbability);
    if (q.minClv !== undefined) add("json_extract(c.indicators, '$.clv_12m') >= @minClv", 'minClv', q.minClv);
    if (q.maxClv !== undefined) add("json_extract(c.indicators, '$.clv_12m') <= @maxClv", 'maxClv', q.maxClv);
    if (q.minPAlive !== undefined) add("json_extract(c.indicators, '$.p_alive') >= @minPA", 'minPA', q.minPAlive);
    if (q.maxPAlive !== undefined) add("json_extract(c.indicators, '$.p_alive') <= @maxPA", 'maxPA', q.maxPAlive);
    if (q.heavyUser !== undefined) add("COALESCE(json_extract(c.indicators, '$.heavy_user'), 0) = @heavy", 'heavy', q.heavyUser === 'true' ? 1 : 0);
    const typeJoin = q.lens !== undefined ? 'LEFT JOIN customer_types t ON t.customer_id = c.id AND t.lens = @lens' : '';
    const rows = deps.db
      .prepare(
        `SELECT c.id, c.user_id, c.email, c.name, c.last_seen, c.event_count, c.classifications,
                json_extract(c.indicators, '$.clv_12m') AS clv, json_extract(c.indicators, '$.p_alive') AS p_alive,
                ${q.lens !== undefined ? 't.probability' : 'NULL'} AS probability
         FROM (${window}) w JOIN customers c ON c.id = w.id ${typeJoin}
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY c.id LIMIT @limit`,
      )
      .all(params) as Row[];
    let nextAfter: string | null = null;
    let exhausted = false;
    if (rows.length > q.limit) {
      rows.length = q.limit;
      nextAfter = rows[rows.length - 1]!.id;
    } else {
      // Short page: go on after the window's end, unless the window reached the end of the table.
      const end = deps.db.prepare(`SELECT MAX(id) AS last, COUNT(*) AS n FROM (${window})`).get(params) as { last: string | null; n: number };
      if (end.n === FILTER_WINDOW && end.last) nextAfter = end.last;
      else exhausted = true;
    }
    return {
      customers: rows.map((r) => {
        const cls = JSON.parse(r.classifications) as Record<string, { type: string }>;
        return {
          id: r.id,
          userId: r.user_id,
          email: r.email,
          name: r.name,
          lastSeen: isoTime(r.last_seen),
          eventCount: r.event_count,
          types: Object.fromEntries(Object.entries(cls).map(([l, c]) => [l, c.type])),
          clv12m: r.clv,
          pAlive: r.p_alive,
          probability: r.probability,
        };
      }),
      nextCursor: nextAfter === null ? null : Buffer.from(nextAfter, 'utf8').toString('base64url'),
      exhausted,
    };
  });
}
