import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { replayFromScratch, derivedSnapshot } from './replay-helpers';
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


describe('processor memory and batching', () => {
  it('gives identical state with a tiny cache (evict, reload, slimmed records) and chunked large batches', async () => {
    const { events } = await simulateInto(new SqliteEventLog(db), { customers: 120, days: 300, seed: 23 });
    expect(await replayFromScratch(db, dir.dir, { batchSize: 500 })).toBe(events);
    const reference = derivedSnapshot(db);
    expect(reference.customers.length).toBeGreaterThan(100);
    expect(reference.history.length).toBeGreaterThan(300);

    // Customers are evicted after almost every batch and reloaded from the store.
    expect(await replayFromScratch(db, dir.dir, { batchSize: 97, cacheSize: 10 })).toBe(events);
    expect(derivedSnapshot(db)).toEqual(reference);

    // One commit per 100,000 events, read in chunks of 313: committed once, same result.
    expect(await replayFromScratch(db, dir.dir, { batchSize: 100_000, readSize: 313 })).toBe(events);
    expect(derivedSnapshot(db)).toEqual(reference);
  });
});
