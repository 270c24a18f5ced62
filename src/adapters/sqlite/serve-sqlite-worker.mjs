// The message loop of the SQLite worker threads (sqlite-append-worker.mjs, sqlite-checkpoint-worker.mjs).
// Plain JS like them: no TypeScript loader needed in a worker.
import { parentPort } from 'node:worker_threads';

/**
 * Answers every message with `handle(message)`, or with `failure(message, error)` when that throws;
 * `{op: 'close'}` closes `db` and the port instead. Posts `{ready: true}` once listening, which
 * startSqliteWorker (start-sqlite-worker.ts) waits for.
 */
export function serveSqliteWorker(db, handle, failure) {
  parentPort.on('message', (m) => {
    if (m.op === 'close') {
      db.close();
      parentPort.close();
      return;
    }
    try {
      parentPort.postMessage(handle(m));
    } catch (err) {
      parentPort.postMessage(failure(m, err));
    }
  });
  parentPort.postMessage({ ready: true });
}
