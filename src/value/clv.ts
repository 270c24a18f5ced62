/**
 * Customer lifetime value: BG/NBD (or Pareto/NBD) purchase forecasts times Gamma-Gamma spend,
 * discounted; plus the pure, fast scoring functions the engine calls per customer.
 * Times are in model units (`unitDays` days each); nothing here reads the clock.
 */
import { RapportError } from '../domain/errors';
import { bgnbdConditionalExpected, bgnbdProbabilityAlive, fitBgNbd, type BgNbdFit, type BgNbdParams } from './bgnbd';
import { fitGammaGamma, gammaGammaExpectedSpend, type GammaGammaFit, type GammaGammaParams } from './gamma-gamma';
import { paretoNbdConditionalExpected, paretoNbdProbabilityAlive, type ParetoNbdParams } from './pareto-nbd';
import type { CustomerSummary } from './summary';

/** Fitted models the engine keeps and scores with. */
export interface ValueModels {
  bgnbd: BgNbdFit;
  /** Null when too few customers have repeat purchases with a spend; CLV then uses `fallbackSpend`. */
  gammaGamma: GammaGammaFit | null;
  /** Days per model time unit (t_x and T of the summaries are in these units). */
  unitDays: number;
  /** Mean repeat spend of the fitting set, used when Gamma-Gamma could not be fitted. */
  fallbackSpend: number;
  /** When the fit was made (ms), as passed in by the caller. */
  fittedAt: number;
}

/** Options for {@link fitValueModels}. */
export interface FitValueOptions {
  /** Days per time unit of the summaries (default 7, weeks, as in the papers). */
  unitDays?: number;
  /** Fit time to record (ms); the caller passes its clock's time. */
  now: number;
}

/**
 * Fits BG/NBD on all summaries and Gamma-Gamma on those with repeat purchases.
 * BG/NBD errors (e.g. insufficient_data) propagate; a Gamma-Gamma failure leaves `gammaGamma` null.
 */
export function fitValueModels(summaries: readonly CustomerSummary[], opts: FitValueOptions): ValueModels {
  const bgnbd = fitBgNbd(summaries);
  let gammaGamma: GammaGammaFit | null = null;
  try {
    gammaGamma = fitGammaGamma(summaries);
  } catch (err) {
    if (!(err instanceof RapportError)) throw err;
  }
  let spend = 0;
  let n = 0;
  for (const s of summaries) {
    if (s.x > 0 && (s.monetary ?? 0) > 0) {
      spend += s.monetary!;
      n++;
    }
  }
  return { bgnbd, gammaGamma, unitDays: opts.unitDays ?? 7, fallbackSpend: n > 0 ? spend / n : 0, fittedAt: opts.now };
}

/** Scoring options: horizon for CLV and a yearly discount rate. */
export interface ScoreOptions {
  /** CLV horizon in days (default 365). */
  horizonDays?: number;
  /** Yearly discount rate, e.g. 0.1 (default 0.1). */
  discountRate?: number;
  /** Window for `expectedPurchases90d` in days (default 90). */
  purchaseWindowDays?: number;
}

/** One customer's value scores. */
export interface CustomerScore {
  pAlive: number;
  expectedPurchases90d: number;
  /** Expected average spend per future purchase (Gamma-Gamma conditional mean). */
  expectedSpend: number;
  /** Discounted expected value over the horizon. */
  clv12m: number;
}

/**
 * Scores one customer: P(alive), expected purchases in the next 90 days, and CLV over the horizon.
 * CLV = Σₖ (E[Y(tₖ)] − E[Y(tₖ₋₁)]) · E[spend] / (1 + d)^{tₖ/365} over 30-day steps (the last one
 * shorter), as in lifetimes' `customer_lifetime_value`.
 *
 * Speed: E[Y(t)] = P(alive) · U(t; x, T), and U depends on (x, T) only. U at all horizon steps is
 * computed in one pass over a ₂F₁ series whose coefficients are cached per model and x, and the
 * per-(x, T) results are memoised per model and options (bounded; day-granular data has few distinct T).
 * The function stays pure: the caches never change a result.
 */
export function scoreCustomer(models: ValueModels, s: CustomerSummary, opts: ScoreOptions = {}): CustomerScore {
  const horizon = opts.horizonDays ?? 365;
  const rate = opts.discountRate ?? 0.1;
  const window = opts.purchaseWindowDays ?? 90;
  const p = models.bgnbd.params;
  const pAlive = bgnbdProbabilityAlive(p, s.x, s.tx, s.T);
  const spend = models.gammaGamma ? gammaGammaExpectedSpend(models.gammaGamma.params, s.x, s.monetary ?? 0) : models.fallbackSpend;
  const plan = scoringPlan(models, horizon, rate, window);
  let u: AliveValues;
  if (plan.memoOff) {
    u = aliveValues(plan, p, s.x, s.T);
  } else {
    let byT = plan.memo.get(s.x);
    if (!byT) plan.memo.set(s.x, (byT = new Map()));
    const hit = byT.get(s.T);
    if (hit !== undefined) {
      plan.hits++;
      u = hit;
    } else {
      u = aliveValues(plan, p, s.x, s.T);
      byT.set(s.T, u);
      // Memo bookkeeping only pays when (x, T) pairs repeat; stop it when they rarely do
      // (e.g. T with sub-day precision). Results are identical either way.
      if (++plan.misses % 4096 === 0 && plan.hits < plan.misses / 4) plan.memoOff = true;
      if (plan.misses % MEMO_LIMIT === 0) plan.memo.clear();
    }
  }
  return {
    pAlive,
    expectedPurchases90d: pAlive * u.window,
    expectedSpend: spend,
    clv12m: pAlive * u.discounted * (Number.isFinite(spend) ? spend : 0),
  };
}

