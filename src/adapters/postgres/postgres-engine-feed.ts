import type { StoredEvent } from '../../domain/event';
import type { EngineFeed } from '../../ports/engine-feed';
import type { CustomerRecord, TypeChange } from '../../ports/engine-store';
import { rowToCustomer } from '../shared/customer-row';
import { decodeEventRow, type EventRow } from '../shared/event-row';
import type { PostgresPool } from './open-pool';
import type { PostgresCustomerRow } from './postgres-engine-store';

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

/** The engine feed over PostgreSQL (indexes `customer_events_seq`, `type_history_seq`). */
export class PostgresEngineFeed implements EngineFeed {
  constructor(private readonly pool: PostgresPool) {}

  async customersOfEvents(names: readonly string[]): Promise<Map<number, string>> {
    const r = await this.pool.query<{ seq: string | number; customer_id: string }>(
      `SELECT ce.seq AS seq, ce.customer_id AS customer_id FROM events e JOIN customer_events ce ON ce.seq = e.seq
       WHERE e.event = ANY($1::text[])`,
      [names],
    );
    return new Map(r.rows.map((row) => [Number(row.seq), row.customer_id]));
  }

  async eventsBetween(after: number, upto: number): Promise<Array<{ event: StoredEvent; customerId: string }>> {
    const r = await this.pool.query<EventRow & { customer_id: string }>(
      `SELECT e.*, ce.customer_id AS customer_id FROM customer_events ce JOIN events e ON e.seq = ce.seq
       WHERE ce.seq > $1 AND ce.seq <= $2 ORDER BY ce.seq`,
      [after, upto],
    );
    return r.rows.map((row) => ({ event: decodeEventRow(row), customerId: row.customer_id }));
  }

  async typeChangesBetween(after: number, upto: number): Promise<TypeChange[]> {
    const r = await this.pool.query<TypeHistoryRow>(`SELECT * FROM type_history WHERE seq > $1 AND seq <= $2 ORDER BY seq, id`, [after, upto]);
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

  async position(consumer: string): Promise<number> {
    const r = await this.pool.query<{ seq: number }>(`SELECT seq FROM engine_checkpoint WHERE name = $1`, [`consumer:${consumer}`]);
    return r.rows[0]?.seq ?? 0;
  }

  async setPosition(consumer: string, seq: number): Promise<void> {
    await this.pool.query(`INSERT INTO engine_checkpoint (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, [
      `consumer:${consumer}`,
      seq,
    ]);
  }

  async processed(): Promise<number> {
    const r = await this.pool.query<{ seq: number }>(`SELECT seq FROM engine_checkpoint WHERE name = 'processor'`);
    return r.rows[0]?.seq ?? 0;
  }

  async customers(ids: readonly string[]): Promise<CustomerRecord[]> {
    if (ids.length === 0) return [];
    const r = await this.pool.query<PostgresCustomerRow>(`SELECT * FROM customers WHERE id = ANY($1::text[]) ORDER BY id`, [[...ids]]);
    return r.rows.map(rowToCustomer);
  }

  async page(afterId: string, limit: number): Promise<CustomerRecord[]> {
    const r = await this.pool.query<PostgresCustomerRow>(`SELECT * FROM customers WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
    return r.rows.map(rowToCustomer);
  }
}
