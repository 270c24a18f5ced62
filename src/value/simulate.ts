/**
 * Draws synthetic customer bases from the BG/NBD × Gamma-Gamma generative process with a seeded
 * RNG (benchmarks and parameter-recovery tests). Times are rounded to whole days, as real data is.
 */
import { createRng, type Rng } from '../domain/random';
import type { BgNbdParams } from './bgnbd';
import type { GammaGammaParams } from './gamma-gamma';
import type { CustomerSummary } from './summary';

/** Options for {@link simulateBgNbdCustomers}. */
export interface SimulationOptions {
  customers: number;
  bgnbd: BgNbdParams;
  spend: GammaGammaParams;
  /** Calibration length in model units (default 39). */
  calibrationLength?: number;
  /** First purchases are spread uniformly over this many units at the start (default 12, like CDNOW's Q1 cohort). */
  cohortSpread?: number;
  /** Days per model unit, for rounding to whole days (default 7). */
  unitDays?: number;
  seed: number;
}

/** Simulated summaries (x, t_x, T, monetary). Same seed, same output. */
export function simulateBgNbdCustomers(opts: SimulationOptions): CustomerSummary[] {
  const rng = createRng(opts.seed);
  const { r, alpha, a, b } = opts.bgnbd;
  const { p, q, v } = opts.spend;
  const len = opts.calibrationLength ?? 39;
  const spread = opts.cohortSpread ?? 12;
  const unitDays = opts.unitDays ?? 7;
  const day = (t: number): number => Math.round(t * unitDays) / unitDays;
  const out: CustomerSummary[] = [];
  for (let i = 0; i < opts.customers; i++) {
    const T = day(len - rng.next() * spread);
    const lambda = gamma(rng, r) / alpha;
    const pDrop = beta(rng, a, b);
    let t = 0;
    let x = 0;
    let tx = 0;
    for (;;) {
      t += -Math.log(1 - rng.next()) / lambda;
      if (t > T) break;
      x++;
      tx = t;
      if (rng.next() < pDrop) break;
    }
    let monetary = 0;
    if (x > 0) {
      const nu = gamma(rng, q) / v;
      let sum = 0;
      for (let k = 0; k < x; k++) sum += gamma(rng, p) / nu;
      monetary = sum / x;
    }
    out.push({ x, tx: Math.min(day(tx), T), T, monetary });
  }
  return out;
}

/** Standard normal (Box-Muller). */
function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000), with the shape < 1 boost. */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let z: number;
    let vv: number;
    do {
      z = normal(rng);
      vv = 1 + c * z;
    } while (vv <= 0);
    vv = vv * vv * vv;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * z * z + d - d * vv + d * Math.log(vv)) return d * vv;
  }
}

/** Beta(a, b) from two gammas. */
export function beta(rng: Rng, a: number, b: number): number {
  const x = gamma(rng, a);
  return x / (x + gamma(rng, b));
}