/** Per-customer-alive quantities for one (x, T): U at the window and Σ discounted increments of U. */
interface AliveValues {
  window: number;
  discounted: number;
}

/** Horizon steps and discount weights for one model and option set, with the ₂F₁ coefficient cache. */
interface ScoringPlan {
  /** Step ends in model units (the window is appended last when it is not a step end). */
  t: Float64Array;
  /** Discount weight for the increment ending at each step (0 for the extra window point). */
  weight: Float64Array;
  steps: number;
  windowIndex: number;
  coef: CoefficientCache;
  memo: Map<number, Map<number, AliveValues>>;
  hits: number;
  misses: number;
  memoOff: boolean;
}

const MEMO_LIMIT = 200_000;
const plans = new WeakMap<BgNbdFit, Map<string, ScoringPlan>>();

function scoringPlan(models: ValueModels, horizon: number, rate: number, window: number): ScoringPlan {
  let byOpts = plans.get(models.bgnbd);
  if (!byOpts) plans.set(models.bgnbd, (byOpts = new Map()));
  const key = `${models.unitDays}|${horizon}|${rate}|${window}`;
  let plan = byOpts.get(key);
  if (plan) return plan;
  const ends: number[] = [];
  for (let day = 0; day < horizon; ) {
    day = Math.min(day + 30, horizon);
    ends.push(day);
  }
  const lnDisc = Math.log1p(rate) / 365;
  let windowIndex = ends.indexOf(window);
  const t = ends.map((d) => d / models.unitDays);
  const weight = ends.map((d) => Math.exp(-lnDisc * d));
  if (windowIndex < 0) {
    windowIndex = t.length;
    t.push(window / models.unitDays);
    weight.push(0);
  }
  plan = {
    t: Float64Array.from(t),
    weight: Float64Array.from(weight),
    steps: ends.length,
    windowIndex,
    coef: coefficientCache(models.bgnbd),
    memo: new Map(),
    hits: 0,
    misses: 0,
    memoOff: false,
  };
  byOpts.set(key, plan);
  return plan;
}

const scratchZ = new Float64Array(64);
const scratchSum = new Float64Array(64);

/** U(t; x, T) at every plan point in one pass over the series (all z share the coefficients). */
function aliveValues(plan: ScoringPlan, p: BgNbdParams, x: number, T: number): AliveValues {
  const m = plan.t.length;
  if (m > scratchZ.length) {
    // Unusually long horizon: evaluate point by point.
    const u = Array.from(plan.t, (t) => bgnbdExpectedFast(plan.coef, p, t, x, T));
    return combine(plan, u);
  }
  const a = Math.abs(p.a - 1) < 1e-9 ? 1 + 1e-9 : p.a;
  const coef = coefficientsFor(plan.coef, p, x);
  // One series per point, each stopping at its own convergence: the early (small-z) points need
  // far fewer terms than the last one, and scalar loops keep everything in registers.
  for (let k = 0; k < m; k++) {
    const z = plan.t[k]! / (p.alpha + T + plan.t[k]!);
    let sum = 1;
    let zn = 1;
    let n = 1;
    for (; n < MAX_TERMS; n++) {
      zn *= z;
      const term = coef[n]! * zn;
      sum += term;
      if (Math.abs(term) <= 1e-16 * Math.abs(sum)) break;
    }
    if (n >= MAX_TERMS) {
      const u = Array.from(plan.t, (t) => bgnbdExpectedFast(plan.coef, p, t, x, T));
      return combine(plan, u);
    }
    scratchZ[k] = z;
    scratchSum[k] = sum;
  }
  const front = (a + p.b + x - 1) / (a - 1);
  let discounted = 0;
  let prev = 0;
  let windowValue = 0;
  for (let k = 0; k < m; k++) {
    const u = front * (1 - Math.pow(1 - scratchZ[k]!, a - 1) * scratchSum[k]!);
    if (k < plan.steps) {
      discounted += (u - prev) * plan.weight[k]!;
      prev = u;
    }
    if (k === plan.windowIndex) windowValue = u;
  }
  return { window: windowValue, discounted };
}

function combine(plan: ScoringPlan, u: readonly number[]): AliveValues {
  let discounted = 0;
  let prev = 0;
  for (let k = 0; k < plan.steps; k++) {
    discounted += (u[k]! - prev) * plan.weight[k]!;
    prev = u[k]!;
  }
  return { window: u[plan.windowIndex]!, discounted };
}

