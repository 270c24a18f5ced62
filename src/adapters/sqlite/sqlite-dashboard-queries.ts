import type { CustomerFilter, DashboardQueries, FilteredCustomer, FilteredPage, PopulationSample } from '../../ports/dashboard-queries';
import type { SqliteDatabase } from './open-database';
import { SUMMARY_COLUMNS, toSummary, type SummaryRow } from './sqlite-customer-queries';

/** A row of the filtered list as both adapters select it. */
export interface FilteredRow extends SummaryRow {
  clv: number | null;
  p_alive: number | null;
  probability: number | null;
}

/** A filtered row as the port returns it (shared with the PostgreSQL adapter). */
export function toFilteredCustomer(r: FilteredRow): FilteredCustomer {
  return { ...toSummary(r), clv12m: r.clv, pAlive: r.p_alive, probability: r.probability };
}

/**
 * The page from a window's matching rows (`limit + 1` asked): a full page continues after its last row;
 * a short one after the window's end, unless the window reached the end of the table (shared with the
 * PostgreSQL adapter).
 */
export async function windowPage(
  rows: FilteredRow[],
  q: Pick<CustomerFilter, 'limit' | 'window'>,
  windowEnd: () => Promise<{ last: string | null; n: number } | undefined>,
): Promise<FilteredPage> {
  let nextAfter: string | null = null;
  let exhausted = false;
  if (rows.length > q.limit) {
    rows.length = q.limit;
    nextAfter = rows[rows.length - 1]!.id;
  } else {
    const end = await windowEnd();
    if (end && end.n === q.window && end.last) nextAfter = end.last;
    else exhausted = true;
  }
  return { customers: rows.map(toFilteredCustomer), nextAfter, exhausted };
}

/** Parses stored indicator and trait JSON into a sample row (shared with the PostgreSQL adapter). */
export function toSampleRow(r: { indicators: string; traits: string }): PopulationSample['rows'][number] {
  return { indicators: JSON.parse(r.indicators) as Record<string, number>, traits: JSON.parse(r.traits) as Record<string, unknown> };
}

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
