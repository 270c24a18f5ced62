/**
 * Per-customer RFM summaries (x, t_x, T) in model time units, built from transactions.
 * As in Fader, Hardie & Lee (2005), repeat purchases count distinct purchase days after the first.
 */
import { ValidationError } from '../domain/errors';

/** Milliseconds in one day. */
export const DAY_MS = 86_400_000;

/** One purchase. `time` is epoch ms (UTC); `amount` is the money value (0 when unknown). */
export interface Transaction {
  customerId: string;
  time: number;
  amount: number;
}

/**
 * A customer's calibration-period summary in model time units (e.g. weeks):
 * `x` repeat purchases (distinct days after the first), `tx` time of the last purchase since the first,
 * `T` time from the first purchase to the end of calibration, `monetary` mean spend per repeat
 * purchase day (0 when x = 0).
 */
export interface CustomerSummary {
  x: number;
  tx: number;
  T: number;
  monetary?: number;
}

/** A summary with the customer it belongs to and the first-purchase time (ms). */
export interface NamedSummary extends CustomerSummary {
  customerId: string;
  /** First purchase (ms, start of that UTC day). */
  firstPurchase: number;
  /** Spend on the first purchase day (not used by Gamma-Gamma, which models repeat spend). */
  firstAmount: number;
}

/** Options for {@link summarizeTransactions}. */
export interface SummaryOptions {
  /** Last calibration day (ms; any time in that UTC day). Transactions on later days are left out. */
  calibrationEnd: number;
  /** Length of one model time unit in days (7 = weeks, 1 = days). */
  unitDays: number;
}

/**
 * Builds per-customer summaries from transactions up to and including the calibration-end day.
 * Same-day purchases merge into one (amounts add up). T runs from the first purchase day to the
 * calibration-end day, so a customer whose first purchase is on that day has T = 0.
 * Customers are returned sorted by id for determinism.
 */
export function summarizeTransactions(transactions: Iterable<Transaction>, opts: SummaryOptions): NamedSummary[] {
  if (!(opts.unitDays > 0)) throw new ValidationError(`unitDays must be positive, got ${opts.unitDays}`);
  const endDay = Math.floor(opts.calibrationEnd / DAY_MS);
  const byCustomer = new Map<string, Map<number, number>>();
  for (const t of transactions) {
    const day = Math.floor(t.time / DAY_MS);
    if (day > endDay) continue;
    let days = byCustomer.get(t.customerId);
    if (!days) byCustomer.set(t.customerId, (days = new Map()));
    days.set(day, (days.get(day) ?? 0) + (Number.isFinite(t.amount) ? t.amount : 0));
  }
  const out: NamedSummary[] = [];
  for (const [customerId, days] of byCustomer) {
    const sorted = [...days.keys()].sort((a, b) => a - b);
    const first = sorted[0]!;
    const last = sorted[sorted.length - 1]!;
    let repeatSpend = 0;
    for (let i = 1; i < sorted.length; i++) repeatSpend += days.get(sorted[i]!)!;
    const x = sorted.length - 1;
    out.push({
      customerId,
      x,
      tx: (last - first) / opts.unitDays,
      T: (endDay - first) / opts.unitDays,
      monetary: x > 0 ? repeatSpend / x : 0,
      firstPurchase: first * DAY_MS,
      firstAmount: days.get(first)!,
    });
  }
  out.sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  return out;
}

/**
 * Counts each customer's purchase days in the holdout window (after `calibrationEnd`'s day,
 * up to and including `holdoutEnd`'s day). Customers with none are absent from the map.
 */
export function holdoutPurchases(
  transactions: Iterable<Transaction>,
  calibrationEnd: number,
  holdoutEnd: number,
): Map<string, number[]> {
  const calDay = Math.floor(calibrationEnd / DAY_MS);
  const endDay = Math.floor(holdoutEnd / DAY_MS);
  const days = new Map<string, Set<number>>();
  for (const t of transactions) {
    const day = Math.floor(t.time / DAY_MS);
    if (day <= calDay || day > endDay) continue;
    let set = days.get(t.customerId);
    if (!set) days.set(t.customerId, (set = new Set()));
    set.add(day);
  }
  const out = new Map<string, number[]>();
  for (const [id, set] of days) out.set(id, [...set].sort((a, b) => a - b).map((d) => d * DAY_MS));
  return out;
}

/** Rows grouped by identical values with a weight (how many customers share them). */
export interface AggregatedRows {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  monetary: Float64Array;
  weight: Float64Array;
  /** Number of customers (sum of weights). */
  customers: number;
}

/**
 * Groups identical (x, t_x, T) rows (and monetary when `withMonetary`) and counts them, so the
 * likelihood is evaluated once per distinct row. Rows are validated: finite, x ≥ 0, 0 ≤ t_x ≤ T.
 */
export function aggregateSummaries(rows: Iterable<CustomerSummary>, withMonetary = false): AggregatedRows {
  // Nested maps keyed by numbers: several times faster than building string keys for 100k rows.
  const index = new Map<number, Map<number, Map<number, Map<number, number>>>>();
  const xs: number[] = [];
  const txs: number[] = [];
  const Ts: number[] = [];
  const ms: number[] = [];
  const ws: number[] = [];
  let i = 0;
  for (const r of rows) {
    const m = r.monetary ?? 0;
    if (!Number.isFinite(r.x) || !Number.isFinite(r.tx) || !Number.isFinite(r.T) || r.x < 0 || r.tx < 0 || r.tx > r.T + 1e-9) {
      throw new ValidationError(`customer summary ${i} is invalid: x=${r.x}, t_x=${r.tx}, T=${r.T} (need x ≥ 0 and 0 ≤ t_x ≤ T)`);
    }
    const byM = nestedLeaf(index, r.x, r.tx, r.T);
    const mKey = withMonetary ? m : 0;
    const at = byM.get(mKey);
    if (at === undefined) {
      byM.set(mKey, xs.length);
      xs.push(r.x);
      txs.push(r.tx);
      Ts.push(r.T);
      ms.push(m);
      ws.push(1);
    } else {
      ws[at]! += 1;
    }
    i++;
  }
  return {
    x: Float64Array.from(xs),
    tx: Float64Array.from(txs),
    T: Float64Array.from(Ts),
    monetary: Float64Array.from(ms),
    weight: Float64Array.from(ws),
    customers: i,
  };
}

/** The innermost map for keys (a, b, c), created on first use. */
export function nestedLeaf<V>(root: Map<number, Map<number, Map<number, Map<number, V>>>>, a: number, b: number, c: number): Map<number, V> {
  let m1 = root.get(a);
  if (!m1) root.set(a, (m1 = new Map()));
  let m2 = m1.get(b);
  if (!m2) m1.set(b, (m2 = new Map()));
  let m3 = m2.get(c);
  if (!m3) m2.set(c, (m3 = new Map()));
  return m3;
}
