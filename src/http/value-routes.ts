import type { FastifyInstance } from 'fastify';
import type { ValueEngine } from '../engine/value-engine';
import type { ValueQueries } from '../ports/value-queries';
import { clvHistogram, paretoCurve } from '../value/rfm';
import { relationshipEconomics, type UnitCosts } from '../value/economics';
import { requireLens, type LensNames } from './customer-routes';

/** Dependencies of the value routes. */
export interface ValueRouteDeps {
  readonly queries: ValueQueries;
  readonly value: ValueEngine | undefined;
  readonly lenses: LensNames;
  readonly costs: UnitCosts;
  /** The costs in effect now (configuration overridden by dashboard settings); read per request. Default: `costs`. */
  readonly effectiveCosts?: () => Promise<UnitCosts>;
  readonly heavyUserShare: number;
  /** Latest event time processed (ms): "now" for scoring, so answers follow the log, not the wall clock. */
  readonly latestEventTime: () => Promise<number>;
  /** Wall clock (ms), for the summary cache. */
  readonly now: () => number;
  /** How long a computed value summary is served (default 60 s). */
  readonly summaryTtlMs?: number;
  /** Appends a refit request to the event log; resolves with its log position once durable. */
  readonly requestRefit: () => Promise<number>;
  /** Customers above which the summary's Pareto curve is drawn from a sample (default 1,000,000). */
  readonly maxSummaryRows?: number;
}

/** Default of {@link ValueRouteDeps.maxSummaryRows}. */
const MAX_SUMMARY_ROWS = 1_000_000;

/**
 * `GET /api/value/summary` — Pareto curve (share of revenue by customer percentile), CLV distribution,
 * heavy users and the fitted models; `POST /api/value/refit` (refit now, through the log);
 * `GET /api/lenses/:lens/economics` — per type: customers, revenue,
 * CLV, cost to serve and margin.
 */
export function registerValueRoutes(server: FastifyInstance, deps: ValueRouteDeps): void {
  // The summary sorts every customer's revenue and scores every buyer (about 1 s at 1M customers): it is
  // cached, and once older than `summaryTtlMs` the cached body is still served while a fresh one is computed
  // in the background (stale-while-revalidate), so only the very first call waits. A refit invalidates it at once.
  let cached: { at: number; fittedAt: number | null; body: unknown } | null = null;
  let refreshing: Promise<unknown> | null = null;
  const refresh = (fittedAt: number | null): Promise<unknown> => {
    refreshing ??= summary()
      .then((body) => {
        cached = { at: deps.now(), fittedAt, body };
        return body;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  };
  server.get('/api/value/summary', async () => {
    const now = deps.now();
    const fittedAt = deps.value?.current()?.fittedAt ?? null;
    if (!cached || cached.fittedAt !== fittedAt) return refresh(fittedAt);
    if (now - cached.at >= (deps.summaryTtlMs ?? 60_000)) {
      refresh(fittedAt).catch((err: unknown) => server.log.error({ err }, 'value summary refresh failed'));
    }
    return cached.body;
  });

  async function summary() {
    const rev = await deps.queries.revenueSummary(deps.maxSummaryRows ?? MAX_SUMMARY_ROWS);
    const pareto = paretoCurve(rev.revenues, 100);
    const heavyPct = Math.round(deps.heavyUserShare * 100);
    const models = deps.value?.current() ?? null;
    const scores = deps.value ? deps.value.scoreAll(await deps.latestEventTime()) : [];
    const clv = scores.map((s) => s.clv12m);
    // From samples (many customers, see ValueQueries.revenueSummary and ValueEngine.purchasesShare): counts
    // and sums are scaled up to all customers, shapes (Pareto, histogram) are the sample's.
    const buyerShare = deps.value?.purchasesShare() ?? 1;
    const up = (n: number, share: number) => (share < 1 ? Math.round(n / share) : n);
    return {
      customers: rev.customers,
      buyers: up(rev.revenues.filter((r) => r > 0).length, rev.share),
      revenueTotal: rev.revenueTotal,
      sample: rev.share < 1 || buyerShare < 1 ? { customerShare: rev.share, buyerShare } : null,
      pareto,
      heavyUsers: {
        share: deps.heavyUserShare,
        revenueShare: pareto[heavyPct - 1]?.revenueShare ?? null,
        clvThreshold: deps.value && Number.isFinite(deps.value.threshold()) ? deps.value.threshold() : null,
      },
      clvTotal: clv.reduce((a, b) => a + b, 0) / buyerShare,
      clvHistogram: clvHistogram(clv, 20).map((b) => ({ ...b, count: up(b.count, buyerShare) })),
      atRisk: up(scores.filter((s) => s.pAlive < 0.5).length, buyerShare),
      models: models
        ? {
            fittedAt: new Date(models.fittedAt).toISOString(),
            unitDays: models.unitDays,
            bgnbd: { params: models.bgnbd.params, logLikelihood: models.bgnbd.logLikelihood, converged: models.bgnbd.converged },
            gammaGamma: models.gammaGamma
              ? { params: models.gammaGamma.params, logLikelihood: models.gammaGamma.logLikelihood, converged: models.gammaGamma.converged }
              : null,
          }
        : null,
      computedAt: new Date(deps.now()).toISOString(),
    };
  }

  // On demand: the request goes through the log, so a replay refits at the same point.
  server.post('/api/value/refit', async (_request, reply) => {
    if (!deps.value) return reply.code(409).send({ code: 'conflict', message: 'value models are turned off' });
    const seq = await deps.requestRefit();
    return reply.code(202).send({ accepted: true, seq });
  });

  server.get('/api/lenses/:lens/economics', async (request) => {
    const { lens } = request.params as { lens: string };
    requireLens(deps.lenses, lens);
    const costs = deps.effectiveCosts ? await deps.effectiveCosts() : deps.costs;
    const types = relationshipEconomics(await deps.queries.aggregatesByType(lens), costs);
    const sum = (k: 'revenue' | 'clv' | 'costToServe' | 'margin') => types.reduce((a, t) => a + t[k], 0);
    return {
      lens,
      unitCosts: costs,
      totals: { customers: types.reduce((a, t) => a + t.customers, 0), revenue: sum('revenue'), clv: sum('clv'), costToServe: sum('costToServe'), margin: sum('margin') },
      types,
    };
  });
}
