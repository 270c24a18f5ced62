import type { RevenueSummary, TypeAggregate, ValueQueries } from '../../ports/value-queries';
import type { PostgresPool } from './open-pool';

/** Value and economics queries over PostgreSQL: per-type totals kept by the commits, measures counted per call. */
export class PostgresValueQueries implements ValueQueries {
  constructor(private readonly pool: PostgresPool) {}

  async revenues(): Promise<number[]> {
    // One number per customer, kept by the commit (migration 12): no JSON to parse.
    const r = await this.pool.query<{ r: number }>(`SELECT revenue AS r FROM customer_contrib`);
    return r.rows.map((x) => x.r);
  }

  async revenueSummary(maxRows: number): Promise<RevenueSummary> {
    // Totals from the counters the commits keep (every customer counts once in each lens's per-type rows).
    const totals = await this.pool.query<{ customers: string | null; revenue: number | null }>(
      `SELECT sum(customers) AS customers, sum(revenue) AS revenue FROM type_totals WHERE lens = (SELECT min(lens) FROM type_totals)`,
    );
    const customers = Number(totals.rows[0]?.customers ?? 0);
    const revenueTotal = Number(totals.rows[0]?.revenue ?? 0);
    if (customers <= maxRows) {
      const revenues = await this.revenues();
      return { customers: revenues.length, revenueTotal: revenues.reduce((a, b) => a + b, 0), revenues, share: 1 };
    }
    // A repeatable Bernoulli sample: each row is in with probability `share` (every page is still read, but
    // only the sample reaches this process).
    const share = maxRows / customers;
    const r = await this.pool.query<{ r: number }>(`SELECT revenue AS r FROM customer_contrib TABLESAMPLE BERNOULLI ($1) REPEATABLE (7)`, [share * 100]);
    return { customers, revenueTotal, revenues: r.rows.map((x) => x.r), share };
  }

  async aggregatesByType(lens: string): Promise<TypeAggregate[]> {
    // Maintained by the engine store's commit (migration 12): a lookup, not a scan of every customer.
    const rows = await this.pool.query<Omit<TypeAggregate, 'measures'>>(
      // Summed over the per-partition rows of the scaled-out mode (`part`; one row per type otherwise).
      `SELECT type, sum(customers) AS customers, sum(revenue) AS revenue, sum(revenue_365d) AS "revenue365d", sum(clv_12m) AS "clv12m",
         sum(support_contacts) AS "supportContacts", sum(emails_delivered) AS "emailsDelivered"
       FROM type_totals WHERE lens = $1 GROUP BY type HAVING sum(customers) > 0 ORDER BY sum(customers) DESC, type`,
      [lens],
    );
    const measures = await this.pool.query<{ type: string; channel: string; n: number }>(
      `SELECT t.type AS type, l.channel AS channel, COUNT(*) AS n
       FROM auto_contacts l JOIN customer_types t ON t.customer_id = l.customer_id AND t.lens = $1
       GROUP BY t.type, l.channel`,
      [lens],
    );
    const byType = new Map<string, Record<string, number>>();
    for (const m of measures.rows) {
      const rec = byType.get(m.type) ?? {};
      rec[m.channel] = m.n;
      byType.set(m.type, rec);
    }
    return rows.rows.map((r) => ({ ...r, measures: byType.get(r.type) ?? {} }));
  }
}
