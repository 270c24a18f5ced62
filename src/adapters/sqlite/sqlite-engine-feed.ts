import { withoutFsync } from './without-fsync';
import type { StoredEvent } from '../../domain/event';
import type { EngineFeed } from '../../ports/engine-feed';
import type { CustomerRecord, TypeChange } from '../../ports/engine-store';
import type { SqliteDatabase } from './open-database';
import { rowToCustomer } from '../shared/customer-row';
import { decodeEventRow } from '../shared/event-row';

type CustomerRow = Parameters<typeof rowToCustomer>[0];

/** The engine feed over the embedded store. */
export class SqliteEngineFeed implements EngineFeed {
  private readonly setPositionStmt;

  constructor(private readonly db: SqliteDatabase) {
    this.setPositionStmt = db.prepare(`INSERT INTO engine_checkpoint (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`);
  }

  async eventsBetween(after: number, upto: number): Promise<Array<{ event: StoredEvent; customerId: string }>> {
    const rows = this.db
      .prepare(
        `SELECT e.*, ce.customer_id AS customer_id FROM customer_events ce JOIN events e ON e.seq = ce.seq
         WHERE ce.seq > ? AND ce.seq <= ? ORDER BY ce.seq`,
      )
      .all(after, upto) as Array<Parameters<typeof decodeEventRow>[0] & { customer_id: string }>;
    return rows.map((r) => ({ event: decodeEventRow(r), customerId: r.customer_id }));
  }

  async customersOfEvents(names: readonly string[]): Promise<Map<number, string>> {
    const rows = this.db
      .prepare(
        `SELECT ce.seq AS seq, ce.customer_id AS customer_id FROM events e JOIN customer_events ce ON ce.seq = e.seq
         WHERE e.event IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(names)) as Array<{ seq: number; customer_id: string }>;
    return new Map(rows.map((r) => [r.seq, r.customer_id]));
  }

  async typeChangesBetween(after: number, upto: number): Promise<TypeChange[]> {
    const rows = this.db
      .prepare(`SELECT * FROM type_history WHERE seq > ? AND seq <= ? ORDER BY seq, id`)
      .all(after, upto) as Array<{ customer_id: string; lens: string; from_type: string | null; to_type: string; at: number; seq: number; message_id: string; event: string | null }>;
    return rows.map((r) => ({ customerId: r.customer_id, lens: r.lens, from: r.from_type, to: r.to_type, at: r.at, seq: r.seq, messageId: r.message_id, event: r.event }));
  }

  async position(consumer: string): Promise<number> {
    const row = this.db.prepare(`SELECT seq FROM engine_checkpoint WHERE name = ?`).get(`consumer:${consumer}`) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async setPosition(consumer: string, seq: number): Promise<void> {
    // No fsync (as the engine's commits): a position lost in a crash only re-reads a range, which consumers
    // handle idempotently; with FULL every processed batch blocked this thread on the disk once more.
    withoutFsync(this.db, () => this.setPositionStmt.run(`consumer:${consumer}`, seq));
  }

  async processed(): Promise<number> {
    const row = this.db.prepare(`SELECT seq FROM engine_checkpoint WHERE name = 'processor'`).get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async customers(ids: readonly string[]): Promise<CustomerRecord[]> {
    const out: CustomerRecord[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM customers WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(chunk)) as CustomerRow[];
      for (const r of rows) out.push(rowToCustomer(r));
    }
    return out;
  }

  async page(afterId: string, limit: number): Promise<CustomerRecord[]> {
    return (this.db.prepare(`SELECT * FROM customers WHERE id > ? ORDER BY id LIMIT ?`).all(afterId, limit) as CustomerRow[]).map(rowToCustomer);
  }
}
