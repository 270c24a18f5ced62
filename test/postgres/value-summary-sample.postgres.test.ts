import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresEventLog } from '../../src/adapters/postgres/postgres-event-log';
import { PostgresValueQueries } from '../../src/adapters/postgres/postgres-value-queries';
import { buildEngine } from '../../src/app/build-engine';
import { restoreValueFromPostgres } from '../../src/app/roles/control-publisher';
import { Processor } from '../../src/engine/processor';
import { ValueEngine } from '../../src/engine/value-engine';
import { createServer } from '../../src/http/create-server';
import { registerValueRoutes } from '../../src/http/value-routes';
import { DEFAULT_UNIT_COSTS } from '../../src/value/economics';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { simulateInto, tempDir } from '../helpers/sim-log';

reportPgSkip('value-summary-sample.postgres.test.ts');

/**
 * The value summary of a large population reads samples (bounded memory in every api process): exact
 * customer and revenue totals, Pareto curve and CLV figures from a repeatable uniform sample, scaled up.
 */
describe.skipIf(!PG_URL)('value summary from samples (PostgreSQL)', () => {
  const fresh = pgSchemas();

  it('keeps the totals exact and scales the sampled counts up to about the full figures', async () => {
    const s = await fresh();
    const dir = tempDir('rapport-value-sample-');
    try {
      const engine = buildEngine({ dataDir: dir.dir });
      const log = new PostgresEventLog(s.pool);
      await simulateInto(log, { customers: 400, days: 200, seed: 9 });
      await new Processor({ eventLog: log, store: new PostgresEngineStore(s.pool), modules: engine.modules, batchSize: 5000, ...(engine.value ? { value: engine.value } : {}) }).drain();

      const queries = new PostgresValueQueries(s.pool);
      const all = await queries.revenues();
      const exact = await queries.revenueSummary(10_000);
      expect(exact).toMatchObject({ customers: all.length, share: 1 });
      expect(exact.revenueTotal).toBeCloseTo(all.reduce((a, b) => a + b, 0), 6);
      const sampled = await queries.revenueSummary(100);
      expect(sampled.customers).toBe(all.length);
      expect(sampled.revenueTotal).toBeCloseTo(exact.revenueTotal, 6);
      expect(sampled.share).toBeCloseTo(100 / all.length, 9);
      // Bernoulli: about 100 rows (far more than 4 standard deviations away would fail).
      expect(sampled.revenues.length).toBeGreaterThan(55);
      expect(sampled.revenues.length).toBeLessThan(145);
      // Repeatable: the same rows each time.
      expect((await queries.revenueSummary(100)).revenues).toEqual(sampled.revenues);

      // The summary served from samples against the one from everything.
      const summarise = async (maxSummaryRows: number, maxBuyers?: number) => {
        const value = new ValueEngine(engine.valueOptions);
        await restoreValueFromPostgres(s.pool, value, maxBuyers === undefined ? {} : { maxBuyers });
        const server = createServer({ logger: pino({ level: 'silent' }), maxRequestBytes: 1024 });
        registerValueRoutes(server, {
          queries,
          value,
          lenses: { has: () => true, names: () => [] } as never,
          costs: DEFAULT_UNIT_COSTS,
          heavyUserShare: 0.2,
          latestEventTime: async () => Date.UTC(2025, 6, 20),
          now: () => 0,
          requestRefit: async () => 0,
          maxSummaryRows,
        });
        try {
          return { body: (await server.inject({ method: 'GET', url: '/api/value/summary' })).json() as Record<string, any>, value };
        } finally {
          await server.close();
        }
      };
      const full = await summarise(10_000);
      expect(full.body.sample).toBeNull();
      expect(full.value.purchasesShare()).toBe(1);
      const part = await summarise(100, 100);
      expect(part.value.purchasesShare()).toBeCloseTo(100 / all.length, 9);
      expect(part.value.purchases.size).toBeLessThan(full.value.purchases.size);
      expect(part.body.sample).toEqual({ customerShare: sampled.share, buyerShare: part.value.purchasesShare() });
      expect(part.body.customers).toBe(full.body.customers);
      expect(part.body.revenueTotal).toBeCloseTo(full.body.revenueTotal, 6);
      const near = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(0.5 * b + 5);
      near(part.body.buyers, full.body.buyers);
      near(part.body.clvTotal, full.body.clvTotal);
      near(part.body.clvHistogram.reduce((n: number, b: { count: number }) => n + b.count, 0), full.body.clvHistogram.reduce((n: number, b: { count: number }) => n + b.count, 0));
      // A sampled engine summarises; it does not refit.
      expect(() => part.value.refit(Date.UTC(2025, 6, 20))).toThrow(/sample/);
    } finally {
      dir.cleanup();
      await s.close();
    }
  }, 120_000);
});
