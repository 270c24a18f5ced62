import type { StoredEvent } from '../../domain/event';
import type {
  CustomerPage,
  CustomerQueries,
  CustomerQuery,
  CustomerRecord,
  TraitChange,
  TypeChange,
} from '../../ports/engine-store';
import { rowToCustomer, traitIndexValue } from '../shared/customer-row';
import { decodeEventRow, type EventRow } from '../shared/event-row';
import { decodeCursor, encodeCursor, SUMMARY_COLUMNS, toSummary, type SummaryRow as BaseSummaryRow } from '../shared/customer-summary';
import type { PostgresPool } from './open-pool';
import type { PostgresCustomerRow } from './postgres-engine-store';

type SummaryRow = BaseSummaryRow & { k?: string };


const DAY_MS = 86_400_000;

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

interface TypeHistoryRow {
  customer_id: string;
  lens: string;
  from_type: string | null;
  to_type: string;
  at: number;
  seq: number;
  message_id: string;
  event: string | null;
}

/**
 * Read side over PostgreSQL, same behaviour as the SQLite one: every list walks an index in key order and
 * pages with a keyset cursor (no OFFSET), so a page costs the same at 10M customers as at 1K.
 * Key columns are `COLLATE "C"`, so cursor comparisons are byte order and use the B-tree indexes.
 */
export class PostgresCustomerQueries implements CustomerQueries {
  constructor(private readonly pool: PostgresPool) {}

  async findCustomer(idOrIdentity: string): Promise<CustomerRecord | null> {
    const r = await this.pool.query<PostgresCustomerRow>(
      `SELECT * FROM customers WHERE id = COALESCE(
         (SELECT id FROM customers WHERE id = $1),
         (SELECT into_id FROM customer_merges WHERE from_id = $1),
         (SELECT customer_id FROM identities WHERE kind = 'user' AND value = $1),
         (SELECT customer_id FROM identities WHERE kind = 'anon' AND value = $1),
         (SELECT id FROM customers WHERE email = lower($1) LIMIT 1))`,
      [idOrIdentity],
    );
    return r.rows[0] ? rowToCustomer(r.rows[0]) : null;
  }

  async searchCustomers(q: CustomerQuery): Promise<CustomerPage> {
    const limit = Math.max(1, Math.min(q.limit, 500));
    const cursor = decodeCursor(q.cursor);
    const query = q.query?.trim() ?? '';
    const params: unknown[] = [limit + 1];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    let typeJoin = '';
    if (q.lens && q.type) {
      typeJoin = `JOIN customer_types t ON t.customer_id = c.id AND t.lens = ${p(q.lens)} AND t.type = ${p(q.type)}`;
    }
    let sql: string;
    let cursorOf: (r: SummaryRow) => unknown[];

    const trait = /^([A-Za-z0-9_.-]+):(.+)$/.exec(query);
    if (!query) {
      sql = `SELECT ${SUMMARY_COLUMNS} FROM customers c ${typeJoin} WHERE c.id > ${p(str(cursor?.[0]))} ORDER BY c.id LIMIT $1`;
      cursorOf = (r) => [r.id];
    } else if (trait && !query.includes('@')) {
      sql = `SELECT ${SUMMARY_COLUMNS} FROM customer_traits ct JOIN customers c ON c.id = ct.customer_id ${typeJoin}
             WHERE ct.key = ${p(trait[1])} AND ct.value = ${p(traitIndexValue(trait[2]))} AND ct.customer_id > ${p(str(cursor?.[0]))}
             ORDER BY ct.customer_id LIMIT $1`;
      cursorOf = (r) => [r.id];
    } else {
      // Prefix search over the email and name indexes plus exact identity matches; ordered by a sort key
      // k = branch digit + the branch's index key. Each branch walks its own index from the cursor and
      // stops after `limit + 1` rows, so a broad prefix ("a") costs one page, not every match.
      const prefix = query.toLowerCase();
      const qp = p(query);
      const lo = p(prefix);
      const hi = p(prefix + '\uffff');
      const afterK = str(cursor?.[0]);
      const afterId = str(cursor?.[1]);
      /** Keyset bound of one branch: none before it, the row after the cursor in it, nothing after it. */
      const bound = (branch: string, key: string): string => {
        if (!afterK || afterK[0]! < branch) return '';
        if (afterK[0]! > branch) return 'AND false';
        return `AND (${key}, c.id) > (${p(afterK.slice(1))}, ${p(afterId)})`;
      };
      sql = `SELECT * FROM (
               (SELECT ${SUMMARY_COLUMNS}, '0' || c.id AS k FROM customers c ${typeJoin}
                 WHERE c.id IN (SELECT customer_id FROM identities WHERE value = ${qp} UNION SELECT ${qp}::text) ${bound('0', 'c.id')}
                 ORDER BY c.id LIMIT $1)
               UNION ALL
               (SELECT ${SUMMARY_COLUMNS}, '1' || c.email AS k FROM customers c ${typeJoin}
                 WHERE c.email >= ${lo} AND c.email < ${hi} ${bound('1', 'c.email')}
                 ORDER BY c.email, c.id LIMIT $1)
               UNION ALL
               (SELECT ${SUMMARY_COLUMNS}, '2' || lower(c.name) AS k FROM customers c ${typeJoin}
                 WHERE lower(c.name) >= ${lo} AND lower(c.name) < ${hi} ${bound('2', 'lower(c.name)')}
                 ORDER BY lower(c.name), c.id LIMIT $1)
             ) s ORDER BY k COLLATE "C", id COLLATE "C" LIMIT $1`;
      cursorOf = (r) => [r.k, r.id];
    }
    const r = await this.pool.query<SummaryRow>(sql, params);
    const rows = r.rows;
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    // One customer can match by identity, email and name; show it once.
    const seen = new Set<string>();
    const customers = page.filter((x) => (seen.has(x.id) ? false : (seen.add(x.id), true))).map(toSummary);
    const last = page[page.length - 1];
    return { customers, nextCursor: more && last ? encodeCursor(cursorOf(last)) : null };
  }

