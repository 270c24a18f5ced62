import { describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { createRng } from '../../src/domain/random';
import { replayFromScratch, derivedSnapshot } from './replay-helpers';
import { toStoredEvent } from '../helpers/sim-log';
import { freshSqliteEach } from '../helpers/fresh-sqlite';

const t = freshSqliteEach();

/**
 * A log full of identity changes among few people: anonymous orders, identifies joining anonymous ids,
 * aliases between users and anonymous ids (many merges), tickets from shared devices.
 */
function mergeHeavyLog(events: number): Array<Record<string, unknown>> {
  const random = createRng(99);
  const rng = (): number => random.next();
  const out: Array<Record<string, unknown>> = [];
  let t = Date.UTC(2025, 0, 1);
  for (let k = 0; k < events; k++) {
    t += 600_000;
    const i = Math.floor(rng() * 40);
    const j = Math.floor(rng() * 40);
    const r = rng();
    const base = { timestamp: new Date(t).toISOString(), messageId: `m${k}` };
    if (r < 0.25) out.push({ ...base, type: 'track', event: 'Order Completed', anonymousId: `a${i}`, properties: { order_id: `o${k}`, revenue: 10 + i } });
    else if (r < 0.45) out.push({ ...base, type: 'identify', userId: `u${i}`, anonymousId: `a${j}`, traits: { email: `u${i}@example.com` } });
    else if (r < 0.5) out.push({ ...base, type: 'alias', userId: `u${i}`, previousId: rng() < 0.5 ? `u${j}` : `a${j}` });
    else if (r < 0.8) out.push({ ...base, type: 'track', event: 'Order Completed', userId: `u${i}`, properties: { order_id: `o${k}`, revenue: 20 + j } });
    else out.push({ ...base, type: 'track', event: 'Support Ticket Created', userId: `u${i}`, ...(rng() < 0.3 ? { anonymousId: `a${j}` } : {}), properties: {} });
  }
  return out;
}


describe('processor merges with a small cache', () => {
  it('gives the same state when merges evict customers mid-chunk (tiny cache) as with everything cached', async () => {
    const log = new SqliteEventLog(t.db);
    await log.append(mergeHeavyLog(1500).map((m) => toStoredEvent(m)), { now: 0, dedupeWindowMs: 0 });
    expect(await replayFromScratch(t.db, t.dir, { batchSize: 100_000, cacheSize: 100_000 })).toBe(1500);
    const reference = derivedSnapshot(t.db);
    expect(reference.merges.length).toBeGreaterThan(10);

    // Merges flush and evict within chunks: the merged customers and the rest of the chunk are reloaded,
    // and no prefetch reads the store before the merge is committed there.
    expect(await replayFromScratch(t.db, t.dir, { batchSize: 7, cacheSize: 4 })).toBe(1500);
    expect(derivedSnapshot(t.db)).toEqual(reference);
    expect(await replayFromScratch(t.db, t.dir, { batchSize: 500, cacheSize: 3 })).toBe(1500);
    expect(derivedSnapshot(t.db)).toEqual(reference);
  });
});
