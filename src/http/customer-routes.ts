import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isoTime, type StoredEvent } from '../domain/event';
import { NotFoundError, RapportError, ValidationError } from '../domain/errors';
import type { CustomerQueries, CustomerRecord } from '../ports/engine-store';

/** Lens names known to the engine; unknown names are a 404 `unknown_lens`. */
export interface LensNames {
  names(): readonly string[];
}

const listQuery = z.strictObject({
  query: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
  lens: z.string().max(100).optional(),
  type: z.string().max(100).optional(),
});

/** Parses query parameters with a zod schema, turning problems into a 400 naming the parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const r = schema.safeParse(query);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `query parameter '${issue.path.join('.')}'` : 'query';
  throw new ValidationError(`${where}: ${issue?.message ?? 'invalid'}`, r.error.issues);
}

/** Checks a lens name against the active lenses. */
export function requireLens(lenses: LensNames, lens: string): void {
  if (!lenses.names().includes(lens)) {
    throw new RapportError('unknown_lens', `unknown lens '${lens}'; known lenses: ${lenses.names().join(', ')}`);
  }
}

/** JSON view of a stored event for the API. */
export function eventView(e: StoredEvent) {
  return {
    seq: e.seq,
    messageId: e.messageId,
    type: e.type,
    event: e.event,
    name: e.name,
    userId: e.userId,
    anonymousId: e.anonymousId,
    properties: e.properties,
    traits: e.traits,
    timestamp: isoTime(e.timestamp),
    receivedAt: isoTime(e.receivedAt),
  };
}

function profileView(c: CustomerRecord) {
  return {
    id: c.id,
    userId: c.userId,
    email: c.email,
    identities: { userId: c.userId, anonymousIds: c.anonymousIds },
    traits: c.traits,
    groups: c.groups,
    firstSeen: isoTime(c.firstSeen),
    lastSeen: isoTime(c.lastSeen),
    eventCount: c.eventCount,
    indicators: c.indicators,
    value: {
      pAlive: c.indicators['p_alive'] ?? null,
      expectedPurchases90d: c.indicators['expected_purchases_90d'] ?? null,
      clv12m: c.indicators['clv_12m'] ?? null,
      heavyUser: c.indicators['heavy_user'] === 1,
      revenueTotal: c.indicators['revenue_total'] ?? null,
    },
    types: Object.fromEntries(Object.entries(c.classifications).map(([lens, cl]) => [lens, { type: cl.type, probability: cl.probability }])),
  };
}

/** Dependencies of {@link registerCustomerRoutes}. */
export interface CustomerRouteDeps {
  readonly queries: CustomerQueries;
  readonly lenses: LensNames;
  /**
   * Every type's probability and the evidence for `type` in `lens`, given the indicator snapshot and traits
   * a customer was committed with (the engine does not store them); null when the lens is not loaded.
   */
  readonly explain?: (lens: string, type: string, indicators: Record<string, number>, traits: Record<string, unknown>) => { probabilities: Record<string, number>; evidence: unknown[] } | null;
}

/**
 * Customer routes: `GET /api/customers` (search, filter by lens type, cursor pages),
 * `GET /api/customers/:id` (profile, traits, identities, recent events) and
 * `GET /api/customers/:id/relationships` (per lens: probabilities, evidence, history of type changes).
 */
export function registerCustomerRoutes(server: FastifyInstance, deps: CustomerRouteDeps): void {
  const { queries } = deps;
  const find = async (id: string) => {
    const c = await queries.findCustomer(id);
    if (!c) throw new NotFoundError('customer', id);
    return c;
  };

  server.get('/api/customers', async (request) => {
    const q = parseQuery(listQuery, request.query);
    if ((q.lens === undefined) !== (q.type === undefined)) throw new ValidationError("'lens' and 'type' go together");
    if (q.lens) requireLens(deps.lenses, q.lens);
    const page = await queries.searchCustomers({
      limit: q.limit,
      ...(q.query !== undefined ? { query: q.query } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      ...(q.lens !== undefined && q.type !== undefined ? { lens: q.lens, type: q.type } : {}),
    });
    return {
      customers: page.customers.map((c) => ({ ...c, lastSeen: isoTime(c.lastSeen) })),
      nextCursor: page.nextCursor,
    };
  });

  server.get('/api/customers/:id', async (request) => {
    const { id } = request.params as { id: string };
    const { events: limit } = parseQuery(z.object({ events: z.coerce.number().int().min(0).max(1000).default(50) }), request.query);
    const c = await find(id);
    const [events, traitHistory] = await Promise.all([queries.recentEvents(c.id, limit), queries.traitHistory(c.id, 100)]);
    return {
      ...profileView(c),
      recentEvents: events.map(eventView),
      traitHistory: traitHistory.map((t) => ({ key: t.key, value: t.value, at: isoTime(t.at) })),
    };
  });

  server.get('/api/customers/:id/relationships', async (request) => {
    const { id } = request.params as { id: string };
    const c = await find(id);
    const history = await queries.typeHistory(c.id);
    const lenses: Record<string, unknown> = {};
    for (const [lens, cl] of Object.entries(c.classifications)) {
      // Rows of earlier versions carry both; the engine now stores neither (see StoredClassification).
      const stored = Object.keys(cl.probabilities).length > 0 && cl.evidence.length > 0;
      const x = stored ? null : (deps.explain?.(lens, cl.type, c.indicators, c.traits) ?? null);
      lenses[lens] = {
        type: cl.type,
        probability: cl.probability,
        probabilities: x?.probabilities ?? cl.probabilities,
        evidence: x?.evidence ?? cl.evidence,
        since: isoTime(cl.since),
        history: history
          .filter((h) => h.lens === lens)
          .map((h) => ({ at: isoTime(h.at), from: h.from, to: h.to, event: h.event, messageId: h.messageId, seq: h.seq })),
      };
    }
    return { customerId: c.id, lenses };
  });
}
