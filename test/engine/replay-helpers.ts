import type { SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { buildEngine } from '../../src/app/build-engine';
import { Processor, type ProcessorDeps } from '../../src/engine/processor';

/** Replays the whole log of `db` from scratch with fresh modules (lenses in `dataDir`) and the given options. */
export async function replayFromScratch(db: SqliteDatabase, dataDir: string, opts: Pick<ProcessorDeps, 'batchSize' | 'readSize' | 'cacheSize'>): Promise<number> {
  await new SqliteEngineStore(db).reset();
  const engine = buildEngine({ dataDir });
  const p = new Processor({
    eventLog: new SqliteEventLog(db),
    store: new SqliteEngineStore(db),
    modules: engine.modules,
    ...opts,
    ...(engine.value ? { value: engine.value } : {}),
  });
  return p.drain();
}

/** Everything the processor derived in `db`, byte for byte (log positions included). */
export function derivedSnapshot(db: SqliteDatabase) {
  return {
    customers: db.prepare('SELECT id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json, first_seen, last_seen, event_count, hex(state) AS state, indicators, classifications, purchase_days FROM customers ORDER BY id').all(),
    types: db.prepare('SELECT * FROM customer_types ORDER BY customer_id, lens').all(),
    identities: db.prepare('SELECT * FROM identities ORDER BY kind, value').all(),
    merges: db.prepare('SELECT * FROM customer_merges ORDER BY from_id').all(),
    events: db.prepare('SELECT * FROM customer_events ORDER BY customer_id, seq').all(),
    history: db.prepare('SELECT customer_id, lens, from_type, to_type, at, seq, message_id, event FROM type_history ORDER BY id').all(),
    traits: db.prepare('SELECT customer_id, key, value, at, seq FROM trait_history ORDER BY id').all(),
    value: db.prepare('SELECT state FROM engine_value_state').all(),
  };
}
