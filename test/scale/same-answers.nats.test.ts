import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresCustomerQueries } from '../../src/adapters/postgres/postgres-customer-queries';
import { PostgresEngineFeed } from '../../src/adapters/postgres/postgres-engine-feed';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresValueQueries } from '../../src/adapters/postgres/postgres-value-queries';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteCustomerQueries } from '../../src/adapters/sqlite/sqlite-customer-queries';
import { SqliteEngineFeed } from '../../src/adapters/sqlite/sqlite-engine-feed';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { SqliteValueQueries } from '../../src/adapters/sqlite/sqlite-value-queries';
import { buildEngine } from '../../src/app/build-engine';
import { loadConfig } from '../../src/app/config';
import { rebuildPartitions } from '../../src/app/rebuild-partitions';
import { publishClockTick, publishValueRefit } from '../../src/app/roles/control-publisher';
import { controlEvent } from '../../src/engine/control-event';
import { startWorkerRole, type WorkerRoleHandle } from '../../src/app/roles/worker-role';
import { CLOCK_TICK_EVENT, Processor, VALUE_REFIT_EVENT } from '../../src/engine/processor';
import { systemClock } from '../../src/ports/clock';
import { simulate } from '../../src/sim/simulate';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { tempDir, toStoredEvent } from '../helpers/sim-log';
import { caughtUp, derivedState, NATS_URL, partitionValueState, publishRouted, testStream, waitFor } from './worker-helpers';

const DAY = 86_400_000;
const PARTITIONS = 6;
// Refits only where the log says so (the scaled-out rule), in both modes: no event-time schedule.
const VALUE_OPTIONS = { refitEveryDays: 1_000_000 };

if (!PG_URL || !NATS_URL) console.warn('same-answers.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');

describe.skipIf(!PG_URL || !NATS_URL)('workers fed by the stream', () => {
  const fresh = pgSchemas();
  const dir = tempDir('rapport-same-answers-');
  afterAll(() => dir.cleanup());

  it('derive exactly what the embedded processor derives from the same events (3 workers, refit and tick at the end)', async () => {
    const events = [...simulate({ start: Date.UTC(2025, 0, 1), customers: 300, days: 240, seed: 11 }).messages()].map((m) => toStoredEvent(m));
    expect(events.length).toBeGreaterThan(2000);
    const lastTs = Math.max(...events.map((e) => e.timestamp));
    const tickAt = lastTs + 30 * DAY;

    // Embedded: one SQLite log, one processor; the refit fits in-process.
    const engine = buildEngine({ dataDir: dir.dir, valueOptions: VALUE_OPTIONS });
    const db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    const embedded = { log: new SqliteEventLog(db), store: new SqliteEngineStore(db), queries: new SqliteCustomerQueries(db), feed: new SqliteEngineFeed(db), value: new SqliteValueQueries(db) };
    const opts = { now: Date.now(), dedupeWindowMs: DAY };
    for (let i = 0; i < events.length; i += 5000) await embedded.log.append(events.slice(i, i + 5000), opts);
    await embedded.log.append([controlEvent(VALUE_REFIT_EVENT, 'refit-1', lastTs, lastTs), controlEvent(CLOCK_TICK_EVENT, 'tick-1', tickAt, tickAt)], opts);
    const p = new Processor({ eventLog: embedded.log, store: embedded.store, modules: engine.modules, batchSize: 500, ...(engine.value ? { value: engine.value } : {}) });
    await p.drain();

    // Scaled out: 3 workers (own pools, own engines), events routed and published to the stream.
    const s = await fresh();
    const ts = await testStream(NATS_URL!, PARTITIONS);
    const config = loadConfig({ cwd: dir.dir, env: {} });
    const workers: WorkerRoleHandle[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        workers.push(
          await startWorkerRole({
            config,
            databaseUrl: PG_URL!,
            natsUrl: NATS_URL!,
            schema: s.schema,
            stream: ts.options,
            engine: buildEngine({ dataDir: dir.dir, valueOptions: VALUE_OPTIONS }),
            workerId: `w${i}`,
            schedule: false,
            rebalanceEveryMs: 200,
            poolSize: 4,
            batchSize: 500,
          }),
        );
      }
      await publishRouted(s.pool, ts.stream, events);
      await waitFor('the workers to process every event', () => caughtUp(s.pool, events.length));
      // Every worker got a share.
      expect(workers.map((w) => w.owned().length).sort()).toEqual([2, 2, 2]);
      const valueOptions = engine.valueOptions;
      const fitted = await publishValueRefit(ts.stream, s.pool, { id: 'refit-1', at: lastTs, now: lastTs, valueOptions });
      expect(fitted.models).not.toBeNull();
      await waitFor('the refit', () => caughtUp(s.pool, events.length + PARTITIONS));
      await publishClockTick(ts.stream, 'tick-1', tickAt);
      await waitFor('the tick', () => caughtUp(s.pool, events.length + 2 * PARTITIONS));

      const lenses = engine.lenses.names();
      const scaled = { store: new PostgresEngineStore(s.pool), queries: new PostgresCustomerQueries(s.pool), feed: new PostgresEngineFeed(s.pool), value: new PostgresValueQueries(s.pool) };
      const left = await derivedState(embedded, lenses);
      const right = await derivedState(scaled, lenses);
      expect(left.count).toBeGreaterThan(200);
      expect(left.history.some((h) => h.types.some((t) => t.event === CLOCK_TICK_EVENT))).toBe(true);
      // The per-lens figures compared below (economics, transitions, past distributions) are not empty.
      const perLens = Object.values(left.perLens) as Array<{ economics: unknown[] | null; transitions: unknown[]; asOf: Record<string, number> }>;
      expect(perLens.every((l) => (l.economics ?? []).length > 0 && l.transitions.length > 0 && Object.keys(l.asOf).length > 0)).toBe(true);
      expect(right.count).toBe(left.count);
      expect(right).toEqual(left);

      const value = await embedded.store.loadValueState();
      const v = value.state as { models: unknown; heavyThreshold: number };
      expect(v.models).not.toBeNull();
      const parts = await partitionValueState(s.pool, PARTITIONS);
      for (const m of parts.models) expect(m).toEqual({ models: v.models, heavyThreshold: Number.isFinite(v.heavyThreshold) ? v.heavyThreshold : null });
      expect(parts.purchases).toEqual(value.purchases);

      // `rapport replay` on this database: refused while workers hold partitions ...
      const rebuild = (batchSize: number) =>
        rebuildPartitions({ pool: s.pool, engine: buildEngine({ dataDir: dir.dir, valueOptions: VALUE_OPTIONS }), partitions: PARTITIONS, clock: systemClock, batchSize });
      await expect(rebuild(700)).rejects.toMatchObject({ code: 'workers_running', message: expect.stringMatching(/stop every worker/) });
      for (const w of workers.splice(0)) await w.stop();
      // ... and with them stopped, it derives the same state from the log again, partition by partition.
      expect(await rebuild(700)).toEqual({ events: events.length + 2 * PARTITIONS, partitions: PARTITIONS });
      expect(await derivedState(scaled, lenses)).toEqual(left);
      expect((await partitionValueState(s.pool, PARTITIONS)).purchases).toEqual(value.purchases);
    } finally {
      for (const w of workers) await w.stop();
      await ts.close();
      db.close();
      await s.close();
    }
  }, 600_000);
});
