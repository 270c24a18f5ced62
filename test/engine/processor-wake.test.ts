import { describe, expect, it } from 'vitest';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { buildEngine } from '../../src/app/build-engine';
import { Processor } from '../../src/engine/processor';
import type { EventLog } from '../../src/ports/event-log';
import { toStoredEvent } from '../helpers/sim-log';
import { freshSqliteEach } from '../helpers/fresh-sqlite';

const t = freshSqliteEach();

describe('processor loop', () => {
  it('does not lose a wake that arrives while a batch is reading (no wait for the idle timer)', async () => {
    const log = new SqliteEventLog(t.db);
    let hold: Promise<void> | null = null;
    let release = () => {};
    // An event log whose next read pauses after it has read (and found nothing), like a read in flight.
    const slow: EventLog = {
      append: (events, opts) => log.append(events, opts),
      lastSeq: () => log.lastSeq(),
      pruneDedupe: (before) => log.pruneDedupe(before),
      async read(after, limit) {
        const out = await log.read(after, limit);
        if (hold) {
          const h = hold;
          hold = null;
          await h;
        }
        return out;
      },
    };
    hold = new Promise<void>((r) => (release = r));
    const engine = buildEngine({ dataDir: t.dir });
    const p = new Processor({ eventLog: slow, store: new SqliteEngineStore(t.db), modules: engine.modules });
    const committed = new Promise<number>((resolve) => p.onBatch((b) => resolve(b.lastSeq)));
    p.start(60_000); // an idle timer far longer than the test
    await new Promise((r) => setTimeout(r, 20)); // the loop's first read is now paused, having found nothing
    await log.append([toStoredEvent({ type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'w1', timestamp: '2025-03-01T10:00:00Z', properties: { revenue: 10 } })], { now: 0, dedupeWindowMs: 0 });
    p.wake(); // the ingest writer committed: the loop is not waiting yet, the wake must not be dropped
    release();
    const t0 = performance.now();
    expect(await committed).toBe(1);
    expect(performance.now() - t0).toBeLessThan(5_000);
    await p.stop();
    p.dispose();
  });
});
