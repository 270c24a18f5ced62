import { describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { replayFromScratch, derivedSnapshot } from './replay-helpers';
import { simulateInto } from '../helpers/sim-log';
import { freshSqliteEach } from '../helpers/fresh-sqlite';

const t = freshSqliteEach();

describe('processor memory and batching', () => {
  it('gives identical state with a tiny cache (evict, reload, slimmed records) and chunked large batches', async () => {
    const { events } = await simulateInto(new SqliteEventLog(t.db), { customers: 120, days: 300, seed: 23 });
    expect(await replayFromScratch(t.db, t.dir, { batchSize: 500 })).toBe(events);
    const reference = derivedSnapshot(t.db);
    expect(reference.customers.length).toBeGreaterThan(100);
    expect(reference.history.length).toBeGreaterThan(300);

    // Customers are evicted after almost every batch and reloaded from the store.
    expect(await replayFromScratch(t.db, t.dir, { batchSize: 97, cacheSize: 10 })).toBe(events);
    expect(derivedSnapshot(t.db)).toEqual(reference);

    // One commit per 100,000 events, read in chunks of 313: committed once, same result.
    expect(await replayFromScratch(t.db, t.dir, { batchSize: 100_000, readSize: 313 })).toBe(events);
    expect(derivedSnapshot(t.db)).toEqual(reference);
  });
});
