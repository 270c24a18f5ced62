import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event';
import type { CustomerQueries, CustomerRecord, EngineCommit, EngineStore, StoredClassification } from '../../src/ports/engine-store';
import type { EventLog } from '../../src/ports/event-log';
import { createRng } from '../../src/domain/random';
import { sampleEvent } from './event-log.contract';

/** A fresh, empty store for one test: the event log it reads events from, the engine store and its read side. */
export interface EngineStoreFixture {
  log: EventLog;
  store: EngineStore;
  queries: CustomerQueries;
  close(): Promise<void> | void;
}

const T0 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

function classification(lens: string, type: string, since: number): StoredClassification {
  return { lens, type, probability: 0.75, probabilities: { [type]: 0.75, other: 0.25 }, evidence: [{ indicator: 'x', value: 1 }], since };
}

/** A complete customer record; `over` replaces fields. */
export function sampleCustomer(id: string, over: Partial<CustomerRecord> = {}): CustomerRecord {
  return {
    id,
    userId: `user-${id}`,
    anonymousIds: [`anon-${id}`],
    email: `${id}@example.com`,
    traits: { name: `Name ${id}`, plan: 'Pro' },
    traitTimes: { name: T0, plan: T0 },
    groups: [],
    firstSeen: T0,
    lastSeen: T0 + DAY,
    eventCount: 1,
    state: new Uint8Array([1, 2, 3, 0, 255]),
    classifications: { lifecycle: classification('lifecycle', 'new', T0) },
    indicators: { recency_days: 1.5 },
    purchaseDays: null,
    ...over,
  };
}

/** A commit with defaults for everything not given. */
function batch(over: Partial<EngineCommit>): EngineCommit {
  return { customers: [], identities: [], merges: [], eventCustomers: [], typeChanges: [], traitChanges: [], checkpoint: 0, ...over };
}

function identitiesOf(c: CustomerRecord): EngineCommit['identities'] {
  return [
    ...(c.userId ? [{ kind: 'user' as const, value: c.userId, customerId: c.id }] : []),
    ...c.anonymousIds.map((a) => ({ kind: 'anon' as const, value: a, customerId: c.id })),
  ];
}

/**
 * The EngineStore + CustomerQueries contract: every adapter (SQLite, PostgreSQL, ...) must pass it
 * unchanged. `factory` makes a fresh empty store per test.
 */
