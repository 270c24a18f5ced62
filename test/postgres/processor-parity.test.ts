import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresCustomerQueries } from '../../src/adapters/postgres/postgres-customer-queries';
import { PostgresEngineFeed } from '../../src/adapters/postgres/postgres-engine-feed';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresEventLog } from '../../src/adapters/postgres/postgres-event-log';
import { PostgresValueQueries } from '../../src/adapters/postgres/postgres-value-queries';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteCustomerQueries } from '../../src/adapters/sqlite/sqlite-customer-queries';
import { SqliteEngineFeed } from '../../src/adapters/sqlite/sqlite-engine-feed';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { SqliteValueQueries } from '../../src/adapters/sqlite/sqlite-value-queries';
import { buildEngine } from '../../src/app/build-engine';
import { Processor } from '../../src/engine/processor';
import type { EngineFeed } from '../../src/ports/engine-feed';
import type { CustomerQueries, EngineStore } from '../../src/ports/engine-store';
import type { EventLog } from '../../src/ports/event-log';
import type { ValueQueries } from '../../src/ports/value-queries';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { simulateInto, tempDir } from '../helpers/sim-log';

reportPgSkip('processor-parity.test.ts');

interface Backend {
  log: EventLog;
  store: EngineStore;
  queries: CustomerQueries;
  feed: EngineFeed;
  values: ValueQueries;
}

/** Everything the processor derived, read through the ports only. */
async function derived(b: Backend, lenses: readonly string[]) {
  const customers = [];
  for (let after = ''; ; ) {
    const page = await b.feed.page(after, 200);
    if (page.length === 0) break;
    customers.push(...page);
    after = page[page.length - 1]!.id;
  }
  const perCustomer = [];
  for (const c of customers) {
    perCustomer.push({ types: await b.queries.typeHistory(c.id), traits: await b.queries.traitHistory(c.id, 1000), events: (await b.store.eventsOf(c.id)).map((e) => e.seq) });
  }
  const distributions: Record<string, Record<string, number>> = {};
  for (const lens of lenses) distributions[lens] = await b.queries.distribution(lens);
  // The aggregates each commit maintains (per-type totals, per-day type deltas and transitions, latest
  // event time), read through the queries that use them, over whole and partial days of the period.
  const DAY = 86_400_000;
  const first = Math.min(...customers.map((c) => c.firstSeen));
  const last = Math.max(...customers.map((c) => c.lastSeen));
  const byType = <T extends { type: string }>(xs: T[]) => [...xs].sort((x, y) => (x.type < y.type ? -1 : 1));
  const byPair = <T extends { from: string | null; to: string }>(xs: T[]) =>
    [...xs].sort((x, y) => `${x.from ?? ''}>${x.to}`.localeCompare(`${y.from ?? ''}>${y.to}`));
  const aggregates: Record<string, unknown> = {};
  for (const lens of lenses) {
    const asOf: Record<string, unknown> = {};
    for (let t = first; t <= last + DAY; t += 17 * DAY) asOf[t] = await b.queries.distribution(lens, t);
    aggregates[lens] = {
      economics: byType(await b.values.aggregatesByType(lens)),
      asOf,
      transitionsAll: byPair(await b.queries.transitions(lens, first - DAY, last + DAY)),
      transitionsPartial: byPair(await b.queries.transitions(lens, first + 0.3 * DAY, first + 40.6 * DAY)),
      transitionsInDay: byPair(await b.queries.transitions(lens, first + 10.1 * DAY, first + 10.9 * DAY)),
    };
  }
  return {
    aggregates,
    revenues: (await b.values.revenues()).sort((x, y) => x - y),
    latestEventTime: await b.queries.latestEventTime(),
    checkpoint: await b.store.checkpoint(),
    count: await b.queries.countCustomers(),
    customers,
    perCustomer,
    distributions,
    value: await b.store.loadValueState(),
  };
}

describe.skipIf(!PG_URL)('the processor on PostgreSQL', () => {
  const fresh = pgSchemas();
  const dir = tempDir('rapport-parity-');
  afterAll(() => dir.cleanup());

  it('derives exactly the same state from the same log as on SQLite', async () => {
    const engine = buildEngine({ dataDir: dir.dir });
    const db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    const s = await fresh();
    const sqlite: Backend = { log: new SqliteEventLog(db), store: new SqliteEngineStore(db), queries: new SqliteCustomerQueries(db), feed: new SqliteEngineFeed(db), values: new SqliteValueQueries(db) };
    const postgres: Backend = {
      log: new PostgresEventLog(s.pool),
      store: new PostgresEngineStore(s.pool),
      queries: new PostgresCustomerQueries(s.pool),
      feed: new PostgresEngineFeed(s.pool),
      values: new PostgresValueQueries(s.pool),
    };
    try {
      const a = await simulateInto(sqlite.log, { customers: 60, days: 150, seed: 5 });
      const b = await simulateInto(postgres.log, { customers: 60, days: 150, seed: 5 });
      expect(b.events).toBe(a.events);
      expect(a.events).toBeGreaterThan(1000);
      for (const backend of [sqlite, postgres]) {
        const p = new Processor({ eventLog: backend.log, store: backend.store, modules: engine.modules, batchSize: 400, ...(engine.value ? { value: engine.value } : {}) });
        expect(await p.drain()).toBe(a.events);
      }
      const lenses = engine.lenses.names();
      const left = await derived(sqlite, lenses);
      const right = await derived(postgres, lenses);
      expect(left.count).toBeGreaterThan(30);
      // The comparison covers buyers' value state and type changes, not only profiles.
      expect(left.value.purchases.length).toBeGreaterThan(5);
      expect(left.perCustomer.some((c) => c.types.length > 1)).toBe(true);
      expect(left.latestEventTime).toBeGreaterThan(0);
      expect(Object.values(left.aggregates).some((a) => (a as { economics: unknown[] }).economics.length > 1)).toBe(true);
      expect(right).toEqual(left);
    } finally {
      db.close();
      await s.close();
    }
  });
});
