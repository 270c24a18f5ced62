// Worker thread that checkpoints the WAL of the embedded database on its own connection, so the fsyncs of a
// checkpoint (WAL, then database file) do not block the thread that committed. Plain JS (no TypeScript
// loader needed in the worker). Messages: {op: 'checkpoint'}: checkpoints when at least `minFrames` WAL frames
// are not yet copied back (answered with {done: true, frames, backfilled})
// | {op: 'close'}.
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { serveSqliteWorker } from './serve-sqlite-worker.mjs';

const { file, minFrames } = workerData;
const db = new Database(file);
db.pragma('busy_timeout = 5000');
// This connection only checkpoints; it must not start one of its own on commit (it never commits anyway).
db.pragma('wal_autocheckpoint = 0');

serveSqliteWorker(
  db,
  () => {
    // Only once enough is waiting (each checkpoint costs two fsyncs, which the ingest writer's fsyncs queue
    // behind on the same disk); NOOP (SQLite 3.51+, bundled with better-sqlite3 12) reads the WAL's state
    // without copying anything — an older SQLite would take it as PASSIVE, i.e. checkpoint on every request.
    const [w] = db.pragma('wal_checkpoint(NOOP)');
    if (w && w.log - w.checkpointed < minFrames) return { done: true, frames: w.log, backfilled: w.checkpointed };
    // PASSIVE: copies what no reader still needs, never waits for readers or writers.
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    return { done: true, frames: r?.log ?? 0, backfilled: r?.checkpointed ?? 0 };
  },
  (_m, err) => ({ done: true, error: err.message }),
);
