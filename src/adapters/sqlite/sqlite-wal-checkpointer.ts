import type { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './open-database';
import { startSqliteWorker } from './start-sqlite-worker';

/** SQLite's default `wal_autocheckpoint` (pages), restored on the connection when the checkpointer stops. */
const DEFAULT_AUTOCHECKPOINT = 1000;
/**
 * WAL pages waiting before a requested checkpoint runs: about as often as SQLite's own (every 1,000 pages),
 * a little earlier so that other connections (the ingest writer thread keeps the default) seldom reach
 * their threshold and checkpoint on their commit first.
 */
const DEFAULT_MIN_FRAMES = 500;

/**
 * Checkpoints the WAL of an embedded database on a worker thread. By default SQLite checkpoints inside the
 * commit that grows the WAL past 1,000 pages, on the committing connection: with the processor's commits
 * (a few hundred pages each) that put a checkpoint — two fsyncs — into every second or third commit, on the
 * server's event loop. While this runs, the connection it was started for does not checkpoint on commit;
 * {@link request} (after a commit) has the worker do it instead, once `minFrames` pages wait: one at a time,
 * at most one start per `minIntervalMs` (requests made meanwhile are merged into one later run). Stored data
 * is the same; only who copies the WAL back into the database file, and when, changes.
 */
export class SqliteWalCheckpointer {
  private running = false;
  private again = false;
  private closed = false;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private idle: Array<() => void> = [];

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly worker: Worker,
    private readonly onError: (err: Error) => void,
    private readonly minIntervalMs: number,
  ) {
    worker.on('message', (m: { done?: boolean; error?: string }) => {
      if (!m.done) return;
      if (m.error) this.onError(new Error(`WAL checkpoint failed: ${m.error}`));
      this.running = false;
      if (this.again && !this.closed) this.request();
      else this.settle();
    });
    worker.on('error', (err: Error) => {
      this.fallBack();
      this.onError(err);
    });
    worker.on('exit', () => this.fallBack());
  }

  /** Starts the worker on the file of `db` (not `:memory:`), then turns off `db`'s own checkpoints on commit. */
  static async start(
    db: SqliteDatabase,
    opts: { onError?: (err: Error) => void; minIntervalMs?: number; minFrames?: number } = {},
  ): Promise<SqliteWalCheckpointer> {
    const worker = await startSqliteWorker('./sqlite-checkpoint-worker.mjs', { file: db.name, minFrames: opts.minFrames ?? DEFAULT_MIN_FRAMES });
    // Never what keeps the process alive (an app whose start failed half-way may not stop it).
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    return new SqliteWalCheckpointer(db, worker, opts.onError ?? (() => {}), opts.minIntervalMs ?? 0);
  }

  /** Asks for a checkpoint (returns at once; coalesced with one already running). */
  request(): void {
    if (this.closed) return;
    const wait = this.lastStart + this.minIntervalMs - performance.now();
    if (this.running || wait > 0) {
      this.again = true;
      if (!this.running && this.timer === null) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.request();
        }, wait);
        this.timer.unref();
      }
      return;
    }
    this.running = true;
    this.again = false;
    this.lastStart = performance.now();
    this.worker.postMessage({ op: 'checkpoint' });
  }

  /** Waits for the running checkpoint, stops the worker and gives the connection its own checkpoints back. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // Waited for now: keep the process alive until the worker has finished and exited.
    this.worker.ref();
    if (this.running) await new Promise<void>((resolve) => this.idle.push(resolve));
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ op: 'close' });
    await exited;
    this.fallBack();
  }

  private settle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  /** The worker is gone: the connection checkpoints on commit again, as SQLite does by default. */
  private fallBack(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.running = false;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
    this.settle();
  }
}
