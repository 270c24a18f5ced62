import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { buildEngine } from '../../src/app/build-engine';
import { Processor, type ProcessorDeps } from '../../src/engine/processor';
import { simulateInto, tempDir } from '../helpers/sim-log';

let dir: { dir: string; cleanup: () => void };
let db: SqliteDatabase;

beforeEach(() => {
  dir = tempDir();
  db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
});
afterEach(() => {
  db.close();
  dir.cleanup();
});

/** Replays the whole log from scratch with fresh modules and the given options. */
async function replay(opts: Pick<ProcessorDeps, 'batchSize' | 'readSize' | 'cacheSize'>): Promise<number> {
  await new SqliteEngineStore(db).reset();
  const engine = buildEngine({ dataDir: dir.dir });
  const p = new Processor({
    eventLog: new SqliteEventLog(db),
    store: new SqliteEngineStore(db),
    modules: engine.modules,
    ...opts,
    ...(engine.value ? { value: engine.value } : {}),
  });
  return p.drain();
}

/** Everything derived, byte for byte. */
function snapshot() {
  return {
    customers: db.prepare('SELECT id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json, first_seen, last_seen, event_count, hex(state) AS state, indicators, classifications, purchase_days FROM customers ORDER BY id').all(),
    types: db.prepare('SELECT * FROM customer_types ORDER BY customer_id, lens').all(),
    identities: db.prepare('SELECT * FROM identities ORDER BY kind, value').all(),
    events: db.prepare('SELECT * FROM customer_events ORDER BY customer_id, seq').all(),
    history: db.prepare('SELECT customer_id, lens, from_type, to_type, at, seq, message_id, event FROM type_history ORDER BY id').all(),
    traits: db.prepare('SELECT customer_id, key, value, at, seq FROM trait_history ORDER BY id').all(),
    value: db.prepare('SELECT state FROM engine_value_state').all(),
  };
}

describe('processor memory and batching', () => {
  it('gives identical state with a tiny cache (evict, reload, slimmed records) and chunked large batches', async () => {
    const { events } = await simulateInto(new SqliteEventLog(db), { customers: 120, days: 300, seed: 23 });
    expect(await replay({ batchSize: 500 })).toBe(events);
    const reference = snapshot();
    expect(reference.customers.length).toBeGreaterThan(100);
    expect(reference.history.length).toBeGreaterThan(300);

    // Customers are evicted after almost every batch and reloaded from the store.
    expect(await replay({ batchSize: 97, cacheSize: 10 })).toBe(events);
    expect(snapshot()).toEqual(reference);

    // One commit per 100,000 events, read in chunks of 313: committed once, same result.
    expect(await replay({ batchSize: 100_000, readSize: 313 })).toBe(events);
    expect(snapshot()).toEqual(reference);
  });
});
