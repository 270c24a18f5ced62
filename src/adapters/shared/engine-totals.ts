// Per-type totals and per-day counts as both backends derive them (same deltas in the same order, so the
// floating-point sums are equal bit for bit).

/** UTC day number of an event time: the resolution of the per-day type counts. */
export function dayOf(t: number): number {
  return Math.floor(t / 86_400_000);
}

/** What one customer adds to its types' totals (the indicator snapshot it was committed with). */
export interface Contribution {
  revenue: number;
  revenue_365d: number;
  clv_12m: number;
  support_contacts: number;
  emails_delivered: number;
}

/** The contribution of a customer without one. */
export const ZERO: Contribution = { revenue: 0, revenue_365d: 0, clv_12m: 0, support_contacts: 0, emails_delivered: 0 };

/** True when two contributions are equal in every figure. */
export const sameContribution = (a: Contribution, b: Contribution): boolean =>
  a.revenue === b.revenue && a.revenue_365d === b.revenue_365d && a.clv_12m === b.clv_12m &&
  a.support_contacts === b.support_contacts && a.emails_delivered === b.emails_delivered;

const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** A customer's contribution from its indicators: absent or non-finite counts as 0, negative CLV as 0. */
export function contributionOf(ind: Record<string, number>): Contribution {
  return {
    revenue: finite(ind['revenue_total']),
    revenue_365d: finite(ind['monetary_365d']),
    clv_12m: Math.max(finite(ind['clv_12m']), 0),
    support_contacts: finite(ind['support_contacts_total']),
    emails_delivered: finite(ind['emails_delivered']),
  };
}

/**
 * Per-(lens, type) changes of one commit, written once per type at the end instead of once per customer.
 * Shared with the PostgreSQL adapter: both add the same deltas in the same order, so the sums are equal bit for bit.
 */
export class TotalsDelta {
  private readonly byKey = new Map<string, [string, string, Contribution & { customers: number }]>();

  /** Adds (`sign` 1) or removes (-1) one customer's contribution to a (lens, type). */
  add(lens: string, type: string, sign: 1 | -1, c: Contribution): void {
    const key = `${lens}\u0000${type}`;
    let e = this.byKey.get(key);
    if (!e) {
      e = [lens, type, { customers: 0, ...ZERO }];
      this.byKey.set(key, e);
    }
    const d = e[2];
    d.customers += sign;
    d.revenue += sign * c.revenue;
    d.revenue_365d += sign * c.revenue_365d;
    d.clv_12m += sign * c.clv_12m;
    d.support_contacts += sign * c.support_contacts;
    d.emails_delivered += sign * c.emails_delivered;
  }

  /** Keys in sorted order, so the totals' B-tree is written in page order. */
  entries(): Array<[string, string, Contribution & { customers: number }]> {
    return [...this.byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }
}
