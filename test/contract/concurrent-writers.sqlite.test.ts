import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteWorkerEventLog } from '../../src/adapters/sqlite/sqlite-worker-event-log';
import type { ScheduledAction } from '../../src/ports/automation-store';
import type { CustomerRecord, EngineCommit } from '../../src/ports/engine-store';
import { tempDir, toStoredEvent } from '../helpers/sim-log';

/**
 * The server's SQLite file has two writers at once: the ingest writer thread (its own connection) and the
 * main connection (processor commits, the dispatcher's claims). A transaction that reads before it writes
 * must take the write lock first: SQLite does not wait (busy timeout) to upgrade a read transaction to a
 * write one — it fails at once with SQLITE_BUSY while the other connection writes, or SQLITE_BUSY_SNAPSHOT
 * once that connection's commit overtook the snapshot.
 */
describe('SQLite: commits and claims while the ingest writer thread appends', () => {
  let dir: { dir: string; cleanup: () => void };
  let db: SqliteDatabase;
  let log: SqliteWorkerEventLog;
  afterEach(async () => {
    await log?.close();
    db?.close();
    dir?.cleanup();
  });

  /** Keeps the writer thread appending small groups until `stop` is set; `stop.appended` counts the events. */
  async function appendUntil(stop: { done: boolean; appended: number }): Promise<number> {
    let n = 0;
    while (!stop.done) {
      const batch = Array.from({ length: 5 }, () => toStoredEvent({ type: 'track', userId: `w${n % 50}`, event: 'Page Viewed', messageId: `m${++n}`, timestamp: new Date(Date.UTC(2025, 0, 1) + n).toISOString() }));
      await log.append(batch, { now: n, dedupeWindowMs: 1000 });
      stop.appended = n;
    }
    return n;
  }

  const customer = (id: string, i: number): CustomerRecord => ({
    id,
    userId: id,
    anonymousIds: [],
    email: null,
    traits: {},
    traitTimes: {},
    groups: [],
    firstSeen: 0,
    lastSeen: i,
    eventCount: i,
    state: null,
    classifications: { lifecycle: { lens: 'lifecycle', type: i % 2 ? 'active' : 'new', probability: 0.5, probabilities: {}, evidence: [], since: i } },
    indicators: { revenue_total: i },
    purchaseDays: null,
  });
  const commit = (customers: CustomerRecord[], checkpoint: number): EngineCommit => ({ customers, identities: [], merges: [], eventCustomers: [], typeChanges: [], traitChanges: [], checkpoint });

  it('no processor commit fails', async () => {
    dir = tempDir('rapport-concurrent-');
    db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    log = await SqliteWorkerEventLog.open(db);
    const store = new SqliteEngineStore(db);
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    // Existing customers: a commit starts by reading their stored types and contribution.
    await store.commit(commit(ids.map((id) => customer(id, 0)), 1));
    const stop = { done: false, appended: 0 };
    const appending = appendUntil(stop);
    let failures = 0;
    let i = 1;
    // At least 400 commits, and on until the writer thread has appended alongside them for a while.
    for (; i <= 400 || (stop.appended < 200 && i <= 5000); i++) {
      try {
        await store.commit(commit(ids.map((id) => customer(id, i)), i + 1));
      } catch (err) {
        failures++;
        expect((err as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
      }
      // Gaps between commits, as the server's processor has: the writer thread gets the lock in them.
      if (i % 2 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    stop.done = true;
    expect(await appending).toBeGreaterThanOrEqual(200);
    expect(failures).toBe(0);
    expect(await store.checkpoint()).toBe(i);
  });

  it('no dispatcher claim fails', async () => {
    dir = tempDir('rapport-concurrent-');
    db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    log = await SqliteWorkerEventLog.open(db);
    const automation = createSqliteAutomationStore(db);
    const action = (i: number): ScheduledAction => ({
      id: `a${i}`,
      enrolmentId: `e${i}`,
      playbookId: 'pb',
      stepId: 's1',
      customerId: `c${i}`,
      due: i,
      status: 'pending',
      attempts: 0,
      leaseUntil: null,
      reason: null,
      waitEvent: null,
      matched: false,
      deferredSince: null,
      handedOverAt: null,
      createdAt: 0,
    });
    await automation.enrol(Array.from({ length: 400 }, (_, i) => ({
      enrolment: { id: `e${i}`, playbookId: 'pb', customerId: `c${i}`, triggerKey: 't', enteredAt: 0, holdout: false, variant: null, policyLens: 'lifecycle', type: null, status: 'active', reached: false, convertedAt: null, revenue: 0, unsubscribed: false, goalEvent: 'Order Completed', goalWithin: 86_400_000 },
      actions: [action(i)],
    })));
    const stop = { done: false, appended: 0 };
    const appending = appendUntil(stop);
    let failures = 0;
    let claimed = 0;
    for (let i = 0; i < 400 || (stop.appended < 200 && i < 5000); i++) {
      try {
        claimed += (await automation.claimDue(10_000, 1, 60_000)).length;
      } catch (err) {
        failures++;
        expect((err as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
      }
      if (i % 2 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    stop.done = true;
    expect(await appending).toBeGreaterThanOrEqual(200);
    expect(failures).toBe(0);
    expect(claimed).toBe(400);
  });
});
