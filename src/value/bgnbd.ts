/**
 * BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing Science 24(2)).
 * While active a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase they drop out
 * with probability p ~ Beta(a, b). Times are in model units (the unit of t_x and T).
 */
import { RapportError } from '../domain/errors';
import { aggregateSummaries, type CustomerSummary } from './summary';
import { fitPositive, type FitDiagnostics } from './fit-result';
import { digamma, hyp2f1, lnBeta, lnGamma, logAddExp } from './special';

/** BG/NBD parameters. */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** A fitted BG/NBD model. */
export type BgNbdFit = FitDiagnostics<keyof BgNbdParams> & { model: 'bgnbd' };

const NAMES = ['r', 'alpha', 'a', 'b'] as const;

/**
 * Fits BG/NBD by maximum likelihood (FHL 2005 eq. 6, in log space, analytic gradient).
 * Throws RapportError('insufficient_data') when there are no customers or no repeat purchases.
 */
export function fitBgNbd(summaries: Iterable<CustomerSummary>): BgNbdFit {
  const rows = aggregateSummaries(summaries);
  checkData(rows.x, rows.weight, rows.customers, 'BG/NBD');
  const ll = bgnbdObjective(rows.x, rows.tx, rows.T, rows.weight, rows.customers);
  const fit = fitPositive(NAMES, [1, meanOf(rows.T, rows.weight) || 1, 1, 1], ll, rows.customers, rows.x.length, 'BG/NBD');
  return { ...fit, model: 'bgnbd' };
}

/** Total BG/NBD log-likelihood of the given summaries at `params`. */
export function bgnbdLogLikelihood(params: BgNbdParams, summaries: Iterable<CustomerSummary>): number {
  const rows = aggregateSummaries(summaries);
  const f = bgnbdObjective(rows.x, rows.tx, rows.T, rows.weight, rows.customers);
  const lp = Float64Array.of(Math.log(params.r), Math.log(params.alpha), Math.log(params.a), Math.log(params.b));
  return -f(lp, null) * rows.customers;
}

/**
 * Mean negative log-likelihood over log-parameters with its gradient.
 * Per customer: LL = A1 + A2 + ln(e^{A3} + δ_{x>0} e^{A4}) with
 * A1 = lnΓ(r+x) − lnΓ(r) + r ln α, A2 = ln B(a, b+x) − ln B(a, b),
 * A3 = −(r+x) ln(α+T), A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x).
 * Gamma-function terms depend only on x, so they are computed once per distinct x.
 */
function bgnbdObjective(x: Float64Array, tx: Float64Array, T: Float64Array, w: Float64Array, customers: number) {
  const distinct = [...new Set(x)].sort((p, q) => p - q);
  const xIndex = Int32Array.from(x, (v) => distinct.indexOf(v));
  const k = distinct.length;
  const lgX = new Float64Array(k);
  const dR = new Float64Array(k);
  const dA = new Float64Array(k);
  const dB = new Float64Array(k);
  return (lp: Float64Array, grad: Float64Array | null): number => {
    const r = Math.exp(lp[0]!);
    const alpha = Math.exp(lp[1]!);
    const a = Math.exp(lp[2]!);
    const b = Math.exp(lp[3]!);
    const lnA = Math.log(alpha);
    const lgr = lnGamma(r);
    const lgab = lnGamma(a + b);
    const lgb = lnGamma(b);
    const psiR = grad ? digamma(r) : 0;
    const psiAB = grad ? digamma(a + b) : 0;
    const psiB = grad ? digamma(b) : 0;
    for (let j = 0; j < k; j++) {
      const xv = distinct[j]!;
      lgX[j] = lnGamma(r + xv) - lgr + lgab - lnGamma(a + b + xv) + lnGamma(b + xv) - lgb;
      if (grad) {
        dR[j] = digamma(r + xv) - psiR;
        dA[j] = psiAB - digamma(a + b + xv);
        dB[j] = dA[j]! + digamma(b + xv) - psiB;
      }
    }
    let ll = 0;
    let gr = 0;
    let gal = 0;
    let ga = 0;
    let gb = 0;
    const lna = Math.log(a);
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      const wi = w[i]!;
      const rx = r + xi;
      const lT = Math.log(alpha + T[i]!);
      const A3 = -rx * lT;
      let li: number;
      let wt = 0; // share of the "dropped out at t_x" term in the likelihood
      let lTx = 0;
      if (xi > 0) {
        lTx = Math.log(alpha + tx[i]!);
        const A4 = lna - Math.log(b + xi - 1) - rx * lTx;
        li = logAddExp(A3, A4);
        wt = Math.exp(A4 - li);
      } else {
        li = A3;
      }
      const j = xIndex[i]!;
      ll += wi * (lgX[j]! + r * lnA + li);
      if (grad) {
        gr += wi * (dR[j]! + lnA - (1 - wt) * lT - wt * lTx);
        gal += wi * (r / alpha - (1 - wt) * rx / (alpha + T[i]!) - (xi > 0 ? wt * rx / (alpha + tx[i]!) : 0));
        ga += wi * (dA[j]! + wt / a);
        gb += wi * (dB[j]! - (xi > 0 ? wt / (b + xi - 1) : 0));
      }
    }
    if (grad) {
      // Chain rule to log-parameters; minus for the negative LL; mean over customers.
      grad[0] = (-gr * r) / customers;
      grad[1] = (-gal * alpha) / customers;
      grad[2] = (-ga * a) / customers;
      grad[3] = (-gb * b) / customers;
    }
    return -ll / customers;
  };
}

