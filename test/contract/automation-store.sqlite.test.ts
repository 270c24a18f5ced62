import { mkdtempSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { automationStoreContract } from './automation-store.contract';

automationStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-auto-store-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  const store = createSqliteAutomationStore(db, { closeDb: true });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite automation store: hand-over marks', () => {
  it('commit without the disk flush but leave the shared connection at its synchronous level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-auto-store-'));
    const db = openSqliteDatabase(join(dir, 'rapport.db'));
    try {
      const store = createSqliteAutomationStore(db);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect((await store.markHandedOver([{ id: 'none', leaseUntil: 1 }], 1)).size).toBe(0);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      // Another component sharing the connection lowered it: kept as it is.
      db.pragma('synchronous = NORMAL');
      await store.markHandedOver([{ id: 'none', leaseUntil: 1 }], 2);
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
