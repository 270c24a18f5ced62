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
import { publishClockTick } from '../../src/app/roles/control-publisher';
import { controlEvent } from '../../src/engine/control-event';
import { CLOCK_TICK_EVENT, Processor } from '../../src/engine/processor';
import { simulate } from '../../src/sim/simulate';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { tempDir, toStoredEvent } from '../helpers/sim-log';
import { caughtUp, derivedState, leaseHolders, NATS_URL, publishRouted, spawnWorker, testStream, waitFor, type WorkerProcess } from './worker-helpers';

const DAY = 86_400_000;
const PARTITIONS = 8;
const VALUE_OPTIONS = { refitEveryDays: 1_000_000 };

if (!PG_URL || !NATS_URL) console.warn('worker-failover.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');

describe.skipIf(!PG_URL || !NATS_URL)('worker failover', () => {
  const fresh = pgSchemas();
  const dir = tempDir('rapport-failover-');
  afterAll(() => dir.cleanup());

  it('moves a SIGKILLed worker’s partitions to the survivors; nothing is lost or counted twice', async () => {
    const events = [...simulate({ start: Date.UTC(2025, 0, 1), customers: 250, days: 200, seed: 23 }).messages()].map((m) => toStoredEvent(m));
    const tickAt = Math.max(...events.map((e) => e.timestamp)) + 30 * DAY;

    // The reference: the embedded processor over the same events and tick.
    const engine = buildEngine({ dataDir: dir.dir, valueOptions: VALUE_OPTIONS });
    const db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    const embedded = { log: new SqliteEventLog(db), store: new SqliteEngineStore(db), queries: new SqliteCustomerQueries(db), feed: new SqliteEngineFeed(db), value: new SqliteValueQueries(db) };
    const opts = { now: Date.now(), dedupeWindowMs: DAY };
    for (let i = 0; i < events.length; i += 5000) await embedded.log.append(events.slice(i, i + 5000), opts);
    await embedded.log.append([controlEvent(CLOCK_TICK_EVENT, 'tick-1', tickAt, tickAt)], opts);
    await new Processor({ eventLog: embedded.log, store: embedded.store, modules: engine.modules, batchSize: 500, ...(engine.value ? { value: engine.value } : {}) }).drain();

    const s = await fresh();
    const ts = await testStream(NATS_URL!, PARTITIONS);
    const workers: WorkerProcess[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        workers.push(
          await spawnWorker({
            databaseUrl: PG_URL,
            natsUrl: NATS_URL,
            schema: s.schema,
            stream: ts.options,
            workerId: `w${i}`,
            dataDir: dir.dir,
            valueOptions: VALUE_OPTIONS,
            rebalanceEveryMs: 300,
            batchSize: 200,
            poolSize: 4,
          }),
        );
      }
      await waitFor('three workers sharing the partitions', async () => {
        const h = await leaseHolders(s.pool);
        return h.size === PARTITIONS && new Set(h.values()).size === 3;
      });

      // Half the events, then kill w1 while the rest is being published and processed.
      const half = Math.floor(events.length / 2);
      await publishRouted(s.pool, ts.stream, events.slice(0, half));
      await waitFor('processing under way', async () => (await s.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customer_events')).rows[0]!.n > 0);
      const killedPartitions = [...(await leaseHolders(s.pool))].filter(([, w]) => w === 'w1').map(([p]) => p);
      expect(killedPartitions.length).toBeGreaterThan(0);
      const publishing = publishRouted(s.pool, ts.stream, events.slice(half));
      workers[1]!.child.kill('SIGKILL');
      await workers[1]!.exited;
      await publishing;

      await waitFor('the survivors to hold every partition', async () => {
        const h = await leaseHolders(s.pool);
        return h.size === PARTITIONS && [...h.values()].every((w) => w === 'w0' || w === 'w2');
      });
      const metrics = await (await fetch(`${workers[0]!.url}/metrics`)).text();
      expect(metrics).toMatch(/rapport_worker_partitions_owned\{[^}]*\} [1-9]/);

      await waitFor('every event processed', () => caughtUp(s.pool, events.length));
      await publishClockTick(ts.stream, 'tick-1', tickAt);
      await waitFor('the tick', () => caughtUp(s.pool, events.length + PARTITIONS));

      // Each event appended once, and the state equals the embedded run's.
      const dup = await s.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT message_id FROM events GROUP BY message_id HAVING count(*) > 1) d');
      expect(dup.rows[0]!.n).toBe(0);
      const lenses = engine.lenses.names();
      const scaled = { store: new PostgresEngineStore(s.pool), queries: new PostgresCustomerQueries(s.pool), feed: new PostgresEngineFeed(s.pool), value: new PostgresValueQueries(s.pool) };
      const left = await derivedState(embedded, lenses);
      const right = await derivedState(scaled, lenses);
      expect(left.count).toBeGreaterThan(150);
      expect(right).toEqual(left);
    } finally {
      for (const w of workers) {
        if (w.child.exitCode === null && w.child.signalCode === null) {
          w.child.kill('SIGTERM');
          await w.exited;
        }
      }
      await ts.close();
      db.close();
      await s.close();
    }
  }, 600_000);
});