/** P(alive | x, t_x, T) (FHL 2005 eq. 13 note): 1 when x = 0. */
export function bgnbdProbabilityAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const lnOdds = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
  return 1 / (1 + Math.exp(lnOdds));
}

/**
 * E[Y(t) | x, t_x, T]: expected purchases in the next `t` units (FHL 2005 eq. 10):
 * P(alive) · (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))].
 */
export function bgnbdConditionalExpected(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = safeA(p);
  const z = t / (alpha + T + t);
  const f = hyp2f1(r + x, b + x, a + b + x - 1, z);
  const lnPow = (r + x) * Math.log((alpha + T) / (alpha + T + t));
  const bracket = 1 - Math.exp(lnPow) * f;
  return (bgnbdProbabilityAlive(p, x, tx, T) * ((a + b + x - 1) / (a - 1))) * bracket;
}

/** Unconditional E[X(t)] for a customer who just made a first purchase (FHL 2005 eq. 9). */
export function bgnbdExpected(p: BgNbdParams, t: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = safeA(p);
  const f = hyp2f1(r, b, a + b - 1, t / (alpha + t));
  return ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * f);
}

/** P(X(t) = n): probability of exactly n purchases in (0, t] for a new customer (FHL 2005 eq. 8). */
export function bgnbdProbabilityOfN(p: BgNbdParams, t: number, n: number): number {
  const { r, alpha, a, b } = p;
  if (!Number.isInteger(n) || n < 0) return 0;
  const lq = Math.log(alpha / (alpha + t));
  const lz = Math.log(t / (alpha + t));
  const lnB0 = lnBeta(a, b);
  const term = (j: number): number => lnGamma(r + j) - lnGamma(r) - lnGamma(j + 1) + r * lq + (j > 0 ? j * lz : 0);
  const first = Math.exp(lnBeta(a, b + n) - lnB0 + term(n));
  if (n === 0) return first;
  let partial = 0;
  for (let j = 0; j < n; j++) partial += Math.exp(term(j));
  return first + Math.exp(lnBeta(a + 1, b + n - 1) - lnB0) * (1 - partial);
}

/** The formulas have (a − 1) in a denominator; a removable singularity at a = 1 is stepped around. */
function safeA(p: BgNbdParams): BgNbdParams {
  return Math.abs(p.a - 1) < 1e-9 ? { ...p, a: 1 + 1e-9 } : p;
}

function checkData(x: Float64Array, w: Float64Array, customers: number, model: string): void {
  if (customers === 0) throw new RapportError('insufficient_data', `${model}: no customers to fit`);
  let repeat = 0;
  for (let i = 0; i < x.length; i++) if (x[i]! > 0) repeat += w[i]!;
  if (repeat === 0) {
    throw new RapportError('insufficient_data', `${model}: no customer has a repeat purchase, so purchase rates and dropout cannot be estimated`);
  }
}

function meanOf(v: Float64Array, w: Float64Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    s += v[i]! * w[i]!;
    n += w[i]!;
  }
  return n > 0 ? s / n : 0;
}

/** Exposed for the Pareto/NBD module (same data checks). */
export { checkData as checkRepeatData };