export function engineStoreContract(name: string, factory: () => Promise<EngineStoreFixture>): void {
  describe(`EngineStore contract: ${name}`, () => {
    let fx: EngineStoreFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    /** Appends events to the log and returns them with their seqs. */
    async function logEvents(events: StoredEvent[]): Promise<StoredEvent[]> {
      const out = await fx.log.append(events, { now: T0, dedupeWindowMs: DAY });
      return events.map((e, i) => {
        const o = out[i];
        if (!o || !('seq' in o)) throw new Error('event was not appended');
        return { ...e, seq: o.seq };
      });
    }

    /** Commits customers with their identities and one event each. */
    async function seed(customers: CustomerRecord[], checkpoint = 1): Promise<StoredEvent[]> {
      const events = await logEvents(customers.map((c, i) => sampleEvent(1000 + i, { userId: c.userId, messageId: `seed-${c.id}` })));
      await fx.store.commit(
        batch({
          customers,
          identities: customers.flatMap(identitiesOf),
          eventCustomers: customers.map((c, i) => ({ customerId: c.id, seq: (events[i] as StoredEvent).seq })),
          checkpoint,
        }),
      );
      return events;
    }

    it('starts empty', async () => {
      expect(await fx.store.checkpoint()).toBe(0);
      expect(await fx.store.resolveIdentities([{ kind: 'user', value: 'u' }])).toEqual(new Map());
      expect(await fx.store.loadCustomers(['c1'])).toEqual(new Map());
      expect(await fx.store.eventsOf('c1')).toEqual([]);
      expect(await fx.store.loadValueState()).toEqual({ state: null, purchases: [] });
      expect(await fx.queries.countCustomers()).toBe(0);
      expect(await fx.queries.findCustomer('c1')).toBeNull();
      expect(await fx.queries.searchCustomers({ limit: 10 })).toEqual({ customers: [], nextCursor: null });
      expect(await fx.queries.distribution('lifecycle')).toEqual({});
    });

    it('round-trips a customer record, its identities and the checkpoint', async () => {
      const c = sampleCustomer('c1', {
        traits: { name: 'Ada', nested: { a: [1, 'two', null] }, 'ü': '😀' },
        groups: ['g1', 'g2'],
        purchaseDays: [10, 40, 2, 33.5],
        classifications: { lifecycle: classification('lifecycle', 'loyal', T0), value: classification('value', 'heavy', T0 + 5) },
      });
      await seed([c], 7);
      expect(await fx.store.checkpoint()).toBe(7);
      expect((await fx.store.loadCustomers(['c1', 'nope'])).get('c1')).toEqual(c);
      expect([...(await fx.store.loadCustomers(['c1', 'nope'])).keys()]).toEqual(['c1']);
      const ids = await fx.store.resolveIdentities([
        { kind: 'user', value: 'user-c1' },
        { kind: 'anon', value: 'anon-c1' },
        { kind: 'anon', value: 'user-c1' },
      ]);
      expect(ids).toEqual(new Map([['user:user-c1', 'c1'], ['anon:anon-c1', 'c1']]));
      expect(await fx.queries.findCustomer('c1')).toEqual(c);
      expect((await fx.queries.findCustomer('user-c1'))?.id).toBe('c1');
      expect((await fx.queries.findCustomer('anon-c1'))?.id).toBe('c1');
      expect((await fx.queries.findCustomer('C1@Example.com'))?.id).toBe('c1');
      expect(await fx.queries.countCustomers()).toBe(1);
    });

    it('stores a customer without state, email or user id', async () => {
      const c = sampleCustomer('c2', { userId: null, email: null, state: null, traits: {}, traitTimes: {}, classifications: {} });
      await seed([c]);
      expect((await fx.store.loadCustomers(['c2'])).get('c2')).toEqual(c);
    });

    it('a later commit replaces the customer and its current types', async () => {
      await seed([sampleCustomer('c1')]);
      const updated = sampleCustomer('c1', {
        eventCount: 5,
        lastSeen: T0 + 3 * DAY,
        classifications: { lifecycle: classification('lifecycle', 'loyal', T0 + 3 * DAY) },
      });
      await fx.store.commit(batch({ customers: [updated], checkpoint: 2 }));
      expect((await fx.store.loadCustomers(['c1'])).get('c1')).toEqual(updated);
      expect(await fx.queries.distribution('lifecycle')).toEqual({ loyal: 1 });
      expect(await fx.store.checkpoint()).toBe(2);
    });

    it('commits all or nothing', async () => {
      await seed([sampleCustomer('c1')], 3);
      const bad = batch({
        customers: [sampleCustomer('c2'), sampleCustomer('c1', { eventCount: 99 })],
        identities: identitiesOf(sampleCustomer('c2')),
        // A type change without a target type violates the schema: the whole batch must roll back.
        typeChanges: [{ customerId: 'c2', lens: 'lifecycle', from: null, to: null as unknown as string, at: T0, seq: 1, messageId: 'm', event: null }],
        checkpoint: 9,
      });
      await expect(fx.store.commit(bad)).rejects.toBeTruthy();
      expect(await fx.store.checkpoint()).toBe(3);
      expect(await fx.store.loadCustomers(['c2'])).toEqual(new Map());
      expect((await fx.store.loadCustomers(['c1'])).get('c1')?.eventCount).toBe(1);
      expect(await fx.store.resolveIdentities([{ kind: 'user', value: 'user-c2' }])).toEqual(new Map());
      // The store still works after a failed commit.
      await fx.store.commit(batch({ customers: [sampleCustomer('c2')], checkpoint: 4 }));
      expect(await fx.store.checkpoint()).toBe(4);
    });

    it('lists a customer\u2019s events in log order, and recent ones newest first', async () => {
      const events = await logEvents([sampleEvent(1), sampleEvent(2), sampleEvent(3), sampleEvent(4)]);
      const [e1, e2, e3, e4] = events as [StoredEvent, StoredEvent, StoredEvent, StoredEvent];
      await fx.store.commit(
        batch({
          customers: [sampleCustomer('a'), sampleCustomer('b')],
          // Out of order and repeated on purpose.
          eventCustomers: [
            { customerId: 'a', seq: e3.seq },
            { customerId: 'a', seq: e1.seq },
            { customerId: 'b', seq: e2.seq },
            { customerId: 'a', seq: e1.seq },
          ],
          checkpoint: e3.seq,
        }),
      );
      await fx.store.commit(batch({ eventCustomers: [{ customerId: 'a', seq: e4.seq }], checkpoint: e4.seq }));
      expect(await fx.store.eventsOf('a')).toEqual([e1, e3, e4]);
      expect(await fx.store.eventsOf('b')).toEqual([e2]);
      expect((await fx.queries.recentEvents('a', 2)).map((e) => e.seq)).toEqual([e4.seq, e3.seq]);
    });

    it('merges redirect identities, events, history and lookups to the surviving customer', async () => {
      const [ea, eb, ec] = (await seed([sampleCustomer('a'), sampleCustomer('b'), sampleCustomer('c')])) as [StoredEvent, StoredEvent, StoredEvent];
      await fx.store.commit(
        batch({
          typeChanges: [{ customerId: 'b', lens: 'lifecycle', from: null, to: 'new', at: T0, seq: eb.seq, messageId: eb.messageId, event: null }],
          traitChanges: [{ customerId: 'b', key: 'plan', value: 'Pro', at: T0, seq: eb.seq }],
          checkpoint: 2,
        }),
      );
      // c into b, then b into a: every old id and identity ends at a.
      await fx.store.commit(batch({ merges: [{ from: 'c', into: 'b', at: T0 + 1, seq: ec.seq }], checkpoint: 3 }));
      await fx.store.commit(
        batch({ merges: [{ from: 'b', into: 'a', at: T0 + 2, seq: eb.seq }], customers: [sampleCustomer('a', { eventCount: 3 })], checkpoint: 4 }),
      );
      const ids = await fx.store.resolveIdentities([
        { kind: 'user', value: 'user-b' },
        { kind: 'anon', value: 'anon-c' },
      ]);
      expect(ids).toEqual(new Map([['user:user-b', 'a'], ['anon:anon-c', 'a']]));
      expect([...(await fx.store.loadCustomers(['a', 'b', 'c'])).keys()]).toEqual(['a']);
      expect((await fx.store.eventsOf('a')).map((e) => e.seq)).toEqual([ea.seq, eb.seq, ec.seq]);
      expect(await fx.store.eventsOf('b')).toEqual([]);
      expect((await fx.queries.findCustomer('b'))?.id).toBe('a');
      expect((await fx.queries.findCustomer('c'))?.id).toBe('a');
      expect((await fx.queries.typeHistory('a')).map((h) => h.customerId)).toEqual(['a']);
      expect((await fx.queries.traitHistory('a', 10)).map((h) => h.key)).toEqual(['plan']);
      expect(await fx.queries.countCustomers()).toBe(1);
      expect(await fx.queries.distribution('lifecycle')).toEqual({ new: 1 });
      // The merged-away customer's current traits and types are gone (the survivor's come with its own commit).
      expect((await fx.queries.searchCustomers({ query: 'plan:pro', limit: 10 })).customers).toEqual([]);
      expect((await fx.queries.searchCustomers({ query: 'user-b', limit: 10 })).customers.map((c) => c.id)).toEqual(['a']);
    });

    it('keeps the value state and every buyer\u2019s purchase summary', async () => {
      await seed([
        sampleCustomer('b', { purchaseDays: [1, 5, 1, 20] }),
        sampleCustomer('a', { purchaseDays: [2, 9, 3, 10.25] }),
        sampleCustomer('z'),
      ]);
      const state = { fitted: { r: 0.5, alpha: 2 }, heavyThreshold: 120, nextRefit: T0 + DAY };
      await fx.store.commit(batch({ valueState: state, checkpoint: 2 }));
      expect(await fx.store.loadValueState()).toEqual({
        state,
        purchases: [
          ['a', [2, 9, 3, 10.25]],
          ['b', [1, 5, 1, 20]],
        ],
      });
      // A commit without valueState keeps the previous one.
      await fx.store.commit(batch({ checkpoint: 3 }));
      expect((await fx.store.loadValueState()).state).toEqual(state);
    });

    it('reset deletes all derived state but not the log', async () => {
      await seed([sampleCustomer('a'), sampleCustomer('b')], 5);
      await fx.store.commit(batch({ valueState: { x: 1 }, checkpoint: 6 }));
      await fx.store.reset();
      expect(await fx.store.checkpoint()).toBe(0);
      expect(await fx.queries.countCustomers()).toBe(0);
      expect(await fx.store.resolveIdentities([{ kind: 'user', value: 'user-a' }])).toEqual(new Map());
      expect(await fx.store.eventsOf('a')).toEqual([]);
      expect(await fx.store.loadValueState()).toEqual({ state: null, purchases: [] });
      expect(await fx.log.read(0, 10)).toHaveLength(2);
    });

    it('pages through all customers in id order with a keyset cursor', async () => {
      const ids = ['c05', 'c01', 'c04', 'c02', 'c03'];
      await seed(ids.map((id) => sampleCustomer(id)));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await fx.queries.searchCustomers({ limit: 2, cursor });
        expect(page.customers.length).toBeLessThanOrEqual(2);
        seen.push(...page.customers.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen).toEqual(['c01', 'c02', 'c03', 'c04', 'c05']);
      expect(pages).toBe(3);
      const first = await fx.queries.searchCustomers({ limit: 1 });
      expect(first.customers[0]).toEqual({
        id: 'c01',
        userId: 'user-c01',
        email: 'c01@example.com',
        name: 'Name c01',
        lastSeen: T0 + DAY,
        eventCount: 1,
        types: { lifecycle: 'new' },
      });
    });

    it('searches by identity, email prefix, name prefix and trait, and filters by type', async () => {
      await seed([
        sampleCustomer('c1', { email: 'ada@lovelace.org', traits: { first_name: 'Ada', last_name: 'Lovelace' } }),
        sampleCustomer('c2', { email: 'alan@turing.org', traits: { name: 'Alan Turing' } }),
        sampleCustomer('c3', {
          email: 'grace@navy.mil',
          traits: { name: 'Grace Hopper' },
          classifications: { lifecycle: classification('lifecycle', 'loyal', T0) },
        }),
      ]);
      await fx.store.commit(
        batch({
          traitChanges: [
            { customerId: 'c1', key: 'plan', value: 'Pro', at: T0, seq: 1 },
            { customerId: 'c2', key: 'plan', value: 'Free', at: T0, seq: 2 },
            { customerId: 'c3', key: 'plan', value: 'PRO', at: T0, seq: 3 },
            { customerId: 'c3', key: 'age', value: 42, at: T0, seq: 3 },
          ],
          checkpoint: 2,
        }),
      );
      const ids = async (query: string, extra: { lens?: string; type?: string } = {}): Promise<string[]> =>
        (await fx.queries.searchCustomers({ query, limit: 10, ...extra })).customers.map((c) => c.id).sort();
      expect(await ids('anon-c2')).toEqual(['c2']);
      expect(await ids('user-c3')).toEqual(['c3']);
      expect(await ids('c1')).toEqual(['c1']);
      expect(await ids('al')).toEqual(['c2']);
      expect(await ids('a')).toEqual(['c1', 'c2']);
      expect(await ids('ALAN@')).toEqual(['c2']);
      expect(await ids('grace h')).toEqual(['c3']);
      expect(await ids('ada l')).toEqual(['c1']);
      expect(await ids('plan:pro')).toEqual(['c1', 'c3']);
      expect(await ids('plan:free')).toEqual(['c2']);
      expect(await ids('age:42')).toEqual(['c3']);
      expect(await ids('plan:pro', { lens: 'lifecycle', type: 'loyal' })).toEqual(['c3']);
      expect(await ids('', { lens: 'lifecycle', type: 'new' })).toEqual(['c1', 'c2']);
      expect(await ids('nobody')).toEqual([]);
    });

    it('pages a prefix search without repeating or losing customers', async () => {
      const ids = Array.from({ length: 7 }, (_, i) => `p${i}`);
      await seed(ids.map((id, i) => sampleCustomer(id, { email: `sam${i}@x.org`, traits: { name: `Sam ${i}` } })));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await fx.queries.searchCustomers({ query: 'sam', limit: 3, cursor });
        seen.push(...page.customers.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      // Each customer matches by email and by name; each match is listed once, email matches first.
      expect(seen.slice(0, 7)).toEqual(ids);
      expect(seen.slice(7)).toEqual(ids);
    });

    it('keeps the distribution and the customer count right through type changes, new customers and merges', async () => {
      const rng = createRng(7);
      const types = ['new', 'loyal', 'at_risk', 'lapsed'];
      const pick = (): string => types[Math.floor(rng.next() * types.length)] as string;
      const live = new Map<string, CustomerRecord>();
      let next = 0;
      for (let round = 0; round < 6; round++) {
        const customers: CustomerRecord[] = [];
        // Some new customers, some existing ones changing type (or keeping it), one lens only on some.
        for (let i = 0; i < 8; i++) {
          const id = `k${String(next++).padStart(3, '0')}`;
          const cls: CustomerRecord['classifications'] = { lifecycle: classification('lifecycle', pick(), T0) };
          if (rng.next() < 0.5) cls['value'] = classification('value', rng.next() < 0.5 ? 'heavy' : 'light', T0);
          customers.push(sampleCustomer(id, { classifications: cls }));
        }
        for (const c of [...live.values()].slice(0, 5)) {
          customers.push({ ...c, classifications: { ...c.classifications, lifecycle: classification('lifecycle', pick(), T0 + round) } });
        }
        const merges: Array<{ from: string; into: string; at: number; seq: number }> = [];
        const ids = [...live.keys()];
        if (ids.length >= 4) {
          const from = ids[ids.length - 1] as string;
          const into = ids[0] as string;
          merges.push({ from, into, at: T0 + round, seq: round });
          live.delete(from);
        }
        // A customer of this batch that is also merged away would be contradictory; keep them apart.
        const batchCustomers = customers.filter((c) => !merges.some((m) => m.from === c.id));
        await fx.store.commit(batch({ customers: batchCustomers, merges, checkpoint: round + 1 }));
        for (const c of batchCustomers) live.set(c.id, c);
        for (const lens of ['lifecycle', 'value']) {
          const expected: Record<string, number> = {};
          for (const c of live.values()) {
            const t = c.classifications[lens]?.type;
            if (t) expected[t] = (expected[t] ?? 0) + 1;
          }
          expect(await fx.queries.distribution(lens)).toEqual(expected);
        }
        expect(await fx.queries.countCustomers()).toBe(live.size);
      }
    });

    it('pages a search whose matches span identity, email and name', async () => {
      // 'sam' is an anonymous id of s0, the email prefix of s1..s3 and the name prefix of s2..s4.
      await seed([
        sampleCustomer('s0', { anonymousIds: ['sam'], email: 'zed@x.org', traits: { name: 'Zed' } }),
        sampleCustomer('s1', { email: 'sam1@x.org', traits: { name: 'Yan' } }),
        sampleCustomer('s2', { email: 'sam2@x.org', traits: { name: 'Sam Two' } }),
        sampleCustomer('s3', { email: 'sam3@x.org', traits: { name: 'Sam Three' } }),
        sampleCustomer('s4', { email: 'ann@x.org', traits: { name: 'Samantha' } }),
      ]);
      const all = (await fx.queries.searchCustomers({ query: 'sam', limit: 50 })).customers.map((c) => c.id);
      expect(all).toEqual(['s0', 's1', 's2', 's3', 's4']);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await fx.queries.searchCustomers({ query: 'sam', limit: 2, cursor });
        seen.push(...page.customers.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      // Matches in key order: identity (s0), emails (s1 s2 s3), names lower-cased in byte order
      // ('sam three' < 'sam two' < 'samantha'); a customer repeats across pages, never within one.
      expect(seen).toEqual(['s0', 's1', 's2', 's3', 's3', 's2', 's4']);
    });

    it('keeps type and trait history, and answers distribution as of a time and transitions', async () => {
      await seed([sampleCustomer('a'), sampleCustomer('b'), sampleCustomer('c')]);
      const change = (customerId: string, from: string | null, to: string, day: number, seq: number) => ({
        customerId,
        lens: 'lifecycle',
        from,
        to,
        at: T0 + day * DAY,
        seq,
        messageId: `m${seq}`,
        event: 'Order Completed',
      });
      await fx.store.commit(
        batch({
          typeChanges: [
            change('a', null, 'new', 0, 1),
            change('b', null, 'new', 0, 2),
            change('c', null, 'new', 1, 3),
            change('a', 'new', 'loyal', 2, 4),
            change('b', 'new', 'at_risk', 3, 5),
            { ...change('a', null, 'heavy', 1, 6), lens: 'value' },
          ],
          traitChanges: [
            { customerId: 'a', key: 'plan', value: 'Free', at: T0, seq: 1 },
            { customerId: 'a', key: 'plan', value: 'Pro', at: T0 + DAY, seq: 4 },
            { customerId: 'a', key: 'tags', value: ['x', 1], at: T0 + 2 * DAY, seq: 5 },
          ],
          checkpoint: 6,
        }),
      );
      const hist = await fx.queries.typeHistory('a');
      expect(hist.map((h) => [h.lens, h.from, h.to, h.at, h.seq])).toEqual([
        ['lifecycle', null, 'new', T0, 1],
        ['value', null, 'heavy', T0 + DAY, 6],
        ['lifecycle', 'new', 'loyal', T0 + 2 * DAY, 4],
      ]);
      expect(hist[0]).toEqual(change('a', null, 'new', 0, 1));
      expect(await fx.queries.traitHistory('a', 2)).toEqual([
        { customerId: 'a', key: 'tags', value: ['x', 1], at: T0 + 2 * DAY, seq: 5 },
        { customerId: 'a', key: 'plan', value: 'Pro', at: T0 + DAY, seq: 4 },
      ]);
      expect(await fx.queries.distribution('lifecycle', T0)).toEqual({ new: 2 });
      expect(await fx.queries.distribution('lifecycle', T0 + DAY)).toEqual({ new: 3 });
      expect(await fx.queries.distribution('lifecycle', T0 + 2 * DAY)).toEqual({ new: 2, loyal: 1 });
      expect(await fx.queries.distribution('lifecycle', T0 + 10 * DAY)).toEqual({ new: 1, loyal: 1, at_risk: 1 });
      expect(await fx.queries.distribution('lifecycle', T0 - 1)).toEqual({});
      const sortT = (t: Array<{ from: string | null; to: string; count: number }>) =>
        [...t].sort((x, y) => y.count - x.count || String(x.from).localeCompare(String(y.from)) || x.to.localeCompare(y.to));
      expect(sortT(await fx.queries.transitions('lifecycle', T0, T0 + 2 * DAY))).toEqual([
        { from: null, to: 'new', count: 3 },
      ]);
      expect(sortT(await fx.queries.transitions('lifecycle', T0, T0 + 4 * DAY))).toEqual([
        { from: null, to: 'new', count: 3 },
        { from: 'new', to: 'at_risk', count: 1 },
        { from: 'new', to: 'loyal', count: 1 },
      ]);
      const t = await fx.queries.transitions('lifecycle', T0, T0 + 4 * DAY);
      expect(t[0]).toEqual({ from: null, to: 'new', count: 3 });
    });

    it('counts transitions over windows that start and end mid-day like a scan of the history, and forgets them on reset', async () => {
      await seed([sampleCustomer('a'), sampleCustomer('b')]);
      const HOUR = 3_600_000;
      const types = ['new', 'loyal', 'at_risk'];
      const changes = Array.from({ length: 40 }, (_, i) => ({
        customerId: i % 2 ? 'a' : 'b',
        lens: 'lifecycle',
        from: i < 2 ? null : (types[i % 3] as string),
        to: types[(i + 1) % 3] as string,
        at: T0 + i * 7 * HOUR + (i % 5) * 1000,
        seq: i + 1,
        messageId: `t${i}`,
        event: null,
      }));
      await fx.store.commit(batch({ typeChanges: changes, checkpoint: 40 }));
      const brute = (from: number, to: number) => {
        const m = new Map<string, { from: string | null; to: string; count: number }>();
        for (const c of changes.filter((x) => x.at >= from && x.at < to)) {
          const k = `${c.from}>${c.to}`;
          const r = m.get(k) ?? { from: c.from, to: c.to, count: 0 };
          r.count += 1;
          m.set(k, r);
        }
        return [...m.values()];
      };
      const key = (t: Array<{ from: string | null; to: string; count: number }>) =>
        [...t].sort((x, y) => String(x.from).localeCompare(String(y.from)) || x.to.localeCompare(y.to));
      for (const [from, to] of [
        [T0 + 5 * HOUR, T0 + 9 * DAY + 3 * HOUR],
        [T0 + DAY, T0 + 3 * DAY],
        [T0 + 30 * HOUR, T0 + 40 * HOUR],
        [T0 - DAY, T0 + 20 * DAY],
        [T0 + 2 * DAY + 7, T0 + 5 * DAY - 7],
      ] as const) {
        expect(key(await fx.queries.transitions('lifecycle', from, to))).toEqual(key(brute(from, to)));
      }
      await fx.store.reset();
      expect(await fx.queries.transitions('lifecycle', T0 - DAY, T0 + 20 * DAY)).toEqual([]);
    });
  });
}
