import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteWorkerEventLog } from '../../src/adapters/sqlite/sqlite-worker-event-log';
import type { CustomerRecord, EngineCommit } from '../../src/ports/engine-store';
import { actionRow, enrolmentRow } from '../helpers/automation-rows';
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

  /** A fresh database with the ingest writer thread on it, as the server opens it. */
  async function openWithWriter(): Promise<void> {
    dir = tempDir('rapport-concurrent-');
    db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    log = await SqliteWorkerEventLog.open(db);
  }

  /**
   * Runs `step(1), step(2), …` on the main connection while the writer thread appends: at least 400 steps, and
   * on until it has appended 200 events alongside them. Steps that fail count as failures (SQLITE_BUSY*).
   */
  async function alongsideAppends(step: (n: number) => Promise<unknown>): Promise<{ steps: number; failures: number }> {
    const stop = { done: false, appended: 0 };
    const appending = appendUntil(stop);
    let failures = 0;
    let n = 0;
    while (n < 400 || (stop.appended < 200 && n < 5000)) {
      try {
        await step(++n);
      } catch (err) {
        failures++;
        expect((err as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
      }
      // Gaps between steps, as the server's processor and dispatcher have: the writer thread gets the lock in them.
      if (n % 2 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    stop.done = true;
    expect(await appending).toBeGreaterThanOrEqual(200);
    return { steps: n, failures };
  }

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
    await openWithWriter();
    const store = new SqliteEngineStore(db);
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    // Existing customers: a commit starts by reading their stored types and contribution.
    await store.commit(commit(ids.map((id) => customer(id, 0)), 1));
    // Each step commits every customer again, with checkpoint `step + 1`.
    const { steps, failures } = await alongsideAppends((step) => store.commit(commit(ids.map((id) => customer(id, step)), step + 1)));
    expect(failures).toBe(0);
    expect(await store.checkpoint()).toBe(steps + 1);
  });

  it('no dispatcher claim fails', async () => {
    await openWithWriter();
    const automation = createSqliteAutomationStore(db);
    await automation.enrol(
      Array.from({ length: 400 }, (_, i) => {
        const enrolment = enrolmentRow(`e${i}`, `c${i}`);
        return { enrolment, actions: [actionRow(`a${i}`, enrolment, i)] };
      }),
    );
    let claimed = 0;
    const { failures } = await alongsideAppends(async () => {
      claimed += (await automation.claimDue(10_000, 1, 60_000)).length;
    });
    expect(failures).toBe(0);
    expect(claimed).toBe(400);
  });
});
