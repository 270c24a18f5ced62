import { createRng, hashString, type Rng } from './random';

/**
 * Effectiveness statistics (pure): uplift of a treated group against the holdout with 95 %
 * confidence intervals, and seeded Thompson sampling for per-type variant choice.
 */

/** z for a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

/** A confidence interval. */
export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** Wilson score interval for a proportion x/n. */
export function wilson(x: number, n: number, z = Z95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const p = x / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const r = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { low: Math.max(0, (c - r) / d), high: Math.min(1, (c + r) / d) };
}

/**
 * Newcombe's hybrid score interval (method 10) for p1 - p2: well-behaved with small counts and
 * proportions near 0 or 1, unlike Wald. Null when a group is empty.
 */
export function newcombeDiff(x1: number, n1: number, x2: number, n2: number, z = Z95): Interval | null {
  if (n1 === 0 || n2 === 0) return null;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const a = wilson(x1, n1, z);
  const b = wilson(x2, n2, z);
  const d = p1 - p2;
  return {
    low: d - Math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2),
    high: d + Math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2),
  };
}

/** Wald interval for p1 - p2 (reported alongside Newcombe for comparison). */
export function waldDiff(x1: number, n1: number, x2: number, n2: number, z = Z95): Interval | null {
  if (n1 === 0 || n2 === 0) return null;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return { low: p1 - p2 - z * se, high: p1 - p2 + z * se };
}

/** Sums describing a revenue sample: count, sum, sum of squares. */
export interface RevenueSums {
  readonly n: number;
  readonly sum: number;
  readonly sumSq: number;
}

/** Mean difference of revenue per customer with a normal-approximation 95 % interval (Welch SE). */
export function revenueDiff(t: RevenueSums, h: RevenueSums, z = Z95): { diff: number; ci: Interval | null } {
  const m1 = t.n ? t.sum / t.n : 0;
  const m2 = h.n ? h.sum / h.n : 0;
  if (t.n < 2 || h.n < 2) return { diff: m1 - m2, ci: null };
  const v1 = Math.max(0, (t.sumSq - t.n * m1 * m1) / (t.n - 1));
  const v2 = Math.max(0, (h.sumSq - h.n * m2 * m2) / (h.n - 1));
  const se = Math.sqrt(v1 / t.n + v2 / h.n);
  return { diff: m1 - m2, ci: { low: m1 - m2 - z * se, high: m1 - m2 + z * se } };
}

function gamma(rng: Rng, shape: number): number {
  // Marsaglia-Tsang; shape < 1 boosted.
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(rng.next() || 1e-12, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      // Box-Muller normal.
      const u1 = rng.next() || 1e-12;
      const u2 = rng.next();
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next() || 1e-12;
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** One draw from Beta(a, b). */
export function betaSample(rng: Rng, a: number, b: number): number {
  const x = gamma(rng, a);
  const y = gamma(rng, b);
  return x / (x + y);
}

/** Per-variant counts for Thompson sampling. */
export interface ArmStats {
  readonly name: string;
  readonly n: number;
  readonly conversions: number;
}

/**
 * Thompson sampling with Beta(1 + conversions, 1 + failures) per arm. Deterministic: the draw is
 * seeded by (seed, key), e.g. key = playbook + customer, so replays choose the same variant.
 */
export function thompsonChoose(arms: readonly ArmStats[], seed: number, key: string): string {
  const rng = createRng((hashString(key) ^ seed) >>> 0);
  let best = arms[0]?.name ?? '';
  let bestDraw = -1;
  for (const a of arms) {
    const draw = betaSample(rng, 1 + a.conversions, 1 + Math.max(0, a.n - a.conversions));
    if (draw > bestDraw) {
      bestDraw = draw;
      best = a.name;
    }
  }
  return best;
}

/**
 * Stable uniform draw in [0, 1) from a key: FNV-1a followed by the murmur3 finaliser, because
 * FNV alone mixes the last characters poorly into the high bits (keys like c1, c2... would cluster).
 */
export function uniformHash(key: string): number {
  let h = hashString(key);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Weighted choice by a stable hash in [0,1): same key, same variant. */
export function hashChoose(variants: readonly { name: string; weight: number }[], key: string): string {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  let u = uniformHash(key) * total;
  for (const v of variants) {
    if (u < v.weight) return v.name;
    u -= v.weight;
  }
  return variants[variants.length - 1]?.name ?? '';
}

/** Stable uniform [0,1) for holdout assignment of a customer in a playbook. */
export function holdoutDraw(playbookId: string, customerId: string): number {
  return uniformHash(`holdout:${playbookId}:${customerId}`);
}
