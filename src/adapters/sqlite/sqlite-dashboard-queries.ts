import type { CustomerFilter, DashboardQueries, FilteredPage, PopulationSample } from '../../ports/dashboard-queries';
import type { SqliteDatabase } from './open-database';
import { SUMMARY_COLUMNS } from '../shared/customer-summary';
import { toSampleRow, windowPage, type FilteredRow } from '../shared/dashboard-rows';

/** The dashboard's list filters and the lens-preview sample over the embedded store. */
export class SqliteDashboardQueries implements DashboardQueries {
  constructor(private readonly db: SqliteDatabase) {}

  async filterCustomers(q: CustomerFilter): Promise<FilteredPage> {
    const params: Record<string, unknown> = { after: q.after, window: q.window, limit: q.limit + 1 };
    const window =
      q.type !== undefined
        ? `SELECT customer_id AS id FROM customer_types WHERE lens = @lens AND type = @type AND customer_id > @after ORDER BY customer_id LIMIT @window`
        : `SELECT id FROM customers WHERE id > @after ORDER BY id LIMIT @window`;
    if (q.lens !== undefined) params['lens'] = q.lens;
    if (q.type !== undefined) params['type'] = q.type;
    const where: string[] = [];
    const add = (sql: string, name: string, value: unknown) => {
      where.push(sql);
      params[name] = value;
    };
    if (q.minProbability !== undefined) add('t.probability >= @minP', 'minP', q.minProbability);
    if (q.maxProbability !== undefined) add('t.probability <= @maxP', 'maxP', q.maxProbability);
    if (q.minClv !== undefined) add("json_extract(c.indicators, '$.clv_12m') >= @minClv", 'minClv', q.minClv);
    if (q.maxClv !== undefined) add("json_extract(c.indicators, '$.clv_12m') <= @maxClv", 'maxClv', q.maxClv);
    if (q.minPAlive !== undefined) add("json_extract(c.indicators, '$.p_alive') >= @minPA", 'minPA', q.minPAlive);
    if (q.maxPAlive !== undefined) add("json_extract(c.indicators, '$.p_alive') <= @maxPA", 'maxPA', q.maxPAlive);
    if (q.heavyUser !== undefined) add("COALESCE(json_extract(c.indicators, '$.heavy_user'), 0) = @heavy", 'heavy', q.heavyUser ? 1 : 0);
    const typeJoin = q.lens !== undefined ? 'LEFT JOIN customer_types t ON t.customer_id = c.id AND t.lens = @lens' : '';
    const rows = this.db
      .prepare(
        `SELECT ${SUMMARY_COLUMNS}, json_extract(c.indicators, '$.clv_12m') AS clv, json_extract(c.indicators, '$.p_alive') AS p_alive,
                ${q.lens !== undefined ? 't.probability' : 'NULL'} AS probability
         FROM (${window}) w JOIN customers c ON c.id = w.id ${typeJoin}
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY c.id LIMIT @limit`,
      )
      .all(params) as FilteredRow[];
    return windowPage(rows, q, async () => this.db.prepare(`SELECT MAX(id) AS last, COUNT(*) AS n FROM (${window})`).get(params) as { last: string | null; n: number });
  }

  /**
   * Every customer, or above `max` every k-th by rowid (evenly spaced point lookups instead of a
   * scan of the whole table), with its stored indicator snapshot and traits.
   */
  async samplePopulation(max: number): Promise<PopulationSample> {
    const bounds = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(MAX(rowid), 0) AS hi, COALESCE(MIN(rowid), 0) AS lo FROM customers').get() as {
      n: number;
      hi: number;
      lo: number;
    };
    const raw: Array<{ indicators: string; traits: string }> = [];
    if (bounds.n <= max) {
      raw.push(...(this.db.prepare('SELECT indicators, traits FROM customers').all() as Array<{ indicators: string; traits: string }>));
    } else {
      const one = this.db.prepare('SELECT indicators, traits FROM customers WHERE rowid >= ? ORDER BY rowid LIMIT 1');
      const step = (bounds.hi - bounds.lo + 1) / max;
      for (let i = 0; i < max; i++) {
        const r = one.get(Math.floor(bounds.lo + i * step)) as { indicators: string; traits: string } | undefined;
        if (r) raw.push(r);
      }
    }
    return { population: bounds.n, rows: raw.map(toSampleRow) };
  }
}
