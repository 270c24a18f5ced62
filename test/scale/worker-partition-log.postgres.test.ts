import { describe, expect, it } from 'vitest';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresPartitionLeases } from '../../src/adapters/postgres/postgres-partition-leases';
import { PostgresPartitionLog } from '../../src/adapters/postgres/postgres-partition-log';
import { PostgresPartitionProgress } from '../../src/adapters/postgres/postgres-partition-progress';
import { LeaseLostError } from '../../src/domain/errors';
import type { StoredEvent } from '../../src/domain/event';
import { systemClock } from '../../src/ports/clock';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';

reportPgSkip('worker-partition-log.postgres.test.ts');

const DAY = 86_400_000;

function ev(id: string, userId: string): StoredEvent {
  return {
    seq: 0, messageId: id, type: 'track', userId, anonymousId: null, event: 'Order Completed', name: null, groupId: null, previousId: null,
    properties: { revenue: 5 }, traits: {}, context: {}, integrations: {}, timestamp: 1_700_000_000_000, receivedAt: 1_700_000_000_000, sentAt: null, sourceId: 'test',
  };
}

const batch = (partition: number, events: StoredEvent[], from: number, to: number) => ({ partition, events, from, to, now: Date.now(), dedupeWindowMs: DAY });

describe.skipIf(!PG_URL)('partition log, progress and leases on PostgreSQL', () => {
  const fresh = pgSchemas();

  it('appends stream batches with their positions in one transaction, dedupes by messageId, fences stale writers', async () => {
    const s = await fresh();
    const log = new PostgresPartitionLog(s.pool);
    const out = await log.appendMany([batch(0, [ev('a', 'u1'), ev('b', 'u1')], 0, 10), batch(3, [ev('c', 'u2')], 0, 11)]);
    expect(out.map((o) => (o instanceof Error ? 'lost' : o.map((x) => ('seq' in x ? 'seq' : 'dup'))))).toEqual([['seq', 'seq'], ['seq']]);
    expect(await log.positions()).toEqual(new Map([[0, 10], [3, 11]]));
    expect((await log.reader(0).read(0, 10)).map((e) => e.messageId)).toEqual(['a', 'b']);
    expect((await log.reader(3).read(0, 10)).map((e) => e.messageId)).toEqual(['c']);
    expect(await log.reader(3).lastSeq()).toBe(3);

    // A message seen before (beyond the stream's duplicate window) is not appended again; the position moves.
    const again = await log.append(batch(0, [ev('a', 'u1'), ev('d', 'u1')], 10, 14));
    expect(again.map((x) => 'duplicate' in x)).toEqual([true, false]);
    expect(await log.position(0)).toBe(14);

    // A writer that no longer holds the partition (stale `from`) writes nothing.
    await expect(log.append(batch(0, [ev('e', 'u1')], 10, 15))).rejects.toBeInstanceOf(LeaseLostError);
    const mixed = await log.appendMany([batch(0, [ev('f', 'u1')], 10, 16), batch(3, [ev('g', 'u2')], 11, 12)]);
    expect(mixed[0]).toBeInstanceOf(LeaseLostError);
    expect(mixed[1]).toHaveLength(1);
    expect((await log.reader(0).read(0, 10)).map((e) => e.messageId)).toEqual(['a', 'b', 'd']);
    expect(await log.positions()).toEqual(new Map([[0, 14], [3, 12]]));
    await expect(log.reader(0).append()).rejects.toThrow(/read-only/);
  });

  it('gives the safe processed position: the smallest unprocessed seq over all partitions minus one', async () => {
    const s = await fresh();
    const log = new PostgresPartitionLog(s.pool);
    const progress = new PostgresPartitionProgress(s.pool);
    expect(await progress.safeProcessedSeq()).toBe(0);
    // seqs: p0 = 1, 2, 5; p1 = 3, 4
    await log.append(batch(0, [ev('a', 'u1'), ev('b', 'u1')], 0, 2));
    await log.append(batch(1, [ev('c', 'u2'), ev('d', 'u2')], 0, 4));
    await log.append(batch(0, [ev('e', 'u1')], 2, 5));
    expect(await progress.safeProcessedSeq()).toBe(0);
    const checkpoint = (p: number, seq: number) =>
      s.pool.query(`INSERT INTO engine_checkpoint (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, [`partition:${p}`, seq]);
    await checkpoint(0, 5); // p0 done; p1 not started
    expect(await progress.safeProcessedSeq()).toBe(2);
    await checkpoint(1, 3);
    expect(await progress.safeProcessedSeq()).toBe(3);
    await checkpoint(1, 4);
    expect(await progress.safeProcessedSeq()).toBe(5);
    expect(await progress.partitions()).toEqual([
      { partition: 0, streamSeq: 5, lastSeq: 5, checkpoint: 5 },
      { partition: 1, streamSeq: 4, lastSeq: 4, checkpoint: 4 },
    ]);
  });

  it('fences a partition processor whose partition another worker has processed meanwhile', async () => {
    const s = await fresh();
    const empty = { customers: [], identities: [], merges: [], eventCustomers: [], typeChanges: [], traitChanges: [] };
    const old = new PostgresEngineStore(s.pool, { partition: 0 });
    expect(await old.checkpoint()).toBe(0);
    const next = new PostgresEngineStore(s.pool, { partition: 0 });
    expect(await next.checkpoint()).toBe(0);
    await next.commit({ ...empty, checkpoint: 5 });
    await expect(old.commit({ ...empty, checkpoint: 3 })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await new PostgresEngineStore(s.pool, { partition: 0 }).checkpoint()).toBe(5);
    // Other partitions and the one-processor checkpoint are separate.
    expect(await new PostgresEngineStore(s.pool, { partition: 1 }).checkpoint()).toBe(0);
    expect(await new PostgresEngineStore(s.pool).checkpoint()).toBe(0);
    await next.commit({ ...empty, checkpoint: 7 });
    expect(await new PostgresPartitionProgress(s.pool).safeProcessedSeq()).toBe(0);
  });

  it('shares partitions fairly between live workers and hands a closed worker’s partitions over', async () => {
    const s = await fresh();
    const open = (workerId: string) => PostgresPartitionLeases.open({ pool: s.pool, workerId, partitions: 5, clock: systemClock });
    const a = await open('a');
    try {
      expect((await a.rebalance()).acquired).toEqual([0, 1, 2, 3, 4]);
      const b = await open('b');
      // b's share is 2, but a holds everything until its own round releases its excess.
      expect((await b.rebalance()).acquired).toEqual([]);
      const released: number[] = [];
      expect((await a.rebalance(async (p) => void released.push(p))).released).toEqual([4, 3]);
      expect(released).toEqual([4, 3]);
      expect((await b.rebalance()).acquired).toEqual([3, 4]);
      const holders = await a.holders();
      expect([...holders].sort(([x], [y]) => x - y)).toEqual([[0, 'a'], [1, 'a'], [2, 'a'], [3, 'b'], [4, 'b']]);
      expect(await b.tryAcquireNamed('scheduler')).toBe(true);
      expect(await a.tryAcquireNamed('scheduler')).toBe(false);
      await b.close();
      // b is gone at once (its session ended): a takes everything back, and the scheduler lease is free.
      expect((await a.rebalance()).acquired).toEqual([3, 4]);
      expect(await a.tryAcquireNamed('scheduler')).toBe(true);
      expect(await a.scheduleSlot('clock_tick')).toBeNull();
      await a.setScheduleSlot('clock_tick', 42);
      expect(await a.scheduleSlot('clock_tick')).toBe(42);
    } finally {
      await a.close();
    }
  });
});
