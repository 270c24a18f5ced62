import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteHandle } from '../../src/app/app-store';
import { buildEngine } from '../../src/app/build-engine';
import { loadConfig } from '../../src/app/config';
import { createApp, type App } from '../../src/app/create-app';
import { defaultExtensions, type DefaultExtensions } from '../../src/app/default-extensions';
import type { SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { Processor } from '../../src/engine/processor';
import { simulate } from '../../src/sim/simulate';
import { tempDir } from '../helpers/sim-log';

/** Every derived table, rows in key order; float sums rounded (batches add them up in another order). */
function derived(db: SqliteDatabase) {
  const all = (sql: string) => db.prepare(sql).all();
  return {
    customers: all('SELECT id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json, first_seen, last_seen, event_count, hex(state) AS state, indicators, classifications, purchase_days FROM customers ORDER BY id'),
    identities: all('SELECT * FROM identities ORDER BY kind, value'),
    merges: all('SELECT * FROM customer_merges ORDER BY from_id'),
    events: all('SELECT * FROM customer_events ORDER BY customer_id, seq'),
    types: all('SELECT * FROM customer_types ORDER BY customer_id, lens'),
    traits: all('SELECT * FROM customer_traits ORDER BY customer_id, key'),
    typeHistory: all('SELECT customer_id, lens, from_type, to_type, at, seq, message_id, event FROM type_history ORDER BY seq, customer_id, lens'),
    traitHistory: all('SELECT customer_id, key, value, at, seq FROM trait_history ORDER BY seq, customer_id, key'),
    daily: all('SELECT * FROM type_daily WHERE delta <> 0 ORDER BY lens, day, type'),
    transitions: all('SELECT * FROM transition_daily ORDER BY lens, day, from_type, to_type'),
    contrib: all('SELECT * FROM customer_contrib ORDER BY customer_id'),
    totals: all(`SELECT lens, type, customers, round(revenue, 6) AS revenue, round(revenue_365d, 6) AS revenue_365d, round(clv_12m, 6) AS clv_12m,
                 support_contacts, emails_delivered FROM type_totals WHERE customers <> 0 ORDER BY lens, type`),
    value: all('SELECT state FROM engine_value_state'),
  };
}

describe('live processing through the HTTP API', () => {
  let app: App | undefined;
  let dir: { dir: string; cleanup: () => void };
  afterEach(async () => {
    await app?.stop();
    dir?.cleanup();
  });

  it('derives exactly what a replay of the log derives (concurrent senders, small live batches, ingest writer thread)', async () => {
    dir = tempDir('rapport-live-replay-');
    const config = loadConfig({ cwd: dir.dir, env: {}, overrides: { port: 0, dataDir: dir.dir } });
    const ext: DefaultExtensions = defaultExtensions(config);
    app = await createApp(config, { logger: pino({ level: 'silent' }), extensions: ext.list });
    const { writeKey } = await app.keyStore.createSource('live', Date.now());
    const { url } = await app.start();
    const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

    // Four senders at once, each with its own customers' messages in order, 20 to a request.
    const messages = [...simulate({ start: Date.UTC(2025, 0, 1), customers: 160, days: 150, seed: 23 }).messages()];
    expect(messages.length).toBeGreaterThan(4000);
    const lanes: Array<typeof messages> = [[], [], [], []];
    for (const m of messages) {
      const who = String((m as { userId?: string; anonymousId?: string }).userId ?? (m as { anonymousId?: string }).anonymousId ?? '');
      let h = 0;
      for (let i = 0; i < who.length; i++) h = (h * 31 + who.charCodeAt(i)) >>> 0;
      lanes[h % 4]!.push(m);
    }
    await Promise.all(
      lanes.map(async (lane) => {
        for (let i = 0; i < lane.length; i += 20) {
          const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ batch: lane.slice(i, i + 20) }) });
          expect(res.status).toBe(200);
        }
      }),
    );
    const db = sqliteHandle(app);
    const last = await app.eventLog.lastSeq();
    for (let i = 0; (await ext.engineExtension.processor().checkpoint()) < last; i++) {
      if (i > 600) throw new Error('the processor did not catch up');
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.stop();
    app = undefined;

    // What the server derived live, then a replay of the same log from scratch in one batch.
    const { openSqliteDatabase } = await import('../../src/adapters/sqlite/open-database');
    const file = db.name;
    const again = openSqliteDatabase(file);
    try {
      const live = derived(again);
      expect(live.customers.length).toBeGreaterThan(100);
      expect(live.typeHistory.length).toBeGreaterThan(300);
      const store = new SqliteEngineStore(again);
      await store.reset();
      const engine = buildEngine({ dataDir: dir.dir });
      const replayed = await new Processor({ eventLog: new SqliteEventLog(again), store, modules: engine.modules, batchSize: 1_000_000, ...(engine.value ? { value: engine.value } : {}) }).drain();
      expect(replayed).toBe(last);
      expect(derived(again)).toEqual(live);
    } finally {
      again.close();
    }
  }, 120_000);
});
