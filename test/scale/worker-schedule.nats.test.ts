import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config';
import { startWorkerRole } from '../../src/app/roles/worker-role';
import { CLOCK_TICK_EVENT, VALUE_REFIT_EVENT } from '../../src/engine/processor';
import { FITTED_MODELS_PROPERTY } from '../../src/engine/value-engine';
import { ManualClock } from '../../src/ports/clock';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { tempDir } from '../helpers/sim-log';
import { NATS_URL, testStream, waitFor } from './worker-helpers';

const HOUR = 3_600_000;

if (!PG_URL || !NATS_URL) console.warn('worker-schedule.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');

describe.skipIf(!PG_URL || !NATS_URL)('the scheduler worker', () => {
  const fresh = pgSchemas();
  const dir = tempDir('rapport-schedule-');
  afterAll(() => dir.cleanup());

  it('publishes clock ticks and value refits (with fitted models) to every partition on the wall clock, once per slot', async () => {
    writeFileSync(join(dir.dir, 'rapport.config.yaml'), 'engine:\n  tickEveryHours: 1\nvalue:\n  refitEveryDays: 1\n');
    const config = loadConfig({ cwd: dir.dir, env: {} });
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 30));
    const s = await fresh();
    const ts = await testStream(NATS_URL!, 2);
    const start = () =>
      startWorkerRole({ config, databaseUrl: PG_URL!, natsUrl: NATS_URL!, schema: s.schema, stream: ts.options, clock, rebalanceEveryMs: 100, poolSize: 3 });
    const controls = async (event: string) =>
      (await s.pool.query<{ message_id: string; data: string }>('SELECT message_id, data FROM events WHERE event = $1 ORDER BY seq', [event])).rows;
    let w = await start();
    try {
      // The first scheduler only starts counting.
      await waitFor('the schedule to be recorded', async () => (await s.pool.query('SELECT 1 FROM worker_schedules')).rowCount === 2);
      expect(await controls(CLOCK_TICK_EVENT)).toEqual([]);
      clock.advance(HOUR);
      await waitFor('a tick in every partition', async () => (await controls(CLOCK_TICK_EVENT)).length === 2);
      const slot = Math.floor(clock.now() / HOUR);
      expect((await controls(CLOCK_TICK_EVENT)).map((r) => r.message_id).sort()).toEqual([`rapport-tick-${slot}:p0`, `rapport-tick-${slot}:p1`]);

      // A restarted scheduler neither repeats the slot nor skips the next one; a day later the value models are refitted too.
      await w.stop();
      w = await start();
      clock.advance(24 * HOUR);
      await waitFor('the refit in every partition', async () => (await controls(VALUE_REFIT_EVENT)).length === 2);
      await waitFor('the second tick', async () => (await controls(CLOCK_TICK_EVENT)).length === 4);
      for (const r of await controls(VALUE_REFIT_EVENT)) {
        // Too few buyers to fit: the event says so (models null), and every partition keeps its models.
        expect((JSON.parse(r.data) as { properties: Record<string, unknown> }).properties[FITTED_MODELS_PROPERTY]).toEqual({ models: null, heavyThreshold: null });
      }
    } finally {
      await w.stop();
      await ts.close();
      await s.close();
    }
  }, 120_000);
});