/** Cache of ₂F₁ series coefficients for one set of BG/NBD parameters, one array per x. */
export interface CoefficientCache {
  byX: Map<number, Float64Array>;
}

const caches = new WeakMap<BgNbdFit, CoefficientCache>();

function coefficientCache(fit: BgNbdFit): CoefficientCache {
  let c = caches.get(fit);
  if (!c) caches.set(fit, (c = { byX: new Map() }));
  return c;
}

const MAX_TERMS = 4000;

/** Coefficients cₙ = (A)ₙ(B)ₙ / ((C)ₙ n!) with A = a+b−1−r, B = a−1, C = a+b+x−1, cached per x. */
function coefficientsFor(cache: CoefficientCache, p: BgNbdParams, x: number): Float64Array {
  let coef = cache.byX.get(x);
  if (!coef) {
    const a = Math.abs(p.a - 1) < 1e-9 ? 1 + 1e-9 : p.a;
    coef = new Float64Array(MAX_TERMS);
    const A = a + p.b - 1 - p.r;
    const B = a - 1;
    const C = a + p.b + x - 1;
    coef[0] = 1;
    for (let n = 0; n < MAX_TERMS - 1; n++) coef[n + 1] = (coef[n]! * (A + n) * (B + n)) / ((C + n) * (n + 1));
    cache.byX.set(x, coef);
  }
  return coef;
}

/**
 * E[Y(t) | alive, x, T] for BG/NBD without P(alive): (a+b+x−1)/(a−1) · [1 − (1−z)^{a−1} F(z)] with
 * z = t/(α+T+t) and F = ₂F₁(a+b−1−r, a−1; a+b+x−1; z), the Euler transform of FHL eq. 10's ₂F₁.
 * The transformed series' coefficients depend only on x, so they are computed once per x and
 * reused for every customer and horizon. Falls back to stdlib's ₂F₁ when the series would need
 * more than MAX_TERMS terms (z very close to 1).
 */
export function bgnbdExpectedFast(cache: CoefficientCache, p: BgNbdParams, t: number, x: number, T: number): number {
  if (t <= 0) return 0;
  const a = Math.abs(p.a - 1) < 1e-9 ? 1 + 1e-9 : p.a;
  const { r, alpha, b } = p;
  const coef = coefficientsFor(cache, p, x);
  const z = t / (alpha + T + t);
  let sum = 1;
  let zn = 1;
  let n = 1;
  for (; n < MAX_TERMS; n++) {
    zn *= z;
    const term = coef[n]! * zn;
    sum += term;
    if (Math.abs(term) <= 1e-16 * Math.abs(sum)) break;
  }
  if (n >= MAX_TERMS) {
    return bgnbdConditionalExpected({ r, alpha, a, b }, t, x, 0, T) / bgnbdProbabilityAlive({ r, alpha, a, b }, x, 0, T);
  }
  return ((a + b + x - 1) / (a - 1)) * (1 - Math.pow(1 - z, a - 1) * sum);
}

/** Inputs for {@link customerLifetimeValue}. */
export interface ClvInputs {
  /** Purchase model and its parameters. */
  purchase: { model: 'bgnbd'; params: BgNbdParams } | { model: 'pareto'; params: ParetoNbdParams };
  spend: GammaGammaParams;
  /** Days per model time unit. */
  unitDays: number;
  horizonDays: number;
  /** Yearly discount rate. */
  discountRate: number;
}

/**
 * Discounted CLV over a horizon for one customer with either purchase model (reference version,
 * using stdlib ₂F₁; {@link scoreCustomer} is the fast BG/NBD path and agrees with it).
 */
export function customerLifetimeValue(inp: ClvInputs, s: CustomerSummary): number {
  const expected = (tUnits: number): number =>
    inp.purchase.model === 'bgnbd'
      ? bgnbdConditionalExpected(inp.purchase.params, tUnits, s.x, s.tx, s.T)
      : paretoNbdConditionalExpected(inp.purchase.params, tUnits, s.x, s.tx, s.T);
  const spend = gammaGammaExpectedSpend(inp.spend, s.x, s.monetary ?? 0);
  const lnDisc = Math.log1p(inp.discountRate) / 365;
  let clv = 0;
  let prev = 0;
  for (let day = 0; day < inp.horizonDays; ) {
    const next = Math.min(day + 30, inp.horizonDays);
    const e = expected(next / inp.unitDays);
    clv += (e - prev) * Math.exp(-lnDisc * next);
    prev = e;
    day = next;
  }
  return clv * spend;
}

/** P(alive) for either purchase model. */
export function probabilityAlive(purchase: ClvInputs['purchase'], s: CustomerSummary): number {
  return purchase.model === 'bgnbd'
    ? bgnbdProbabilityAlive(purchase.params, s.x, s.tx, s.T)
    : paretoNbdProbabilityAlive(purchase.params, s.x, s.tx, s.T);
}

/** Exposed so tests can compare the fast series with stdlib's ₂F₁. */
export function newCoefficientCache(): CoefficientCache {
  return { byX: new Map() };
}
