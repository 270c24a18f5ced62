import type { TypeAggregate, ValueQueries } from '../../ports/value-queries';
import type { PostgresPool } from './open-pool';

/** A numeric indicator from the JSON text column, NULL when absent or not a number. */
const ind = (name: string): string =>
  `CASE WHEN jsonb_typeof(c.indicators::jsonb -> '${name}') = 'number' THEN (c.indicators::jsonb ->> '${name}')::float8 END`;

/** Value and economics queries over PostgreSQL (one scan per call; callers cache). */
export class PostgresValueQueries implements ValueQueries {
  constructor(private readonly pool: PostgresPool) {}

  async revenues(): Promise<number[]> {
    const r = await this.pool.query<{ r: number | null }>(`SELECT ${ind('revenue_total')} AS r FROM customers c`);
    return r.rows.map((x) => (typeof x.r === 'number' && Number.isFinite(x.r) ? x.r : 0));
  }

  async aggregatesByType(lens: string): Promise<TypeAggregate[]> {
    const rows = await this.pool.query<Omit<TypeAggregate, 'measures'>>(
      `SELECT t.type AS type, COUNT(*) AS customers,
         COALESCE(SUM(${ind('revenue_total')}), 0) AS revenue,
         COALESCE(SUM(${ind('monetary_365d')}), 0) AS "revenue365d",
         COALESCE(SUM(GREATEST(${ind('clv_12m')}, 0)), 0) AS "clv12m",
         COALESCE(SUM(${ind('support_contacts_total')}), 0) AS "supportContacts",
         COALESCE(SUM(${ind('emails_delivered')}), 0) AS "emailsDelivered"
       FROM customer_types t JOIN customers c ON c.id = t.customer_id
       WHERE t.lens = $1 GROUP BY t.type ORDER BY customers DESC, t.type`,
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
