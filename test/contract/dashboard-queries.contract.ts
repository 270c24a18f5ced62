import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CustomerFilter, DashboardQueries } from '../../src/ports/dashboard-queries';
import type { CustomerQueries, EngineCommit, EngineStore } from '../../src/ports/engine-store';
import { sampleCustomer } from './engine-store.contract';

/** A fresh store with the dashboard's read port and the engine store that fills it. */
export interface DashboardQueriesFixture {
  store: EngineStore;
  queries: CustomerQueries;
  dashboard: DashboardQueries;
  close(): Promise<void> | void;
}

const T0 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

function batch(over: Partial<EngineCommit>): EngineCommit {
  return { customers: [], identities: [], merges: [], eventCustomers: [], typeChanges: [], traitChanges: [], checkpoint: 0, ...over };
}

const cls = (type: string, probability: number) => ({ lens: 'lifecycle', type, probability, probabilities: { [type]: probability }, evidence: [], since: T0 });

/** Five customers: types, probabilities, CLV, P(alive) and heavy-user flags to filter on. */
const PEOPLE = [
  sampleCustomer('c1', { classifications: { lifecycle: cls('new', 0.9) }, indicators: { clv_12m: 10, p_alive: 0.9, heavy_user: 1 }, lastSeen: T0 + 3 * DAY }),
  sampleCustomer('c2', { classifications: { lifecycle: cls('loyal', 0.6) }, indicators: { clv_12m: 500, p_alive: 0.2 }, lastSeen: T0 + 9 * DAY }),
  sampleCustomer('c3', { classifications: { lifecycle: cls('new', 0.4) }, indicators: { clv_12m: 50, p_alive: 0.5, heavy_user: 0 }, lastSeen: T0 + 1 * DAY }),
  sampleCustomer('c4', { classifications: { lifecycle: cls('loyal', 0.95) }, indicators: { clv_12m: 900, p_alive: 0.99, heavy_user: 1 }, lastSeen: T0 + 5 * DAY }),
  sampleCustomer('c5', { classifications: { lifecycle: cls('lapsed', 0.7) }, indicators: {}, lastSeen: T0 + 2 * DAY }),
];

const base: CustomerFilter = { limit: 50, after: '', window: 1000 };
const ids = (p: { customers: Array<{ id: string }> }) => p.customers.map((c) => c.id);

/**
 * The dashboard read port (filtered customer list, population sample for the lens preview) and the
 * latest event time of the customer queries: every adapter must pass it.
 */
