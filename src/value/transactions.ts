/**
 * Sources of transactions for the value models: the event log ('Order Completed' events),
 * a CSV file with customer/date/amount columns, and the CDNOW text format used by the tests.
 */
import { parse } from 'csv-parse/sync';
import type { StoredEvent } from '../domain/event';
import { ValidationError } from '../domain/errors';
import { VOCABULARY } from '../domain/vocabulary';
import type { Transaction } from './summary';

/** Customer key of an event: userId, else anonymousId (identity resolution happens upstream). */
export function defaultCustomerOf(e: StoredEvent): string {
  return e.userId ?? e.anonymousId ?? '';
}

/** Revenue of an order event: properties.revenue, else properties.total, else 0. */
export function orderRevenue(e: StoredEvent): number {
  const p = e.properties;
  const v = typeof p['revenue'] === 'number' ? p['revenue'] : typeof p['total'] === 'number' ? p['total'] : Number(p['revenue'] ?? p['total'] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

/** Options for {@link transactionsFromEvents}. */
export interface FromEventsOptions {
  /** Subtract 'Order Refunded' amounts from the matching order (by order_id) or the same customer-day. Default true. */
  subtractRefunds?: boolean;
}

/**
 * Picks purchases out of an event stream: each 'Order Completed' track event becomes a transaction
 * (revenue = properties.revenue ?? properties.total). 'Order Refunded' events reduce the refunded
 * order's amount (matched by order_id; without one, the customer's order on the same day), never below 0.
 * Events without a customer key are skipped. Works on arrays, generators and async iterables.
 */
export async function transactionsFromEvents(
  events: Iterable<StoredEvent> | AsyncIterable<StoredEvent>,
  resolveCustomer: (e: StoredEvent) => string = defaultCustomerOf,
  opts: FromEventsOptions = {},
): Promise<Transaction[]> {
  const subtract = opts.subtractRefunds ?? true;
  const out: Transaction[] = [];
  const byOrder = new Map<string, Transaction>();
  const refunds: { customerId: string; time: number; orderId: string | null; amount: number }[] = [];
  for await (const e of events as AsyncIterable<StoredEvent>) {
    if (e.type !== 'track') continue;
    if (e.event === VOCABULARY.orderCompleted) {
      const customerId = resolveCustomer(e);
      if (!customerId) continue;
      const t: Transaction = { customerId, time: e.timestamp, amount: orderRevenue(e) };
      out.push(t);
      const orderId = e.properties['order_id'];
      if (orderId !== undefined && orderId !== null) byOrder.set(String(orderId), t);
    } else if (subtract && e.event === VOCABULARY.orderRefunded) {
      const customerId = resolveCustomer(e);
      const orderId = e.properties['order_id'];
      refunds.push({ customerId, time: e.timestamp, orderId: orderId == null ? null : String(orderId), amount: Math.abs(orderRevenue(e)) });
    }
  }
  // Refunds may arrive after their order in the log; apply them once everything is read.
  for (const r of refunds) {
    let target = r.orderId !== null ? byOrder.get(r.orderId) : undefined;
    if (!target && r.customerId) {
      const day = Math.floor(r.time / 86_400_000);
      target = out.find((t) => t.customerId === r.customerId && Math.floor(t.time / 86_400_000) === day);
    }
    if (target) target.amount = Math.max(0, target.amount - r.amount);
  }
  return out;
}

/** Column names for {@link parseTransactionsCsv}. */
export interface CsvColumns {
  customer: string;
  date: string;
  amount?: string;
}

/**
 * Parses a CSV with a header row into transactions. Dates may be ISO (`2024-05-01`, with or
 * without time), `YYYYMMDD`, or epoch milliseconds; date-only values are UTC days. Amount defaults to 0
 * when no amount column is named. Throws ValidationError('missing_column') naming a missing column,
 * and ValidationError('invalid_input') naming the line of an unparseable date or amount.
 */
export function parseTransactionsCsv(text: string, cols: CsvColumns): Transaction[] {
  const records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  const header = records.length > 0 ? Object.keys(records[0]!) : headerOf(text);
  for (const [role, name] of Object.entries(cols)) {
    if (name !== undefined && !header.includes(name)) {
      throw new ValidationError(`CSV has no column '${name}' (for --${role}); columns are: ${header.join(', ')}`, { column: name }, 'missing_column');
    }
  }
  return records.map((row, i) => {
    const line = i + 2;
    const time = parseDate(row[cols.date] ?? '');
    if (time === null) throw new ValidationError(`line ${line}: cannot read date '${row[cols.date]}' in column '${cols.date}'`);
    let amount = 0;
    if (cols.amount) {
      amount = Number(row[cols.amount]);
      if (!Number.isFinite(amount)) throw new ValidationError(`line ${line}: amount '${row[cols.amount]}' in column '${cols.amount}' is not a number`);
    }
    return { customerId: row[cols.customer] ?? '', time, amount };
  });
}

function headerOf(text: string): string[] {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.length > 0 ? ((parse(first) as string[][])[0] ?? []) : [];
}

/** Reads a date value: YYYYMMDD, ISO date/time, or epoch ms. Returns ms or null. */
export function parseDate(v: string): number | null {
  const s = v.trim();
  if (/^\d{8}$/.test(s)) return Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)));
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00Z`);
    return Number.isNaN(t) ? null : t;
  }
  if (/^\d{11,}$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/**
 * Parses the CDNOW text formats (whitespace-separated): the master file
 * (`customer_id date number_of_cds dollar_value`, with a header) or the sample file
 * (`master_id sample_id date cds dollars`, no header; the sample id becomes the customer id).
 */
export function parseCdnow(text: string): Transaction[] {
  const out: Transaction[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[0]!)) continue;
    const sample = f.length >= 5;
    const id = sample ? f[1]! : f[0]!;
    const date = sample ? f[2]! : f[1]!;
    const amount = Number(sample ? f[4] : f[3]);
    out.push({ customerId: String(Number(id)), time: parseDate(date)!, amount });
  }
  return out;
}
