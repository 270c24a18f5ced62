import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import type { EngineCommit, StoredClassification } from '../../src/ports/engine-store';
import { sampleCustomer } from './engine-store.contract';

// The SQLite engine store remembers what its live commits wrote (cold columns, contribution, type rows) and
// compares the next commit with that instead of reading the rows back. These cases check that the memory
// never outlives a write it did not make.

const T0 = Date.UTC(2025, 0, 1);

function typed(type: string, probability = 0.6): Record<string, StoredClassification> {
  return { lifecycle: { lens: 'lifecycle', type, probability, probabilities: {}, evidence: [], since: T0 } };
}

function commit(over: Partial<EngineCommit>): EngineCommit {
  return { customers: [], identities: [], merges: [], eventCustomers: [], typeChanges: [], traitChanges: [], checkpoint: 0, ...over };
}

describe('SqliteEngineStore: memory of its own writes', () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapport-engine-memo-'));
    db = openSqliteDatabase(join(dir, 'rapport.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const totals = () =>
    db.prepare(`SELECT type, customers, revenue FROM type_totals WHERE lens = 'lifecycle' AND customers <> 0 ORDER BY type`).all();
  const typeRow = (id: string) => db.prepare(`SELECT type, probability FROM customer_types WHERE customer_id = ?`).all(id);

  it('keeps types, scores and totals right over consecutive live commits', async () => {
    const store = new SqliteEngineStore(db);
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new') })], checkpoint: 1 }));
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new', 0.7), indicators: { revenue_total: 40 } })], checkpoint: 2 }));
    expect(typeRow('a')).toEqual([{ type: 'new', probability: 0.7 }]);
    expect(totals()).toEqual([{ type: 'new', customers: 1, revenue: 40 }]);
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('active', 0.8), indicators: { revenue_total: 90 } })], checkpoint: 3 }));
    expect(typeRow('a')).toEqual([{ type: 'active', probability: 0.8 }]);
    expect(totals()).toEqual([{ type: 'active', customers: 1, revenue: 90 }]);
  });

  it('forgets what it wrote when another store on the connection resets the state', async () => {
    const store = new SqliteEngineStore(db);
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new'), indicators: { revenue_total: 10 } })], checkpoint: 1 }));
    await new SqliteEngineStore(db).reset();
    // Same cold columns as remembered: without the reset noticed, the commit would update a row that is gone.
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new'), indicators: { revenue_total: 10 } })], checkpoint: 2 }));
    expect(db.prepare(`SELECT COUNT(*) AS n FROM customers WHERE id = 'a'`).get()).toEqual({ n: 1 });
    expect(typeRow('a')).toEqual([{ type: 'new', probability: 0.6 }]);
    expect(totals()).toEqual([{ type: 'new', customers: 1, revenue: 10 }]);
  });

  it('commits again reading the rows when a remembered row was removed behind its back', async () => {
    const store = new SqliteEngineStore(db);
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new') })], checkpoint: 1 }));
    db.prepare(`DELETE FROM customers WHERE id = 'a'`).run();
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new', 0.9) })], checkpoint: 2 }));
    const row = db.prepare(`SELECT user_id, email, event_count FROM customers WHERE id = 'a'`).get();
    expect(row).toEqual({ user_id: 'user-a', email: 'a@example.com', event_count: 1 });
    expect(typeRow('a')).toEqual([{ type: 'new', probability: 0.9 }]);
    expect(await store.checkpoint()).toBe(2);
  });

  it('forgets a failed commit: the next one reads what is stored', async () => {
    const store = new SqliteEngineStore(db);
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('new') })], checkpoint: 1 }));
    // Fails inside the transaction (a NOT NULL column), after customer a's rows were written in it.
    const bad = { ...sampleCustomer('b'), firstSeen: null as unknown as number };
    await expect(
      store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('active') }), bad], checkpoint: 2 })),
    ).rejects.toThrow();
    expect(typeRow('a')).toEqual([{ type: 'new', probability: 0.6 }]);
    await store.commit(commit({ customers: [sampleCustomer('a', { classifications: typed('active') })], checkpoint: 3 }));
    expect(typeRow('a')).toEqual([{ type: 'active', probability: 0.6 }]);
    expect(totals()).toEqual([{ type: 'active', customers: 1, revenue: 0 }]);
  });
});
