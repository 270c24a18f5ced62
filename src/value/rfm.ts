/**
 * RFM scores and segments, and the distribution helpers the dashboard and lenses use
 * (heavy-user threshold, Pareto curve, CLV histogram). All pure functions of their inputs.
 */

/** What RFM scoring needs per customer. */
export interface RfmInput {
  customerId: string;
  /** Time since the last purchase (any unit; smaller is more recent). */
  recency: number;
  /** Number of purchases (or repeat purchases). */
  frequency: number;
  /** Spend (total or mean, consistently for all customers). */
  monetary: number;
}

/** A customer's RFM quintile scores (1 = worst, 5 = best) and segment. */
export interface RfmScore {
  customerId: string;
  r: number;
  f: number;
  m: number;
  /** e.g. "545". */
  code: string;
  segment: RfmSegment;
}

/** Named RFM segments (a common R × FM grid). */
export type RfmSegment =
  | 'champions'
  | 'loyal'
  | 'potential_loyalist'
  | 'new'
  | 'promising'
  | 'needs_attention'
  | 'about_to_sleep'
  | 'at_risk'
  | 'cannot_lose'
  | 'hibernating'
  | 'lost';

/**
 * Scores customers by quintile: each dimension is ranked (ties share the lower rank) and cut into
 * five equal-count groups. Recency is reversed so that recent buyers score 5.
 */
export function rfmScores(customers: readonly RfmInput[]): RfmScore[] {
  const rs = quintiles(customers.map((c) => -c.recency));
  const fs = quintiles(customers.map((c) => c.frequency));
  const ms = quintiles(customers.map((c) => c.monetary));
  return customers.map((c, i) => {
    const r = rs[i]!;
    const f = fs[i]!;
    const m = ms[i]!;
    return { customerId: c.customerId, r, f, m, code: `${r}${f}${m}`, segment: rfmSegment(r, (f + m) / 2) };
  });
}

/** Segment for an R score and the mean of the F and M scores. */
export function rfmSegment(r: number, fm: number): RfmSegment {
  if (r >= 4) {
    if (fm >= 4) return 'champions';
    if (fm >= 3) return 'loyal';
    if (fm >= 2) return 'potential_loyalist';
    return r === 5 ? 'new' : 'promising';
  }
  if (r === 3) {
    if (fm >= 3) return 'loyal';
    if (fm >= 2) return 'needs_attention';
    return 'about_to_sleep';
  }
  if (fm >= 4.5) return 'cannot_lose';
  if (fm >= 3) return 'at_risk';
  if (r === 2) return 'hibernating';
  return fm >= 2 ? 'hibernating' : 'lost';
}

/** Quintile score 1..5 per value (ties get the same score). */
function quintiles(values: readonly number[]): number[] {
  const n = values.length;
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && order[j + 1]![0] === order[i]![0]) j++;
    const score = Math.min(5, Math.floor((i * 5) / n) + 1);
    for (let k = i; k <= j; k++) out[order[k]![1]] = score;
    i = j + 1;
  }
  return out;
}

/**
 * The value at or above which a customer is in the top `share` of customers by value
 * (default top 20 %, the "valued heavy user" of the lifecycle lens). Returns Infinity for no values.
 */
export function heavyUserThreshold(values: readonly number[], share = 0.2): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => b - a);
  if (finite.length === 0 || share <= 0) return Infinity;
  const k = Math.max(1, Math.ceil(finite.length * Math.min(1, share)));
  return finite[k - 1]!;
}

/** One point of a Pareto (concentration) curve. */
export interface ParetoPoint {
  /** Top share of customers, in percent (1..100). */
  percentile: number;
  /** Share of total value they hold (0..1). */
  revenueShare: number;
}

/**
 * Concentration curve: for the top 1 %, 2 %, ..., 100 % of customers by value, the share of the
 * total value they hold (the "20 % bring 80 %" check). Negative values count as 0.
 */
export function paretoCurve(values: readonly number[], steps = 100): ParetoPoint[] {
  const sorted = values.map((v) => (Number.isFinite(v) && v > 0 ? v : 0)).sort((a, b) => b - a);
  const total = sorted.reduce((s, v) => s + v, 0);
  const n = sorted.length;
  const out: ParetoPoint[] = [];
  let cum = 0;
  let taken = 0;
  for (let k = 1; k <= steps; k++) {
    const upto = Math.round((k / steps) * n);
    while (taken < upto) cum += sorted[taken++]!;
    out.push({ percentile: (k * 100) / steps, revenueShare: total > 0 ? cum / total : 0 });
  }
  return out;
}

/** One histogram bin [from, to). */
export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/**
 * Histogram of CLV values with `bins` equal-width bins from 0 to the `clipQuantile` quantile
 * (default 0.99, so one whale does not squash the chart); larger values go into the last bin.
 */
export function clvHistogram(values: readonly number[], bins = 20, clipQuantile = 0.99): HistogramBin[] {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0 || bins < 1) return [];
  const lo = Math.min(0, finite[0]!);
  const hi = Math.max(finite[Math.min(finite.length - 1, Math.floor(clipQuantile * (finite.length - 1)))]!, lo + 1e-9);
  const width = (hi - lo) / bins;
  const out: HistogramBin[] = Array.from({ length: bins }, (_, i) => ({ from: lo + i * width, to: lo + (i + 1) * width, count: 0 }));
  for (const v of finite) out[Math.min(bins - 1, Math.floor((v - lo) / width))]!.count++;
  return out;
}
