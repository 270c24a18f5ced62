import type { Playbook } from '../domain/playbook';
import { newcombeDiff, revenueDiff, waldDiff, type Interval } from '../domain/playbook-stats';
import type { OutcomeRow } from '../ports/automation-store';

/** One treated group (variant x type) against the holdout of the same type. */
export interface EffectivenessRow {
  readonly variant: string;
  readonly type: string;
  /** Treated customers enrolled (after holdout). */
  readonly enrolled: number;
  /** Of them, customers who got at least one message. */
  readonly reach: number;
  readonly conversions: number;
  readonly conversionRate: number;
  readonly revenue: number;
  readonly revenuePerCustomer: number;
  readonly unsubscribes: number;
  readonly holdout: { readonly n: number; readonly conversions: number; readonly conversionRate: number; readonly revenuePerCustomer: number };
  /** Conversion-rate difference treated - holdout with 95 % intervals (null without a holdout). */
  readonly uplift: number | null;
  readonly upliftCi: Interval | null;
  readonly upliftCiWald: Interval | null;
  readonly revenueUplift: number | null;
  readonly revenueUpliftCi: Interval | null;
}

/** Effectiveness of one playbook. */
export interface EffectivenessReport {
  readonly playbookId: string;
  readonly name: string;
  readonly holdoutShare: number;
  readonly goal: { event: string; withinMs: number };
  readonly rows: EffectivenessRow[];
}

interface Acc {
  n: number;
  reached: number;
  conv: number;
  rs: number;
  rss: number;
  unsub: number;
}
const empty = (): Acc => ({ n: 0, reached: 0, conv: 0, rs: 0, rss: 0, unsub: 0 });
function add(a: Acc, r: OutcomeRow): void {
  a.n += r.n;
  a.reached += r.reached;
  a.conv += r.conversions;
  a.rs += r.revenueSum;
  a.rss += r.revenueSumSq;
  a.unsub += r.unsubscribes;
}

/**
 * Per variant x type (plus `*` = all types): reach, conversion, revenue, unsubscribes and uplift
 * against the holdout of the same type(s), with Newcombe (and Wald) 95 % intervals for the
 * conversion difference and a normal-approximation interval for revenue per customer.
 */
export function computeEffectiveness(pb: Playbook, rows: readonly OutcomeRow[]): EffectivenessReport {
  const treated = new Map<string, Acc>();
  const hold = new Map<string, Acc>();
  for (const r of rows) {
    const type = r.type ?? '(none)';
    for (const t of [type, '*']) {
      if (r.holdout) {
        const a = hold.get(t) ?? empty();
        add(a, r);
        hold.set(t, a);
      } else {
        const k = `${r.variant ?? '(none)'}\u0000${t}`;
        const a = treated.get(k) ?? empty();
        add(a, r);
        treated.set(k, a);
      }
    }
  }
  const out: EffectivenessRow[] = [];
  for (const [k, a] of [...treated.entries()].sort(([x], [y]) => x.localeCompare(y))) {
    const [variant = '', type = ''] = k.split('\u0000');
    const h = hold.get(type) ?? empty();
    const hasHold = h.n > 0;
    const rev = revenueDiff({ n: a.n, sum: a.rs, sumSq: a.rss }, { n: h.n, sum: h.rs, sumSq: h.rss });
    out.push({
      variant,
      type,
      enrolled: a.n,
      reach: a.reached,
      conversions: a.conv,
      conversionRate: a.n ? a.conv / a.n : 0,
      revenue: a.rs,
      revenuePerCustomer: a.n ? a.rs / a.n : 0,
      unsubscribes: a.unsub,
      holdout: { n: h.n, conversions: h.conv, conversionRate: h.n ? h.conv / h.n : 0, revenuePerCustomer: h.n ? h.rs / h.n : 0 },
      uplift: hasHold && a.n ? a.conv / a.n - h.conv / h.n : null,
      upliftCi: newcombeDiff(a.conv, a.n, h.conv, h.n),
      upliftCiWald: waldDiff(a.conv, a.n, h.conv, h.n),
      revenueUplift: hasHold ? rev.diff : null,
      revenueUpliftCi: hasHold ? rev.ci : null,
    });
  }
  return { playbookId: pb.id, name: pb.name, holdoutShare: pb.holdout, goal: { event: pb.goal.event, withinMs: pb.goal.within }, rows: out };
}

/** A plain-text table of a report (CLI). */
export function formatEffectiveness(r: EffectivenessReport): string {
  const pct = (x: number | null): string => (x === null ? '   n/a' : `${(x * 100).toFixed(1).padStart(5)}%`);
  const ci = (i: Interval | null): string => (i ? `[${(i.low * 100).toFixed(1)}, ${(i.high * 100).toFixed(1)}]` : '');
  const lines = [`${r.playbookId} — ${r.name} (holdout ${Math.round(r.holdoutShare * 100)} %, goal ${r.goal.event})`];
  lines.push('  variant      type                      reach  conv    rate  holdout   uplift  95% CI (pp)        rev/cust  unsub');
  for (const x of r.rows) {
    lines.push(
      `  ${x.variant.padEnd(12)} ${x.type.padEnd(24)} ${String(x.reach).padStart(6)} ${String(x.conversions).padStart(5)} ${pct(x.conversionRate)} ${pct(x.holdout.n ? x.holdout.conversionRate : null)} ${pct(x.uplift)}  ${ci(x.upliftCi).padEnd(18)} ${x.revenuePerCustomer.toFixed(2).padStart(8)} ${String(x.unsubscribes).padStart(6)}`,
    );
  }
  if (r.rows.length === 0) lines.push('  (no enrolments yet)');
  return lines.join('\n');
}
