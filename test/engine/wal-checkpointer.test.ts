import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteWalCheckpointer } from '../../src/adapters/sqlite/sqlite-wal-checkpointer';
import { tempDir } from '../helpers/sim-log';

let dir: { dir: string; cleanup: () => void };
let db: SqliteDatabase;

beforeEach(() => {
  dir = tempDir();
  db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
  db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT)');
});
afterEach(() => {
  if (db.open) db.close();
  dir.cleanup();
});

const fill = (rows: number) => {
  const ins = db.prepare('INSERT INTO filler (v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run('x'.repeat(2000));
  })();
};
/** WAL frames not yet copied back into the database file (a no-op checkpoint only reports them). */
const walState = () => db.pragma('wal_checkpoint(NOOP)') as Array<{ log: number; checkpointed: number }>;

describe('WAL checkpointer', () => {
  it('takes checkpoints off the committing connection and copies the WAL back on its worker', async () => {
    const cp = await SqliteWalCheckpointer.start(db, { minIntervalMs: 0 }); // default minFrames (500)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    fill(3000); // ~1,500 pages: past the default threshold, yet no checkpoint on this connection
    const before = walState()[0]!;
    expect(before.log).toBeGreaterThan(1000);
    expect(before.checkpointed).toBe(0);
    cp.request();
    await cp.stop(); // waits for the running checkpoint
    const after = walState()[0]!;
    expect(after.checkpointed).toBe(after.log);
    // Stopped: the connection checkpoints on commit again, and the data is all there.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(db.prepare('SELECT COUNT(*) AS n FROM filler').get()).toEqual({ n: 3000 });
  });

  it('leaves a short WAL alone until enough pages wait', async () => {
    const cp = await SqliteWalCheckpointer.start(db, { minFrames: 400 });
    fill(100); // ~100 pages
    cp.request();
    await cp.stop();
    expect(walState()[0]!.checkpointed).toBe(0);
  });

  it('merges requests made while one runs or within the interval into one later run', async () => {
    const cp = await SqliteWalCheckpointer.start(db, { minIntervalMs: 50, minFrames: 0 });
    fill(500);
    cp.request();
    fill(500);
    cp.request();
    cp.request();
    await new Promise((r) => setTimeout(r, 300));
    const s = walState()[0]!;
    expect(s.checkpointed).toBe(s.log);
    await cp.stop();
  });
});
