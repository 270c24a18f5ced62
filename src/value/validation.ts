/**
 * Holdout validation, the standard way BTYD models are judged (Fader, Hardie & Lee 2005, figs. 2-4):
 * fit on a calibration period, then compare predicted with actual repeat purchases in the holdout:
 * in total, by calibration frequency group (0..7+), per customer (correlation), and as
 * cumulative repeat purchases week by week.
 */
import { bgnbdConditionalExpected, bgnbdExpected, type BgNbdParams } from './bgnbd';
import { paretoNbdConditionalExpected, paretoNbdExpected, type ParetoNbdParams } from './pareto-nbd';
import { DAY_MS, type NamedSummary, type Transaction } from './summary';

/** A purchase model with its parameters. */
export type PurchaseModel = { model: 'bgnbd'; params: BgNbdParams } | { model: 'pareto'; params: ParetoNbdParams };

/** One row of the frequency-group table. */
export interface FrequencyGroupRow {
  /** "0".."6", "7+". */
  group: string;
  customers: number;
  /** Mean actual holdout purchases per customer. */
  actual: number;
  /** Mean predicted holdout purchases per customer. */
  predicted: number;
}

/** One point of cumulative tracking. */
export interface TrackingPoint {
  /** Time units since the first day of the data. */
  period: number;
  actual: number;
  predicted: number;
  /** True when this period is in the holdout. */
  holdout: boolean;
}

/** Holdout comparison report. */
export interface HoldoutReport {
  customers: number;
  holdoutLength: number;
  totalActual: number;
  totalPredicted: number;
  frequencyGroups: FrequencyGroupRow[];
  /** Pearson correlation between predicted and actual holdout purchases per customer. */
  correlation: number;
  /** Mean absolute error per customer. */
  meanAbsoluteError: number;
  tracking: TrackingPoint[];
}

/** Inputs for {@link holdoutReport}. */
export interface HoldoutInputs {
  model: PurchaseModel;
  /** Calibration summaries (from summarizeTransactions). */
  summaries: readonly NamedSummary[];
  /** Holdout purchase days per customer (from holdoutPurchases). */
  holdout: ReadonlyMap<string, readonly number[]>;
  /** All transactions (calibration and holdout), for cumulative tracking. */
  transactions: Iterable<Transaction>;
  calibrationEnd: number;
  holdoutEnd: number;
  unitDays: number;
}

/** Builds the holdout comparison for a fitted model. */
export function holdoutReport(inp: HoldoutInputs): HoldoutReport {
  const calDay = Math.floor(inp.calibrationEnd / DAY_MS);
  const endDay = Math.floor(inp.holdoutEnd / DAY_MS);
  const tHold = (endDay - calDay) / inp.unitDays;
  const cond = (s: NamedSummary): number =>
    inp.model.model === 'bgnbd'
      ? bgnbdConditionalExpected(inp.model.params, tHold, s.x, s.tx, s.T)
      : paretoNbdConditionalExpected(inp.model.params, tHold, s.x, s.tx, s.T);
  const uncond = (t: number): number =>
    t <= 0 ? 0 : inp.model.model === 'bgnbd' ? bgnbdExpected(inp.model.params, t) : paretoNbdExpected(inp.model.params, t);

  const groups = Array.from({ length: 8 }, (_, g) => ({ group: g === 7 ? '7+' : String(g), customers: 0, actual: 0, predicted: 0 }));
  const pred: number[] = [];
  const act: number[] = [];
  for (const s of inp.summaries) {
    const p = cond(s);
    const a = inp.holdout.get(s.customerId)?.length ?? 0;
    pred.push(p);
    act.push(a);
    const g = groups[Math.min(7, s.x)]!;
    g.customers++;
    g.actual += a;
    g.predicted += p;
  }
  for (const g of groups) {
    if (g.customers > 0) {
      g.actual /= g.customers;
      g.predicted /= g.customers;
    }
  }

  // Cumulative tracking: actual repeat purchase days vs Σ_i E[X(t − first_i)] by period.
  const firstDay = new Map<string, number>();
  const days = new Map<string, Set<number>>();
  for (const t of inp.transactions) {
    const d = Math.floor(t.time / DAY_MS);
    if (d > endDay) continue;
    let set = days.get(t.customerId);
    if (!set) days.set(t.customerId, (set = new Set()));
    set.add(d);
  }
  const included = new Set(inp.summaries.map((s) => s.customerId));
  let start = Infinity;
  for (const s of inp.summaries) {
    const f = Math.floor(s.firstPurchase / DAY_MS);
    firstDay.set(s.customerId, f);
    start = Math.min(start, f);
  }
  const periods = Number.isFinite(start) ? Math.ceil((endDay - start) / inp.unitDays) : 0;
  const actualPerPeriod = new Float64Array(periods + 1);
  for (const [id, set] of days) {
    const f = firstDay.get(id);
    if (f === undefined || !included.has(id)) continue;
    for (const d of set) {
      if (d === f) continue;
      const k = Math.ceil((d - start) / inp.unitDays);
      if (k <= periods) actualPerPeriod[Math.max(1, k)]! += 1;
    }
  }
  // Customers sharing a first day share the unconditional curve.
  const cohort = new Map<number, number>();
  for (const f of firstDay.values()) cohort.set(f, (cohort.get(f) ?? 0) + 1);
  const tracking: TrackingPoint[] = [];
  let cumActual = 0;
  for (let k = 1; k <= periods; k++) {
    cumActual += actualPerPeriod[k]!;
    const at = Math.min(start + k * inp.unitDays, endDay);
    let predicted = 0;
    for (const [f, n] of cohort) predicted += n * uncond((at - f) / inp.unitDays);
    tracking.push({ period: k, actual: cumActual, predicted, holdout: at > calDay });
  }

  const totalActual = act.reduce((s, v) => s + v, 0);
  const totalPredicted = pred.reduce((s, v) => s + v, 0);
  let mae = 0;
  for (let i = 0; i < pred.length; i++) mae += Math.abs(pred[i]! - act[i]!);
  return {
    customers: inp.summaries.length,
    holdoutLength: tHold,
    totalActual,
    totalPredicted,
    frequencyGroups: groups,
    correlation: pearson(pred, act),
    meanAbsoluteError: pred.length > 0 ? mae / pred.length : 0,
    tracking,
  };
}

/** Pearson correlation (NaN when either side is constant). */
export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
