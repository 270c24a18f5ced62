import type { IndicatorReadModel, IndicatorRow } from '../../ports/indicator-read-model';
import type { SqliteDatabase } from './open-database';

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

/** The indicator read model over the embedded engine store: customers by id, in pages of 2,000. */
export class SqliteIndicatorReadModel implements IndicatorReadModel {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly onClose?: () => void,
  ) {}

  async *iterate(): AsyncIterable<IndicatorRow> {
    const page = this.db.prepare<[string], Row>(
      `SELECT id, indicators, traits, classifications FROM customers WHERE id > ? ORDER BY id LIMIT 2000`,
    );
    let after = '';
    for (;;) {
      const rows = page.all(after);
      if (rows.length === 0) return;
      for (const r of rows) yield toRow(r);
      after = rows[rows.length - 1]!.id;
    }
  }

  async get(ids: readonly string[]): Promise<Map<string, IndicatorRow>> {
    const out = new Map<string, IndicatorRow>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(
          `SELECT c.id, c.indicators, c.traits, c.classifications, q.asked FROM (
             SELECT value AS asked, COALESCE(
               (SELECT id FROM customers WHERE id = value),
               (SELECT customer_id FROM identities WHERE kind = 'user' AND identities.value = j.value),
               (SELECT customer_id FROM identities WHERE kind = 'anon' AND identities.value = j.value)) AS cid
             FROM json_each(?) j) q JOIN customers c ON c.id = q.cid`,
        )
        .all(JSON.stringify(chunk)) as Array<Row & { asked: string }>;
      for (const r of rows) out.set(r.asked, toRow(r));
    }
    return out;
  }

  async close(): Promise<void> {
    this.onClose?.();
  }
}
