import type { TypeAggregate, ValueQueries } from '../../ports/value-queries';
import type { PostgresPool } from './open-pool';

/** Value and economics queries over PostgreSQL: per-type totals kept by the commits, measures counted per call. */
export class PostgresValueQueries implements ValueQueries {
  constructor(private readonly pool: PostgresPool) {}

  async revenues(): Promise<number[]> {
    // One number per customer, kept by the commit (migration 12): no JSON to parse.
    const r = await this.pool.query<{ r: number }>(`SELECT revenue AS r FROM customer_contrib`);
    return r.rows.map((x) => x.r);
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