  async recentEvents(customerId: string, limit: number): Promise<StoredEvent[]> {
    const r = await this.pool.query<EventRow>(
      `SELECT e.* FROM customer_events ce JOIN events e ON e.seq = ce.seq
       WHERE ce.customer_id = $1 ORDER BY ce.seq DESC LIMIT $2`,
      [customerId, limit],
    );
    return r.rows.map(decodeEventRow);
  }

  async typeHistory(customerId: string): Promise<TypeChange[]> {
    const r = await this.pool.query<TypeHistoryRow>(`SELECT * FROM type_history WHERE customer_id = $1 ORDER BY at, id`, [customerId]);
    return r.rows.map((x) => ({
      customerId: x.customer_id,
      lens: x.lens,
      from: x.from_type,
      to: x.to_type,
      at: x.at,
      seq: x.seq,
      messageId: x.message_id,
      event: x.event,
    }));
  }

  async traitHistory(customerId: string, limit: number): Promise<TraitChange[]> {
    const r = await this.pool.query<{ customer_id: string; key: string; value: string | null; at: number; seq: number }>(
      `SELECT * FROM trait_history WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT $2`,
      [customerId, limit],
    );
    return r.rows.map((x) => ({
      customerId: x.customer_id,
      key: x.key,
      value: x.value === null ? null : (JSON.parse(x.value) as unknown),
      at: x.at,
      seq: x.seq,
    }));
  }

  async distribution(lens: string, asOf?: number): Promise<Record<string, number>> {
    const r =
      asOf === undefined
        ? // Counters kept by the engine store's commits (see postgres-engine-store.ts): no scan.
          // One row per (type, partition) in the scaled-out mode (`part`; -1 otherwise): summed.
          await this.pool.query<{ type: string; n: number }>(`SELECT type, sum(n) AS n FROM customer_type_counts WHERE lens = $1 GROUP BY type HAVING sum(n) <> 0`, [lens])
        : // Per-day type deltas kept by the commits (migration 11), summed up to asOf's UTC day: proportional
          // to days x types, not to the history.
          await this.pool.query<{ type: string; n: number }>(
            `SELECT type, SUM(delta) AS n FROM type_daily WHERE lens = $1 AND day <= $2 GROUP BY type HAVING SUM(delta) > 0`,
            [lens, Math.floor(asOf / DAY_MS)],
          );
    const out: Record<string, number> = {};
    for (const x of r.rows) out[x.type] = x.n;
    return out;
  }

  async transitions(lens: string, from: number, to: number): Promise<Array<{ from: string | null; to: string; count: number }>> {
    // Whole UTC days come from the per-day counts (migration 13); the partial days at either end from the history.
    const firstDay = Math.ceil(from / DAY_MS);
    const endDay = Math.floor(to / DAY_MS);
    const r =
      firstDay < endDay
        ? await this.pool.query<{ from_type: string | null; to_type: string; n: number }>(
            `SELECT from_type, to_type, SUM(n) AS n FROM (
               SELECT NULLIF(from_type, '') AS from_type, to_type, n FROM transition_daily WHERE lens = $1 AND day >= $2 AND day < $3
               UNION ALL
               SELECT from_type, to_type, 1 FROM type_history WHERE lens = $1 AND at >= $4 AND at < $5
               UNION ALL
               SELECT from_type, to_type, 1 FROM type_history WHERE lens = $1 AND at >= $6 AND at < $7) z
             GROUP BY from_type, to_type ORDER BY n DESC, from_type NULLS FIRST, to_type`,
            [lens, firstDay, endDay, from, firstDay * DAY_MS, endDay * DAY_MS, to],
          )
        : await this.pool.query<{ from_type: string | null; to_type: string; n: number }>(
            `SELECT from_type, to_type, COUNT(*) AS n FROM type_history WHERE lens = $1 AND at >= $2 AND at < $3
             GROUP BY from_type, to_type ORDER BY n DESC, from_type NULLS FIRST, to_type`,
            [lens, from, to],
          );
    return r.rows.map((x) => ({ from: x.from_type, to: x.to_type, count: x.n }));
  }

  async latestEventTime(): Promise<number> {
    // Kept by the engine store's commits (GREATEST of last_seen); no index on a column every commit rewrites.
    // One row per partition processor in the scaled-out mode (`last_seen:p<N>`).
    const r = await this.pool.query<{ n: number | null }>(`SELECT max(n) AS n FROM engine_counts WHERE name = 'last_seen' OR name LIKE 'last\\_seen:p%'`);
    return r.rows[0]?.n ?? 0;
  }

  async countCustomers(): Promise<number> {
    // Kept by the engine store's commits; COUNT(*) would scan 10M rows.
    // One row per partition processor in the scaled-out mode (`customers:p<N>`); merges count on the plain row.
    const r = await this.pool.query<{ n: number | null }>(`SELECT sum(n) AS n FROM engine_counts WHERE name = 'customers' OR name LIKE 'customers:p%'`);
    return r.rows[0]?.n ?? 0;
  }
}
