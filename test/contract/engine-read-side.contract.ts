import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event';
import type { AutomationStore } from '../../src/ports/automation-store';
import type { EngineFeed } from '../../src/ports/engine-feed';
import type { EngineCommit, EngineStore } from '../../src/ports/engine-store';
import type { EventLog } from '../../src/ports/event-log';
import type { IndicatorReadModel } from '../../src/ports/indicator-read-model';
import type { ValueQueries } from '../../src/ports/value-queries';
import { sampleCustomer } from './engine-store.contract';
import { sampleEvent } from './event-log.contract';

/** A fresh store with the engine's read-side ports on it. */
export interface EngineReadSideFixture {
  log: EventLog;
  store: EngineStore;
  feed: EngineFeed;
  readModel: IndicatorReadModel;
  values: ValueQueries;
  /** Used only to record contacts (the economics measures). */
  automation: AutomationStore;
  close(): Promise<void> | void;
}

const T0 = Date.UTC(2025, 0, 1);

function batch(over: Partial<EngineCommit>): EngineCommit {
  return { customers: [], identities: [], merges: [], eventCustomers: [], typeChanges: [], traitChanges: [], checkpoint: 0, ...over };
}

const cls = (lens: string, type: string) => ({ lens, type, probability: 1, probabilities: { [type]: 1 }, evidence: [], since: T0 });

/**
 * The read side downstream of the processor — EngineFeed (automation), IndicatorReadModel (train,
 * discover) and ValueQueries (economics) — over the same committed state; every adapter must pass it.
 */
