import type { StoredEvent } from '../../domain/event';
import type {
  CustomerPage,
  CustomerQueries,
  CustomerQuery,
  CustomerRecord,
  CustomerSummary,
  TraitChange,
  TypeChange,
} from '../../ports/engine-store';
import type { SqliteDatabase } from './open-database';
import { rowToCustomer, traitIndexValue } from '../shared/customer-row';
import { decodeCursor, encodeCursor, SUMMARY_COLUMNS, toSummary, type SummaryRow } from '../shared/customer-summary';
import { decodeEventRow } from '../shared/event-row';

const DAY_MS = 86_400_000;

/**
 * Read side over the embedded store. Every list query walks an index in key order and pages with a
 * keyset cursor, so a page costs the same at 1M customers as at 1K.
 */
export class SqliteCustomerQueries implements CustomerQueries {
  constructor(private readonly db: SqliteDatabase) {}

  async findCustomer(idOrIdentity: string): Promise<CustomerRecord | null> {
    const row = this.db
      .prepare(
        `SELECT * FROM customers WHERE id = COALESCE(
           (SELECT id FROM customers WHERE id = @q),
           (SELECT into_id FROM customer_merges WHERE from_id = @q),
           (SELECT customer_id FROM identities WHERE kind = 'user' AND value = @q),
           (SELECT customer_id FROM identities WHERE kind = 'anon' AND value = @q),
           (SELECT id FROM customers WHERE email = lower(@q) LIMIT 1))`,
      )
      .get({ q: idOrIdentity }) as Parameters<typeof rowToCustomer>[0] | undefined;
    return row ? rowToCustomer(row) : null;
  }

