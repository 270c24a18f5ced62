import type { IndicatorReadModel, IndicatorRow } from '../../ports/indicator-read-model';
import type { PostgresPool } from './open-pool';

interface Row {
  id: string;
  indicators: string;
  traits: string;
  classifications: string;
}

function toRow(r: Row): IndicatorRow {
  const cls = JSON.parse(r.classifications) as Record<string, { type: string }>;
  const types: Record<string, string> = {};
  for (const [lens, c] of Object.entries(cls)) types[lens] = c.type;
  return {
    customerId: r.id,
    indicators: JSON.parse(r.indicators) as Record<string, number>,
    traits: JSON.parse(r.traits) as Record<string, unknown>,
    types,
  };
}

const PAGE = 2000;

/** The indicator read model over the PostgreSQL engine store: customers by id (keyset pages of 2,000). */
export class PostgresIndicatorReadModel implements IndicatorReadModel {
  constructor(
    private readonly pool: PostgresPool,
    private readonly onClose?: () => Promise<void>,
  ) {}

  async *iterate(): AsyncIterable<IndicatorRow> {
    let after = '';
    for (;;) {
      const r = await this.pool.query<Row>(
        `SELECT id, indicators, traits, classifications FROM customers WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, PAGE],
      );
      if (r.rows.length === 0) return;
      for (const row of r.rows) yield toRow(row);
      after = (r.rows[r.rows.length - 1] as Row).id;
    }
  }

  async get(ids: readonly string[]): Promise<Map<string, IndicatorRow>> {
    const out = new Map<string, IndicatorRow>();
    if (ids.length === 0) return out;
    // Each asked id may be a customer id, a userId or an anonymousId.
    const r = await this.pool.query<Row & { asked: string }>(
      `SELECT c.id, c.indicators, c.traits, c.classifications, q.asked FROM (
         SELECT a AS asked, COALESCE(
           (SELECT id FROM customers WHERE id = a),
           (SELECT customer_id FROM identities WHERE kind = 'user' AND value = a),
           (SELECT customer_id FROM identities WHERE kind = 'anon' AND value = a)) AS cid
         FROM unnest($1::text[]) AS a) q JOIN customers c ON c.id = q.cid`,
      [[...ids]],
    );
    for (const row of r.rows) out.set(row.asked, toRow(row));
    return out;
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
