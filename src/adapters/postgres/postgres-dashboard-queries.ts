import type { CustomerFilter, DashboardQueries, FilteredPage, PopulationSample } from '../../ports/dashboard-queries';
import { SUMMARY_COLUMNS } from '../shared/customer-summary';
import { toSampleRow, windowPage, type FilteredRow } from '../shared/dashboard-rows';
import type { PostgresPool } from './open-pool';

/** A numeric indicator of the row's parsed indicators `j`, NULL when absent or not a number. */
const num = (name: string): string => `CASE WHEN jsonb_typeof(x.j -> '${name}') = 'number' THEN (x.j ->> '${name}')::float8 END`;

/** Above this many customers per sampled one, whole pages are sampled (SYSTEM) instead of rows (BERNOULLI, a full scan). */
const PAGE_SAMPLING_RATIO = 20;

/**
 * The dashboard's list filters and the lens-preview sample over PostgreSQL. Same behaviour as the
 * SQLite adapter: the list walks a window of the primary key (or the `(lens, type, customer_id)`
 * index) from a keyset cursor, so a call costs one window whatever the population.
 */
export class PostgresDashboardQueries implements DashboardQueries {
  constructor(private readonly pool: PostgresPool) {}

  async filterCustomers(q: CustomerFilter): Promise<FilteredPage> {
    const params: unknown[] = [q.after, q.window];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    // The window's parameters come first, so the end-of-window query can reuse exactly those.
    let lens = q.type !== undefined && q.lens !== undefined ? p(q.lens) : '';
    const window =
      q.type !== undefined
        ? `SELECT customer_id AS id FROM customer_types WHERE lens = ${lens} AND type = ${p(q.type)} AND customer_id > $1 ORDER BY customer_id LIMIT $2`
        : `SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2`;
    const windowParams = params.length;
    if (!lens && q.lens !== undefined) lens = p(q.lens);
    const where: string[] = [];
    if (q.minProbability !== undefined) where.push(`t.probability >= ${p(q.minProbability)}`);
    if (q.maxProbability !== undefined) where.push(`t.probability <= ${p(q.maxProbability)}`);
    if (q.minClv !== undefined) where.push(`${num('clv_12m')} >= ${p(q.minClv)}`);
    if (q.maxClv !== undefined) where.push(`${num('clv_12m')} <= ${p(q.maxClv)}`);
    if (q.minPAlive !== undefined) where.push(`${num('p_alive')} >= ${p(q.minPAlive)}`);
    if (q.maxPAlive !== undefined) where.push(`${num('p_alive')} <= ${p(q.maxPAlive)}`);
    if (q.heavyUser !== undefined) {
      // As SQLite's json_extract: true/false read as 1/0, absent as 0.
      where.push(
        `COALESCE(CASE jsonb_typeof(x.j -> 'heavy_user') WHEN 'number' THEN (x.j ->> 'heavy_user')::float8
                    WHEN 'boolean' THEN (x.j ->> 'heavy_user')::boolean::int END, 0) = ${p(q.heavyUser ? 1 : 0)}`,
      );
    }
    const typeJoin = q.lens !== undefined ? `LEFT JOIN customer_types t ON t.customer_id = c.id AND t.lens = ${lens}` : '';
    const rows = (
      await this.pool.query<FilteredRow>(
        `SELECT ${SUMMARY_COLUMNS}, ${num('clv_12m')} AS clv, ${num('p_alive')} AS p_alive,
                ${q.lens !== undefined ? 't.probability' : 'NULL::float8'} AS probability
         FROM (${window}) w JOIN customers c ON c.id = w.id ${typeJoin}
         CROSS JOIN LATERAL (SELECT c.indicators::jsonb AS j) x
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY c.id LIMIT ${p(q.limit + 1)}`,
        params,
      )
    ).rows;
    const windowEnd = async () =>
      (await this.pool.query<{ last: string | null; n: number }>(`SELECT MAX(id) AS last, COUNT(*)::bigint AS n FROM (${window}) w`, params.slice(0, windowParams)))
        .rows[0];
    return windowPage(rows, q, windowEnd);
  }

  /**
   * Every customer (in id order) when there are at most `max`; else a repeatable table sample of about
   * `max` rows: row sampling (BERNOULLI) for moderate tables, page sampling (SYSTEM, reads only the
   * sampled pages) when the table is much larger than the sample.
   */
  async samplePopulation(max: number): Promise<PopulationSample> {
    // Summed over the per-partition rows of the scaled-out mode (see PostgresCustomerQueries.countCustomers).
    const count = await this.pool.query<{ n: number | null }>(`SELECT sum(n) AS n FROM engine_counts WHERE name = 'customers' OR name LIKE 'customers:p%'`);
    const n = count.rows[0]?.n ?? 0;
    let raw: Array<{ indicators: string; traits: string }>;
    if (n <= max) {
      raw = (await this.pool.query<{ indicators: string; traits: string }>(`SELECT indicators, traits FROM customers ORDER BY id`)).rows;
    } else {
      // A little over the share, then cut: the sampled count varies around its expectation.
      const percent = Math.min(100, ((max * 1.2) / n) * 100);
      const method = n > max * PAGE_SAMPLING_RATIO ? 'SYSTEM' : 'BERNOULLI';
      raw = (
        await this.pool.query<{ indicators: string; traits: string }>(
          `SELECT indicators, traits FROM customers TABLESAMPLE ${method} ($1) REPEATABLE (1) LIMIT $2`,
          [percent, max],
        )
      ).rows;
    }
    return { population: n, rows: raw.map(toSampleRow) };
  }
}
