import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event';
import { RapportError } from '../../src/domain/errors';
import { parseTransactionsCsv, summarizeTransactions, transactionsFromEvents } from '../../src/value/index';

const DAY = 86_400_000;
const t0 = Date.UTC(2024, 0, 1);

function ev(seq: number, event: string, userId: string, day: number, properties: Record<string, unknown>): StoredEvent {
  return {
    seq,
    messageId: `m${seq}`,
    type: 'track',
    userId,
    anonymousId: null,
    event,
    name: null,
    groupId: null,
    previousId: null,
    properties,
    traits: {},
    context: {},
    integrations: {},
    timestamp: t0 + day * DAY + 3_600_000,
    receivedAt: t0 + day * DAY,
    sentAt: null,
    sourceId: 'test',
  };
}

describe('transactionsFromEvents', () => {
  const events = [
    ev(1, 'Order Completed', 'u1', 0, { order_id: 'o1', revenue: 50 }),
    ev(2, 'Product Viewed', 'u1', 1, {}),
    ev(3, 'Order Completed', 'u1', 10, { order_id: 'o2', total: 30 }),
    ev(4, 'Order Refunded', 'u1', 12, { order_id: 'o2', revenue: 10 }),
    ev(5, 'Order Completed', 'u2', 3, { revenue: 20 }),
    ev(6, 'Order Refunded', 'u2', 3, { total: 25 }),
  ];

  it('picks Order Completed, reads revenue ?? total and subtracts refunds', async () => {
    const tx = await transactionsFromEvents(events);
    expect(tx).toEqual([
      { customerId: 'u1', time: events[0]!.timestamp, amount: 50 },
      { customerId: 'u1', time: events[2]!.timestamp, amount: 20 },
      { customerId: 'u2', time: events[4]!.timestamp, amount: 0 },
    ]);
  });

  it('accepts async iterables and a customer resolver; refunds can be turned off', async () => {
    async function* stream() {
      yield* events;
    }
    const tx = await transactionsFromEvents(stream(), (e) => `c-${e.userId}`, { subtractRefunds: false });
    expect(tx.map((t) => [t.customerId, t.amount])).toEqual([
      ['c-u1', 50],
      ['c-u1', 30],
      ['c-u2', 20],
    ]);
  });
});

describe('summarizeTransactions', () => {
  it('merges same-day purchases, counts repeat days, and measures T to the calibration-end day', () => {
    const tx = [
      { customerId: 'a', time: t0, amount: 10 },
      { customerId: 'a', time: t0 + 5 * 3_600_000, amount: 5 }, // same day
      { customerId: 'a', time: t0 + 7 * DAY, amount: 20 },
      { customerId: 'a', time: t0 + 14 * DAY + 1000, amount: 40 },
      { customerId: 'a', time: t0 + 30 * DAY, amount: 99 }, // after calibration
      { customerId: 'b', time: t0 + 21 * DAY, amount: 8 },
    ];
    const s = summarizeTransactions(tx, { calibrationEnd: t0 + 21 * DAY + 5000, unitDays: 7 });
    expect(s).toEqual([
      { customerId: 'a', x: 2, tx: 2, T: 3, monetary: 30, firstPurchase: t0, firstAmount: 15 },
      { customerId: 'b', x: 0, tx: 0, T: 0, monetary: 0, firstPurchase: t0 + 21 * DAY, firstAmount: 8 },
    ]);
  });
});

describe('parseTransactionsCsv', () => {
  it('reads ISO, YYYYMMDD and quoted fields', () => {
    const tx = parseTransactionsCsv('id,day,value\n"x,1",2024-01-02,3.5\ny,20240105,2\n', { customer: 'id', date: 'day', amount: 'value' });
    expect(tx).toEqual([
      { customerId: 'x,1', time: Date.UTC(2024, 0, 2), amount: 3.5 },
      { customerId: 'y', time: Date.UTC(2024, 0, 5), amount: 2 },
    ]);
  });

  it('names a missing column and a bad value', () => {
    expect(() => parseTransactionsCsv('id,day\na,2024-01-01\n', { customer: 'id', date: 'day', amount: 'value' })).toThrowError(/no column 'value'/);
    try {
      parseTransactionsCsv('id,day\na,2024-01-01\n', { customer: 'cust', date: 'day' });
    } catch (err) {
      expect((err as RapportError).code).toBe('missing_column');
    }
    expect(() => parseTransactionsCsv('id,day\na,someday\n', { customer: 'id', date: 'day' })).toThrowError(/line 2: cannot read date 'someday'/);
  });
});
