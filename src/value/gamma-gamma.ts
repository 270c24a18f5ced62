/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for
 * Customer Base Analysis", JMR 42(4); Colombo & Jiang 1999). Each transaction value is
 * Gamma(p, ν) with ν ~ Gamma(q, γ); the mean of x transactions, z̄, is then Gamma(px, νx).
 * (Following lifetimes, the scale is called v here; it is γ in the paper.)
 */
import { RapportError } from '../domain/errors';
import { fitPositive, type FitDiagnostics } from './fit-result';
import { digamma, lnGamma } from './special';

/** Gamma-Gamma parameters. */
export interface GammaGammaParams {
  p: number;
  q: number;
  v: number;
}

/** A fitted Gamma-Gamma model. */
export type GammaGammaFit = FitDiagnostics<keyof GammaGammaParams> & { model: 'gamma-gamma' };

/** What the spend model needs per customer: repeat purchases and their mean value. */
export interface SpendSummary {
  x: number;
  monetary?: number;
}

const NAMES = ['p', 'q', 'v'] as const;

/**
 * Fits Gamma-Gamma on customers with x > 0 and monetary > 0 (others are skipped).
 * Per customer: LL = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln z̄ + px ln x − (px+q) ln(x z̄ + v).
 * Throws RapportError('insufficient_data') with fewer than 2 usable customers.
 */
export function fitGammaGamma(summaries: Iterable<SpendSummary>): GammaGammaFit {
  const key = new Map<number, Map<number, number>>();
  const xs: number[] = [];
  const ms: number[] = [];
  const ws: number[] = [];
  let n = 0;
  for (const s of summaries) {
    const m = s.monetary ?? 0;
    if (!(s.x > 0) || !(m > 0) || !Number.isFinite(m)) continue;
    let byM = key.get(s.x);
    if (!byM) key.set(s.x, (byM = new Map()));
    const at = byM.get(m);
    if (at === undefined) {
      byM.set(m, xs.length);
      xs.push(s.x);
      ms.push(m);
      ws.push(1);
    } else ws[at]! += 1;
    n++;
  }
  if (n < 2) {
    throw new RapportError(
      'insufficient_data',
      `Gamma-Gamma: needs at least 2 customers with repeat purchases and a positive spend, got ${n}`,
    );
  }
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  const xi = Int32Array.from(xs, (v) => distinct.indexOf(v));
  const lnM = Float64Array.from(ms, Math.log);
  const lnX = Float64Array.from(xs, Math.log);
  const k = distinct.length;
  const lgPX = new Float64Array(k);
  const dPX = new Float64Array(k);
  const psiPXQ = new Float64Array(k);
  let meanM = 0;
  for (let i = 0; i < ms.length; i++) meanM += ms[i]! * ws[i]!;
  meanM /= n;
  const meanNll = (lp: Float64Array, grad: Float64Array | null): number => {
    const p = Math.exp(lp[0]!);
    const q = Math.exp(lp[1]!);
    const v = Math.exp(lp[2]!);
    const lgq = lnGamma(q);
    const psiQ = grad ? digamma(q) : 0;
    for (let j = 0; j < k; j++) {
      const px = p * distinct[j]!;
      lgPX[j] = lnGamma(px + q) - lnGamma(px) - lgq;
      if (grad) {
        psiPXQ[j] = digamma(px + q);
        dPX[j] = psiPXQ[j]! - digamma(px);
      }
    }
    const lnV = Math.log(v);
    let ll = 0;
    let gp = 0;
    let gq = 0;
    let gv = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const w = ws[i]!;
      const px = p * x;
      const denom = x * ms[i]! + v;
      const lnD = Math.log(denom);
      const j = xi[i]!;
      ll += w * (lgPX[j]! + q * lnV + (px - 1) * lnM[i]! + px * lnX[i]! - (px + q) * lnD);
      if (grad) {
        gp += w * x * (dPX[j]! + lnM[i]! + lnX[i]! - lnD);
        gq += w * (psiPXQ[j]! - psiQ + lnV - lnD);
        gv += w * (q / v - (px + q) / denom);
      }
    }
    if (grad) {
      grad[0] = (-gp * p) / n;
      grad[1] = (-gq * q) / n;
      grad[2] = (-gv * v) / n;
    }
    return -ll / n;
  };
  const fit = fitPositive(NAMES, [1, 1, meanM], meanNll, n, xs.length, 'Gamma-Gamma');
  return { ...fit, model: 'gamma-gamma' };
}

/**
 * E[M | z̄, x]: conditional expected average spend per transaction,
 * (p(v + x z̄)) / (px + q − 1); the population mean pv/(q−1) when x = 0.
 * Returns NaN when q ≤ 1 (the population mean does not exist).
 */
export function gammaGammaExpectedSpend(params: GammaGammaParams, x: number, monetary: number): number {
  const { p, q, v } = params;
  if (!(x > 0) || !(monetary > 0)) return q > 1 ? (p * v) / (q - 1) : NaN;
  const denom = p * x + q - 1;
  return denom > 0 ? (p * (v + x * monetary)) / denom : NaN;
}
