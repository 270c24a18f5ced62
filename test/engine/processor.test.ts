import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteCustomerQueries } from '../../src/adapters/sqlite/sqlite-customer-queries';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { buildEngine, type BuiltEngine } from '../../src/app/build-engine';
import { Processor } from '../../src/engine/processor';
import { appendMessages, simulateInto, tempDir, toStoredEvent } from '../helpers/sim-log';

let dir: { dir: string; cleanup: () => void };
let db: SqliteDatabase;
let engine: BuiltEngine;

function newProcessor(batchSize = 500): Processor {
  return new Processor({
    eventLog: new SqliteEventLog(db),
    store: new SqliteEngineStore(db),
    modules: engine.modules,
    batchSize,
    ...(engine.value ? { value: engine.value } : {}),
  });
}

/** Everything derived, in a comparable form. */
function snapshot() {
  return {
    customers: db.prepare('SELECT id, user_id, email, anonymous_ids, traits, event_count, hex(state) AS state, indicators, classifications, purchase_days FROM customers ORDER BY id').all(),
    identities: db.prepare('SELECT * FROM identities ORDER BY kind, value').all(),
    history: db.prepare('SELECT customer_id, lens, from_type, to_type, at, seq, message_id FROM type_history ORDER BY id').all(),
    traits: db.prepare('SELECT customer_id, key, value, at, seq FROM trait_history ORDER BY id').all(),
    value: db.prepare('SELECT state FROM engine_value_state').all(),
  };
}

const t0 = Date.UTC(2025, 2, 1);
const at = (days: number) => new Date(t0 + days * 86_400_000).toISOString();
let n = 0;
const msg = (m: Record<string, unknown>) => ({ messageId: `m${++n}`, context: { timezone: 'Europe/Berlin' }, ...m });

beforeEach(() => {
  dir = tempDir();
  db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
  engine = buildEngine({ dataDir: dir.dir });
});
afterEach(() => {
  db.close();
  dir.cleanup();
});

