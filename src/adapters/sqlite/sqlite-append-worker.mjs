// Worker thread that owns the event-append connection, so the fsync of each commit does not block
// the HTTP thread. Plain JS (no TypeScript loader needed in the worker); the SQL comes from
// sqlite-event-log.ts through workerData. Messages: {id, op: 'append', rows, now, windowStart} | {op: 'close'}.
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { serveSqliteWorker } from './serve-sqlite-worker.mjs';

const { file, insertSql, claimSql, rowWidth } = workerData;
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -65536');
const insert = db.prepare(insertSql);
const claim = db.prepare(claimSql);

// Returns one number per event: its seq, or 0 for a duplicate.
const append = db.transaction((rows, now, windowStart) => {
  const n = rows.length / rowWidth;
  const out = new Array(n);
  for (let i = 0, o = 0; i < n; i++, o += rowWidth) {
    if (claim.run(rows[o], now, windowStart).changes === 0) {
      out[i] = 0;
      continue;
    }
    out[i] = Number(insert.run(rows[o], rows[o + 1], rows[o + 2], rows[o + 3], rows[o + 4], rows[o + 5], rows[o + 6], rows[o + 7], rows[o + 8]).lastInsertRowid);
  }
  return out;
});

serveSqliteWorker(
  db,
  (m) => ({ id: m.id, seqs: append(m.rows, m.now, m.windowStart) }),
  (m, err) => ({ id: m.id, error: { message: err.message, code: err.code } }),
);
