import type { TypeAggregate, ValueQueries } from '../../ports/value-queries';
import type { SqliteDatabase } from './open-database';

/** Value and economics queries over the embedded store (one scan per call; callers cache). */
export class SqliteValueQueries implements ValueQueries {
  constructor(private readonly db: SqliteDatabase) {}

  async revenues(): Promise<number[]> {
    return this.db
      .prepare(`SELECT json_extract(indicators, '$.revenue_total') AS r FROM customers`)
      .pluck()
      .all()
      .map((r) => (typeof r === 'number' && Number.isFinite(r) ? r : 0));
  }

  async aggregatesByType(lens: string): Promise<TypeAggregate[]> {
    const rows = this.db
      .prepare(
        `SELECT t.type AS type, COUNT(*) AS customers,
           TOTAL(json_extract(c.indicators, '$.revenue_total')) AS revenue,
           TOTAL(json_extract(c.indicators, '$.monetary_365d')) AS revenue365d,
           TOTAL(MAX(json_extract(c.indicators, '$.clv_12m'), 0)) AS clv12m,
           TOTAL(json_extract(c.indicators, '$.support_contacts_total')) AS supportContacts,
           TOTAL(json_extract(c.indicators, '$.emails_delivered')) AS emailsDelivered
         FROM customer_types t JOIN customers c ON c.id = t.customer_id
         WHERE t.lens = ? GROUP BY t.type ORDER BY customers DESC`,
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