describe('identity resolution and profiles', () => {
  it('joins an anonymous history to the customer who identifies, and merges on alias', async () => {
    const log = new SqliteEventLog(db);
    await appendMessages(log, [
      msg({ type: 'page', anonymousId: 'anon-1', name: 'Home', timestamp: at(0) }),
      msg({ type: 'track', anonymousId: 'anon-1', event: 'Product Viewed', properties: { product_id: 'p1', category: 'shoes' }, timestamp: at(0) }),
      msg({ type: 'identify', userId: 'u1', anonymousId: 'anon-1', traits: { email: 'Ann@Example.com', name: 'Ann' }, timestamp: at(1) }),
      msg({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { order_id: 'o1', revenue: 80, products: [{ category: 'shoes' }] }, timestamp: at(2) }),
      // A second device, anonymous, buys; then an alias says it is the same person.
      msg({ type: 'track', anonymousId: 'anon-2', event: 'Order Completed', properties: { order_id: 'o2', revenue: 20 }, timestamp: at(3) }),
      msg({ type: 'alias', userId: 'u1', previousId: 'anon-2', timestamp: at(4) }),
      // An older identify arriving late does not overwrite the newer name, but history keeps it.
      msg({ type: 'identify', userId: 'u1', traits: { name: 'Ann Old', plan: 'gold' }, timestamp: at(0.5) }),
      msg({ type: 'group', userId: 'u1', groupId: 'acme', timestamp: at(5) }),
    ]);
    const p = newProcessor();
    expect(await p.drain()).toBe(8);
    const q = new SqliteCustomerQueries(db);
    const c = await q.findCustomer('anon-2');
    expect(c?.id).toBe('anon:anon-1');
    expect(c?.userId).toBe('u1');
    expect(c?.email).toBe('ann@example.com');
    expect(c?.traits).toMatchObject({ name: 'Ann', plan: 'gold' });
    expect(c?.anonymousIds.sort()).toEqual(['anon-1', 'anon-2']);
    expect(c?.groups).toEqual(['acme']);
    expect(c?.eventCount).toBe(8);
    expect(c?.indicators['orders_total']).toBe(2);
    expect(c?.indicators['revenue_total']).toBe(100);
    expect(await q.countCustomers()).toBe(1);
    expect((await q.findCustomer('u1'))?.id).toBe('anon:anon-1');
    expect((await q.findCustomer('ann@example.com'))?.id).toBe('anon:anon-1');
    const events = await q.recentEvents('anon:anon-1', 100);
    expect(events.map((e) => e.messageId).sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'].sort());
    const traitKeys = (await q.traitHistory('anon:anon-1', 100)).map((t) => `${t.key}=${String(t.value)}`);
    expect(traitKeys).toContain('name=Ann');
    expect(traitKeys).toContain('plan=gold');
    // Every lens classified the customer with the type's probability; every type's probability and the
    // evidence are derived on read from the stored snapshot (not stored), and agree with it.
    for (const lens of engine.lenses.names()) {
      const cl = c!.classifications[lens]!;
      expect(cl.type).toBeTruthy();
      expect(cl.probabilities).toEqual({});
      expect(cl.evidence).toEqual([]);
      const x = engine.modules.lenses.explain(lens, c!.indicators, c!.traits, { type: cl.type, since: cl.since });
      const total = Object.values(x.probabilities).reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(1, 6);
      expect(cl.probability).toBe(x.probabilities[cl.type]);
      expect(cl.probability).toBeGreaterThan(0);
    }
    const history = await q.typeHistory('anon:anon-1');
    expect(history.length).toBeGreaterThanOrEqual(engine.lenses.names().length);
    expect(history[0]?.from).toBeNull();
    expect(history.every((h) => /^m\d+$/.test(h.messageId))).toBe(true);
  });
});

describe('determinism', () => {
  it('gives identical state from scratch, with other batch sizes, and from a checkpoint', async () => {
    const log = new SqliteEventLog(db);
    const { events } = await simulateInto(log, { customers: 150, days: 240, seed: 11 });
    expect(events).toBeGreaterThan(3000);
    const first = newProcessor(700);
    expect(await first.drain()).toBe(events);
    const a = snapshot();
    expect(a.customers.length).toBeGreaterThan(100);
    expect(a.history.length).toBeGreaterThan(400);

    // From scratch with another batch size (fresh modules: no state carried over).
    await new SqliteEngineStore(db).reset();
    engine = buildEngine({ dataDir: dir.dir });
    await newProcessor(123).drain();
    expect(snapshot()).toEqual(a);

    // Stop half-way, then a new processor (as after a restart) continues from the checkpoint.
    await new SqliteEngineStore(db).reset();
    engine = buildEngine({ dataDir: dir.dir });
    const part = newProcessor(250);
    for (let i = 0; i < Math.ceil(events / 2 / 250); i++) await part.runOnce();
    engine = buildEngine({ dataDir: dir.dir });
    await newProcessor(400).drain();
    expect(snapshot()).toEqual(a);
  });
});

describe('batch bounds', () => {
  it('ends a large batch once it changed as many customers as the cache holds, with the same result', async () => {
    const log = new SqliteEventLog(db);
    const { events } = await simulateInto(log, { customers: 90, days: 120, seed: 3 });
    await newProcessor(events).drain();
    const a = snapshot();

    await new SqliteEngineStore(db).reset();
    engine = buildEngine({ dataDir: dir.dir });
    const p = new Processor({ eventLog: log, store: new SqliteEngineStore(db), modules: engine.modules, batchSize: 1_000_000, readSize: 100, cacheSize: 25, ...(engine.value ? { value: engine.value } : {}) });
    const sizes: number[] = [];
    p.onBatch((b) => sizes.push(b.customerIds.length));
    expect(await p.drain()).toBe(events);
    expect(sizes.length).toBeGreaterThan(3);
    // A chunk of events may add a few customers past the bound before the batch looks again.
    expect(Math.max(...sizes)).toBeLessThan(90);
    const b = snapshot();
    // Per-type totals are summed per batch (other rounding); everything compared here is equal.
    expect(b).toEqual(a);
  });
});

describe('failed commits', () => {
  it('starts again from the stored checkpoint after a commit fails, so no event is applied twice', async () => {
    const log = new SqliteEventLog(db);
    const { events } = await simulateInto(log, { customers: 120, days: 200, seed: 5 });
    await newProcessor(300).drain();
    const a = snapshot();

    await new SqliteEngineStore(db).reset();
    engine = buildEngine({ dataDir: dir.dir });
    const store = new SqliteEngineStore(db);
    const commit = store.commit.bind(store);
    let calls = 0;
    // Every third commit fails, as a full disk or a lost connection would make it.
    store.commit = async (batch) => {
      if (++calls % 3 === 0) throw new Error('disk full');
      return commit(batch);
    };
    const p = new Processor({ eventLog: log, store, modules: engine.modules, batchSize: 300, ...(engine.value ? { value: engine.value } : {}) });
    let failures = 0;
    for (;;) {
      try {
        if ((await p.runOnce()) === 0) break;
      } catch (err) {
        expect((err as Error).message).toBe('disk full');
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(3);
    expect(await p.checkpoint()).toBe(events);
    expect(snapshot()).toEqual(a);
  });
});

describe('distribution over time', () => {
  it('counts per type as of a past day equal the customers\' histories replayed to that day', async () => {
    const log = new SqliteEventLog(db);
    const { sim } = await simulateInto(log, { customers: 120, days: 200, seed: 21, anonymousShare: 0 });
    await newProcessor(1000).drain();
    const q = new SqliteCustomerQueries(db);
    const history = db.prepare('SELECT customer_id, lens, to_type, at FROM type_history ORDER BY at, id').all() as Array<{ customer_id: string; lens: string; to_type: string; at: number }>;
    for (const days of [30, 90, 150, 199]) {
      const asOf = Date.UTC(2025, 0, 1) + days * 86_400_000;
      const endOfDay = (Math.floor(asOf / 86_400_000) + 1) * 86_400_000;
      for (const lens of engine.lenses.names()) {
        const last = new Map<string, string>();
        for (const h of history) if (h.lens === lens && h.at < endOfDay) last.set(h.customer_id, h.to_type);
        const expected: Record<string, number> = {};
        for (const t of last.values()) expected[t] = (expected[t] ?? 0) + 1;
        expect(await q.distribution(lens, asOf)).toEqual(expected);
      }
    }
    // Now equals the current types.
    expect(sim.end).toBeGreaterThan(0);
    const now = await q.distribution('lifecycle');
    const latest = await q.distribution('lifecycle', Date.UTC(2030, 0, 1));
    expect(latest).toEqual(now);
  });
});

describe('clock ticks', () => {
  it('re-evaluates customers as time passes, without events of their own, exactly once per tick', async () => {
    const log = new SqliteEventLog(db);
    const tick = (days: number) => ({
      type: 'track', userId: 'rapport', event: 'Rapport Clock Tick', messageId: `tick-${days}`, timestamp: at(days), properties: {},
    });
    await appendMessages(log, [
      msg({ type: 'identify', userId: 'once', traits: { email: 'once@example.com' }, timestamp: at(0) }),
      msg({ type: 'track', userId: 'once', event: 'Order Completed', properties: { order_id: 'x1', revenue: 40 }, timestamp: at(0) }),
    ]);
    // Control events come from Rapport itself (source 'rapport').
    const ticks = [30, 120, 400].map((d) => ({ ...toStoredEvent(tick(d)), sourceId: 'rapport' }));
    await log.append(ticks, { now: Date.now(), dedupeWindowMs: 86_400_000 });
    await newProcessor(2).drain();
    const q = new SqliteCustomerQueries(db);
    const c = await q.findCustomer('once');
    expect(await q.countCustomers()).toBe(1);
    expect(c?.classifications['lifecycle']?.type).toBe('lapsed');
    expect(c?.indicators['recency_days']).toBeGreaterThanOrEqual(399);
    const history = (await q.typeHistory(c!.id)).filter((h) => h.lens === 'lifecycle');
    expect(history.at(-1)).toMatchObject({ to: 'lapsed', event: 'Rapport Clock Tick' });
    // Ticks are not the customer's events.
    expect(c?.eventCount).toBe(2);
    // Same result when replayed from scratch in one batch.
    const a = snapshot();
    await new SqliteEngineStore(db).reset();
    engine = buildEngine({ dataDir: dir.dir });
    await newProcessor(1000).drain();
    expect(snapshot()).toEqual(a);
  });
});