export function dashboardQueriesContract(name: string, factory: () => Promise<DashboardQueriesFixture>): void {
  describe(`Dashboard queries contract: ${name}`, () => {
    let fx: DashboardQueriesFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('answers an empty store: no customers, an empty sample, latest event time 0', async () => {
      expect(await fx.dashboard.filterCustomers(base)).toEqual({ customers: [], nextAfter: null, exhausted: true });
      expect(await fx.dashboard.samplePopulation(100)).toEqual({ population: 0, rows: [] });
      expect(await fx.queries.latestEventTime()).toBe(0);
    });

    it('lists customers in id order with their figures, and pages with nextAfter', async () => {
      await fx.store.commit(batch({ customers: PEOPLE, checkpoint: 1 }));
      const all = await fx.dashboard.filterCustomers({ ...base, lens: 'lifecycle' });
      expect(ids(all)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
      expect(all.exhausted).toBe(true);
      expect(all.nextAfter).toBeNull();
      expect(all.customers[1]).toEqual({
        id: 'c2',
        userId: 'user-c2',
        email: 'c2@example.com',
        name: 'Name c2',
        lastSeen: T0 + 9 * DAY,
        eventCount: 1,
        types: { lifecycle: 'loyal' },
        clv12m: 500,
        pAlive: 0.2,
        probability: 0.6,
      });
      expect(all.customers[4]).toMatchObject({ id: 'c5', clv12m: null, pAlive: null, probability: 0.7 });
      const noLens = await fx.dashboard.filterCustomers(base);
      expect(noLens.customers[0]?.probability).toBeNull();

      const first = await fx.dashboard.filterCustomers({ ...base, limit: 2 });
      expect(ids(first)).toEqual(['c1', 'c2']);
      expect(first).toMatchObject({ nextAfter: 'c2', exhausted: false });
      const second = await fx.dashboard.filterCustomers({ ...base, limit: 2, after: 'c2' });
      expect(ids(second)).toEqual(['c3', 'c4']);
      const last = await fx.dashboard.filterCustomers({ ...base, limit: 2, after: 'c4' });
      expect(ids(last)).toEqual(['c5']);
      expect(last).toMatchObject({ nextAfter: null, exhausted: true });
    });

    it('filters by type, probability, CLV, P(alive) and heavy users', async () => {
      await fx.store.commit(batch({ customers: PEOPLE, checkpoint: 1 }));
      const f = (over: Partial<CustomerFilter>) => fx.dashboard.filterCustomers({ ...base, ...over }).then(ids);
      expect(await f({ lens: 'lifecycle', type: 'new' })).toEqual(['c1', 'c3']);
      expect(await f({ lens: 'lifecycle', type: 'loyal', minProbability: 0.9 })).toEqual(['c4']);
      expect(await f({ lens: 'lifecycle', maxProbability: 0.65 })).toEqual(['c2', 'c3']);
      expect(await f({ minClv: 50 })).toEqual(['c2', 'c3', 'c4']);
      expect(await f({ minClv: 40, maxClv: 600 })).toEqual(['c2', 'c3']);
      expect(await f({ minPAlive: 0.5 })).toEqual(['c1', 'c3', 'c4']);
      expect(await f({ maxPAlive: 0.5 })).toEqual(['c2', 'c3']);
      expect(await f({ heavyUser: true })).toEqual(['c1', 'c4']);
      // Absent counts as not heavy.
      expect(await f({ heavyUser: false })).toEqual(['c2', 'c3', 'c5']);
      expect(await f({ lens: 'lifecycle', type: 'lapsed', minClv: 1 })).toEqual([]);
    });

    it('examines at most one window per call and says where to go on', async () => {
      await fx.store.commit(batch({ customers: PEOPLE, checkpoint: 1 }));
      // Only c4 is above 800; a window of two rows holds none of it at first.
      const w1 = await fx.dashboard.filterCustomers({ ...base, minClv: 800, window: 2 });
      expect(w1).toEqual({ customers: [], nextAfter: 'c2', exhausted: false });
      const w2 = await fx.dashboard.filterCustomers({ ...base, minClv: 800, window: 2, after: 'c2' });
      expect(ids(w2)).toEqual(['c4']);
      expect(w2).toMatchObject({ nextAfter: 'c4', exhausted: false });
      const w3 = await fx.dashboard.filterCustomers({ ...base, minClv: 800, window: 2, after: 'c4' });
      expect(w3).toEqual({ customers: [], nextAfter: null, exhausted: true });
      // The type index is the window when a type is given.
      const t1 = await fx.dashboard.filterCustomers({ ...base, lens: 'lifecycle', type: 'loyal', minProbability: 0.9, window: 1 });
      expect(t1).toEqual({ customers: [], nextAfter: 'c2', exhausted: false });
      const t2 = await fx.dashboard.filterCustomers({ ...base, lens: 'lifecycle', type: 'loyal', minProbability: 0.9, window: 1, after: 'c2' });
      expect(ids(t2)).toEqual(['c4']);
    });

    it('samples the whole population when small, about max customers when large', async () => {
      await fx.store.commit(batch({ customers: PEOPLE, checkpoint: 1 }));
      const small = await fx.dashboard.samplePopulation(100);
      expect(small.population).toBe(5);
      expect(small.rows).toHaveLength(5);
      expect(small.rows.map((r) => r.indicators['clv_12m'] ?? null).sort()).toEqual([10, 50, 500, 900, null].sort());
      expect(small.rows[0]?.traits).toMatchObject({ plan: 'Pro' });

      const many = Array.from({ length: 400 }, (_, i) => sampleCustomer(`m${String(i).padStart(4, '0')}`, { indicators: { n: i } }));
      await fx.store.commit(batch({ customers: many, checkpoint: 2 }));
      const large = await fx.dashboard.samplePopulation(100);
      expect(large.population).toBe(405);
      expect(large.rows.length).toBeLessThanOrEqual(100);
      expect(large.rows.length).toBeGreaterThanOrEqual(50);
      // Spread over the table, not its first rows.
      const ns = large.rows.map((r) => r.indicators['n']).filter((n): n is number => typeof n === 'number');
      expect(Math.max(...ns)).toBeGreaterThan(300);
      // Deterministic: the same sample twice.
      expect(await fx.dashboard.samplePopulation(100)).toEqual(large);
    });

    it('knows the latest event time of any customer', async () => {
      await fx.store.commit(batch({ customers: PEOPLE, checkpoint: 1 }));
      expect(await fx.queries.latestEventTime()).toBe(T0 + 9 * DAY);
      await fx.store.commit(batch({ customers: [sampleCustomer('c6', { lastSeen: T0 + 20 * DAY })], checkpoint: 2 }));
      expect(await fx.queries.latestEventTime()).toBe(T0 + 20 * DAY);
      await fx.store.reset();
      expect(await fx.queries.latestEventTime()).toBe(0);
    });
  });
}
