import type { RevenueSummary, TypeAggregate, ValueQueries } from '../../ports/value-queries';
import type { SqliteDatabase } from './open-database';

/** Value and economics queries over the embedded store (one scan per call; callers cache). */
export class SqliteValueQueries implements ValueQueries {
  constructor(private readonly db: SqliteDatabase) {}

  async revenues(): Promise<number[]> {
    // One row per customer with its revenue as a number (kept by the commit, migration 15): no JSON to parse.
    return this.db.prepare(`SELECT revenue FROM customer_contrib`).pluck().all() as number[];
  }

  async revenueSummary(): Promise<RevenueSummary> {
    // The embedded store is small enough to read whole.
    const revenues = await this.revenues();
    return { customers: revenues.length, revenueTotal: revenues.reduce((a, b) => a + b, 0), revenues, share: 1 };
  }

  async aggregatesByType(lens: string): Promise<TypeAggregate[]> {
    // Maintained by the engine store's commit (migration 15): a lookup, not a scan of every customer.
    const rows = this.db
      .prepare(
        `SELECT type, customers, revenue, revenue_365d AS revenue365d, clv_12m AS clv12m,
           support_contacts AS supportContacts, emails_delivered AS emailsDelivered
         FROM type_totals WHERE lens = ? AND customers > 0 ORDER BY customers DESC`,
      )
      .all(lens) as Array<Omit<TypeAggregate, 'measures'>>;
    const measures = this.measuresByType(lens);
    return rows.map((r) => ({ ...r, measures: measures.get(r.type) ?? {} }));
  }

  /** Measures sent per type and channel, when the automation tables exist. */
  private measuresByType(lens: string): Map<string, Record<string, number>> {
    const out = new Map<string, Record<string, number>>();
    const has = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'auto_contacts'`).get();
    if (!has) return out;
    const rows = this.db
      .prepare(
        `SELECT t.type AS type, l.channel AS channel, COUNT(*) AS n
         FROM auto_contacts l JOIN customer_types t ON t.customer_id = l.customer_id AND t.lens = ?
         GROUP BY t.type, l.channel`,
      )
      .all(lens) as Array<{ type: string; channel: string; n: number }>;
    for (const r of rows) {
      const m = out.get(r.type) ?? {};
      m[r.channel] = r.n;
      out.set(r.type, m);
    }
    return out;
  }
}
