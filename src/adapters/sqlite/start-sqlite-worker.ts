import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread of the SQLite adapter (`script` next to this file) and resolves once it posted
 * `{ ready: true }`, i.e. opened its own connection; rejects if it fails before that.
 */
export async function startSqliteWorker(script: string, workerData: Record<string, unknown>): Promise<Worker> {
  const worker = new Worker(new URL(script, import.meta.url), { workerData });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready?: boolean }) => {
      if (!m.ready) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve();
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
  return worker;
}