  async searchCustomers(q: CustomerQuery): Promise<CustomerPage> {
    const limit = Math.max(1, Math.min(q.limit, 500));
    const cursor = decodeCursor(q.cursor);
    const query = q.query?.trim() ?? '';
    const typeFilter = q.lens && q.type ? { lens: q.lens, type: q.type } : null;
    const typeJoin = typeFilter ? `JOIN customer_types t ON t.customer_id = c.id AND t.lens = @lens AND t.type = @type` : '';
    const params: Record<string, unknown> = { limit: limit + 1, ...(typeFilter ?? {}) };
    let sql: string;
    let cursorOf: (r: SummaryRow & { k?: string }) => unknown[];

    const trait = /^([A-Za-z0-9_.-]+):(.+)$/.exec(query);
    if (!query) {
      params['after'] = (cursor?.[0] as string) ?? '';
      sql = `SELECT ${SUMMARY_COLUMNS} FROM customers c ${typeJoin} WHERE c.id > @after ORDER BY c.id LIMIT @limit`;
      cursorOf = (r) => [r.id];
    } else if (trait && !query.includes('@')) {
      params['key'] = trait[1];
      params['value'] = traitIndexValue(trait[2]);
      params['after'] = (cursor?.[0] as string) ?? '';
      sql = `SELECT ${SUMMARY_COLUMNS} FROM customer_traits ct JOIN customers c ON c.id = ct.customer_id ${typeJoin}
             WHERE ct.key = @key AND ct.value = @value AND ct.customer_id > @after ORDER BY ct.customer_id LIMIT @limit`;
      cursorOf = (r) => [r.id];
    } else {
      return this.prefixSearch(query, limit, cursor, typeJoin, typeFilter);
    }
    const rows = this.db.prepare(sql).all(params) as Array<SummaryRow & { k?: string }>;
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    // One customer can match by identity, email and name; show it once.
    const seen = new Set<string>();
    const customers = page.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true))).map(toSummary);
    const last = page[page.length - 1];
    return { customers, nextCursor: more && last ? encodeCursor(cursorOf(last)) : null };
  }

  /**
   * Exact identity matches, then e-mail prefix, then name prefix. Each part walks its own index in key
   * order and stops after one page, so a short prefix matching millions of customers costs one page.
   */
  private prefixSearch(
    query: string,
    limit: number,
    cursor: unknown[] | null,
    typeJoin: string,
    typeFilter: { lens: string; type: string } | null,
  ): CustomerPage {
    const lo = query.toLowerCase();
    const hi = lo + '\uffff';
    const part = Number(cursor?.[0] ?? 0);
    const afterKey = (cursor?.[1] as string) ?? '';
    const afterId = (cursor?.[2] as string) ?? '';
    const base = { ...(typeFilter ?? {}), limit: limit + 1 };
    const parts: Array<{ sql: string; key: (r: SummaryRow) => string; params: Record<string, unknown> }> = [
      {
        sql: `SELECT ${SUMMARY_COLUMNS} FROM customers c ${typeJoin}
              WHERE c.id IN (SELECT customer_id FROM identities WHERE value = @q UNION SELECT @q) AND c.id > @afterId
              ORDER BY c.id LIMIT @limit`,
        key: (r) => r.id,
        params: { q: query },
      },
      {
        sql: `SELECT ${SUMMARY_COLUMNS} FROM customers c ${typeJoin}
              WHERE c.email >= @lo AND c.email < @hi AND (c.email > @afterKey OR (c.email = @afterKey AND c.id > @afterId))
              ORDER BY c.email, c.id LIMIT @limit`,
        key: (r) => r.email ?? '',
        params: { lo, hi },
      },
      {
        sql: `SELECT ${SUMMARY_COLUMNS} FROM customers c ${typeJoin}
              WHERE c.name >= @lo COLLATE NOCASE AND c.name < @hi COLLATE NOCASE
                AND (c.name > @afterKey COLLATE NOCASE OR (c.name = @afterKey COLLATE NOCASE AND c.id > @afterId))
              ORDER BY c.name COLLATE NOCASE, c.id LIMIT @limit`,
        key: (r) => r.name ?? '',
        params: { lo, hi },
      },
    ];
    const out: CustomerSummary[] = [];
    const seen = new Set<string>();
    let last: { part: number; key: string; id: string } | null = null;
    let more = false;
    for (let p = part; p < parts.length; p++) {
      const spec = parts[p]!;
      const first = p === part;
      const rows = this.db
        .prepare(spec.sql)
        .all({ ...base, ...spec.params, afterKey: first ? afterKey : '', afterId: first ? afterId : '' }) as SummaryRow[];
      for (const r of rows) {
        if (out.length === limit) {
          more = true;
          break;
        }
        last = { part: p, key: spec.key(r), id: r.id };
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        out.push(toSummary(r));
      }
      if (more) break;
    }
    // A page that ends exactly at a part's end may be followed by one empty page.
    const next = (more || out.length === limit) && last ? encodeCursor([last.part, last.key, last.id]) : null;
    return { customers: out, nextCursor: next };
  }

  async recentEvents(customerId: string, limit: number): Promise<StoredEvent[]> {
    const rows = this.db
      .prepare(
        `SELECT e.* FROM customer_events ce JOIN events e ON e.seq = ce.seq
         WHERE ce.customer_id = ? ORDER BY ce.seq DESC LIMIT ?`,
      )
      .all(customerId, limit) as Parameters<typeof decodeEventRow>[0][];
    return rows.map(decodeEventRow);
  }

  async typeHistory(customerId: string): Promise<TypeChange[]> {
    const rows = this.db
      .prepare(`SELECT * FROM type_history WHERE customer_id = ? ORDER BY at, id`)
      .all(customerId) as Array<{
      customer_id: string;
      lens: string;
      from_type: string | null;
      to_type: string;
      at: number;
      seq: number;
      message_id: string;
      event: string | null;
    }>;
    return rows.map((r) => ({
      customerId: r.customer_id,
      lens: r.lens,
      from: r.from_type,
      to: r.to_type,
      at: r.at,
      seq: r.seq,
      messageId: r.message_id,
      event: r.event,
    }));
  }

  async traitHistory(customerId: string, limit: number): Promise<TraitChange[]> {
    const rows = this.db
      .prepare(`SELECT * FROM trait_history WHERE customer_id = ? ORDER BY at DESC, id DESC LIMIT ?`)
      .all(customerId, limit) as Array<{ customer_id: string; key: string; value: string | null; at: number; seq: number }>;
    return rows.map((r) => ({
      customerId: r.customer_id,
      key: r.key,
      value: r.value === null ? null : (JSON.parse(r.value) as unknown),
      at: r.at,
      seq: r.seq,
    }));
  }

  async distribution(lens: string, asOf?: number): Promise<Record<string, number>> {
    const rows =
      asOf === undefined
        ? (this.db
            .prepare(`SELECT type, COUNT(*) AS n FROM customer_types WHERE lens = ? GROUP BY type`)
            .all(lens) as Array<{ type: string; n: number }>)
        : (this.db
            .prepare(
              `SELECT type, SUM(delta) AS n FROM type_daily WHERE lens = @lens AND day <= @day
               GROUP BY type HAVING SUM(delta) > 0`,
            )
            .all({ lens, day: Math.floor(asOf / 86_400_000) }) as Array<{ type: string; n: number }>);
    const out: Record<string, number> = {};
    for (const r of rows) out[r.type] = r.n;
    return out;
  }

  async transitions(lens: string, from: number, to: number): Promise<Array<{ from: string | null; to: string; count: number }>> {
    // Whole UTC days come from the per-day counts (migration 16); the partial days at either end from the history.
    const firstDay = Math.ceil(from / DAY_MS);
    const endDay = Math.floor(to / DAY_MS);
    const rows = (
      firstDay < endDay
        ? this.db
            .prepare(
              `SELECT from_type, to_type, SUM(n) AS n FROM (
                 SELECT NULLIF(from_type, '') AS from_type, to_type, n FROM transition_daily WHERE lens = ? AND day >= ? AND day < ?
                 UNION ALL
                 SELECT from_type, to_type, 1 FROM type_history WHERE lens = ? AND at >= ? AND at < ?
                 UNION ALL
                 SELECT from_type, to_type, 1 FROM type_history WHERE lens = ? AND at >= ? AND at < ?)
               GROUP BY from_type, to_type ORDER BY n DESC`,
            )
            .all(lens, firstDay, endDay, lens, from, firstDay * DAY_MS, lens, endDay * DAY_MS, to)
        : this.db
            .prepare(
              `SELECT from_type, to_type, COUNT(*) AS n FROM type_history WHERE lens = ? AND at >= ? AND at < ?
               GROUP BY from_type, to_type ORDER BY n DESC`,
            )
            .all(lens, from, to)
    ) as Array<{ from_type: string | null; to_type: string; n: number }>;
    return rows.map((r) => ({ from: r.from_type, to: r.to_type, count: r.n }));
  }

  async latestEventTime(): Promise<number> {
    return (this.db.prepare('SELECT MAX(last_seen) AS t FROM customers').get() as { t: number | null }).t ?? 0;
  }

  async countCustomers(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM customers').get() as { n: number }).n;
  }
}