export function engineReadSideContract(name: string, factory: () => Promise<EngineReadSideFixture>): void {
  describe(`Engine read side contract: ${name}`, () => {
    let fx: EngineReadSideFixture;
    let events: StoredEvent[];
    beforeEach(async () => {
      fx = await factory();
      const out = await fx.log.append([sampleEvent(1), sampleEvent(2), sampleEvent(3)], { now: T0, dedupeWindowMs: 1000 });
      const appended = [sampleEvent(1), sampleEvent(2), sampleEvent(3)].map((e, i) => ({ ...e, seq: (out[i] as { seq: number }).seq }));
      events = appended;
      const [e1, e2, e3] = appended as [StoredEvent, StoredEvent, StoredEvent];
      await fx.store.commit(
        batch({
          customers: [
            sampleCustomer('a', { indicators: { revenue_total: 100, monetary_365d: 40, clv_12m: 30, support_contacts_total: 2, emails_delivered: 5 }, classifications: { lifecycle: cls('lifecycle', 'loyal') }, traits: { plan: 'pro' } }),
            sampleCustomer('b', { indicators: { revenue_total: 10, clv_12m: -5 }, classifications: { lifecycle: cls('lifecycle', 'loyal') } }),
            sampleCustomer('c', { indicators: {}, classifications: { lifecycle: cls('lifecycle', 'new') } }),
          ],
          identities: [
            { kind: 'user', value: 'user-a', customerId: 'a' },
            { kind: 'anon', value: 'anon-b', customerId: 'b' },
          ],
          eventCustomers: [
            { customerId: 'a', seq: e1.seq },
            { customerId: 'b', seq: e2.seq },
            { customerId: 'a', seq: e3.seq },
          ],
          typeChanges: [
            { customerId: 'a', lens: 'lifecycle', from: null, to: 'loyal', at: T0, seq: e1.seq, messageId: e1.messageId, event: e1.event },
            { customerId: 'b', lens: 'lifecycle', from: null, to: 'loyal', at: T0, seq: e2.seq, messageId: e2.messageId, event: e2.event },
          ],
          checkpoint: e3.seq,
        }),
      );
    });
    afterEach(async () => {
      await fx.close();
    });

    it('feeds processed events with their customers and type changes between positions', async () => {
      const [e1, e2, e3] = events as [StoredEvent, StoredEvent, StoredEvent];
      expect(await fx.feed.processed()).toBe(e3.seq);
      const between = await fx.feed.eventsBetween(e1.seq, e3.seq);
      expect(between).toEqual([
        { event: e2, customerId: 'b' },
        { event: e3, customerId: 'a' },
      ]);
      expect((await fx.feed.typeChangesBetween(0, e1.seq)).map((t) => [t.customerId, t.to])).toEqual([['a', 'loyal']]);
      expect((await fx.feed.typeChangesBetween(e1.seq, e3.seq)).map((t) => [t.customerId, t.to])).toEqual([['b', 'loyal']]);
    });

    it('keeps consumer positions apart from the processor checkpoint', async () => {
      expect(await fx.feed.position('automation')).toBe(0);
      await fx.feed.setPosition('automation', 2);
      await fx.feed.setPosition('automation', 3);
      expect(await fx.feed.position('automation')).toBe(3);
      expect(await fx.feed.position('other')).toBe(0);
      expect(await fx.store.checkpoint()).toBe((events[2] as StoredEvent).seq);
    });

    it('reads customers by id and in id pages', async () => {
      const got = await fx.feed.customers(['c', 'a', 'zz']);
      expect(got.map((c) => c.id).sort()).toEqual(['a', 'c']);
      expect((await fx.feed.page('', 2)).map((c) => c.id)).toEqual(['a', 'b']);
      expect((await fx.feed.page('b', 2)).map((c) => c.id)).toEqual(['c']);
      expect(await fx.feed.page('c', 2)).toEqual([]);
    });

    it('iterates every customer in id order and finds them by id, userId or anonymousId', async () => {
      const all = [];
      for await (const row of fx.readModel.iterate()) all.push(row);
      expect(all.map((r) => r.customerId)).toEqual(['a', 'b', 'c']);
      expect(all[0]).toEqual({
        customerId: 'a',
        indicators: { revenue_total: 100, monetary_365d: 40, clv_12m: 30, support_contacts_total: 2, emails_delivered: 5 },
        traits: { plan: 'pro' },
        types: { lifecycle: 'loyal' },
      });
      const got = await fx.readModel.get(['user-a', 'anon-b', 'c', 'nobody']);
      expect([...got.keys()].sort()).toEqual(['anon-b', 'c', 'user-a']);
      expect(got.get('user-a')?.customerId).toBe('a');
      expect(got.get('anon-b')?.customerId).toBe('b');
    });

    it('sums value and economics per type, with measures sent per channel', async () => {
      await fx.automation.complete([
        { actionId: 'x1', status: 'done', reason: null, now: T0, next: [], contact: { customerId: 'a', channel: 'email', at: T0, promotional: true, actionId: 'x1' } },
        { actionId: 'x2', status: 'done', reason: null, now: T0, next: [], contact: { customerId: 'b', channel: 'email', at: T0, promotional: true, actionId: 'x2' } },
        { actionId: 'x3', status: 'done', reason: null, now: T0, next: [], contact: { customerId: 'c', channel: 'webhook', at: T0, promotional: false, actionId: 'x3' } },
      ]);
      expect((await fx.values.revenues()).sort((x, y) => x - y)).toEqual([0, 10, 100]);
      expect(await fx.values.aggregatesByType('lifecycle')).toEqual([
        { type: 'loyal', customers: 2, revenue: 110, revenue365d: 40, clv12m: 30, supportContacts: 2, emailsDelivered: 5, measures: { email: 2 } },
        { type: 'new', customers: 1, revenue: 0, revenue365d: 0, clv12m: 0, supportContacts: 0, emailsDelivered: 0, measures: { webhook: 1 } },
      ]);
      expect(await fx.values.aggregatesByType('nope')).toEqual([]);
    });

    it('keeps per-type totals equal to a recomputation over the customers after type changes, merges and resets', async () => {
      type Ind = Record<string, number>;
      const live = new Map<string, { type: string; ind: Ind }>([
        ['a', { type: 'loyal', ind: { revenue_total: 100, monetary_365d: 40, clv_12m: 30, support_contacts_total: 2, emails_delivered: 5 } }],
        ['b', { type: 'loyal', ind: { revenue_total: 10, clv_12m: -5 } }],
        ['c', { type: 'new', ind: {} }],
      ]);
      // Brute force: the same sums the totals stand for, from the customers the test committed.
      const expected = () => {
        const by = new Map<string, { type: string; customers: number; revenue: number; revenue365d: number; clv12m: number; supportContacts: number; emailsDelivered: number; measures: Record<string, number> }>();
        for (const { type, ind } of live.values()) {
          const r = by.get(type) ?? { type, customers: 0, revenue: 0, revenue365d: 0, clv12m: 0, supportContacts: 0, emailsDelivered: 0, measures: {} };
          r.customers += 1;
          r.revenue += ind['revenue_total'] ?? 0;
          r.revenue365d += ind['monetary_365d'] ?? 0;
          r.clv12m += Math.max(ind['clv_12m'] ?? 0, 0);
          r.supportContacts += ind['support_contacts_total'] ?? 0;
          r.emailsDelivered += ind['emails_delivered'] ?? 0;
          by.set(type, r);
        }
        return [...by.values()].sort((x, y) => x.type.localeCompare(y.type));
      };
      const actual = async () => (await fx.values.aggregatesByType('lifecycle')).slice().sort((x, y) => x.type.localeCompare(y.type));
      const put = (id: string, type: string, ind: Ind) => {
        live.set(id, { type, ind });
        return sampleCustomer(id, { indicators: ind, classifications: { lifecycle: cls('lifecycle', type) } });
      };
      expect(await actual()).toEqual(expected());

      // Type changes and new indicator values for existing customers, plus a new customer.
      await fx.store.commit(
        batch({
          customers: [
            put('a', 'champion', { revenue_total: 150, monetary_365d: 90, clv_12m: 60, support_contacts_total: 3, emails_delivered: 8 }),
            put('c', 'loyal', { revenue_total: 7, clv_12m: 3, emails_delivered: 1 }),
            put('d', 'new', { revenue_total: 1 }),
          ],
          checkpoint: 10,
        }),
      );
      expect(await actual()).toEqual(expected());

      // b is merged into a: b's contribution leaves, a's is replaced.
      live.delete('b');
      await fx.store.commit(
        batch({
          merges: [{ from: 'b', into: 'a', at: T0 + 1000, seq: 11 }],
          customers: [put('a', 'champion', { revenue_total: 160, monetary_365d: 95, clv_12m: 55, support_contacts_total: 4, emails_delivered: 9 })],
          checkpoint: 11,
        }),
      );
      expect(await actual()).toEqual(expected());
      expect((await actual()).map((r) => r.customers).reduce((x, y) => x + y, 0)).toBe(3);

      // Reset clears the totals; a later commit counts from zero.
      await fx.store.reset();
      live.clear();
      expect(await fx.values.aggregatesByType('lifecycle')).toEqual([]);
      await fx.store.commit(batch({ customers: [put('e', 'new', { revenue_total: 4, clv_12m: 2 })], checkpoint: 12 }));
      expect(await actual()).toEqual(expected());
    });
  });
}
