import type { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../domain/errors';
import type { StoredEvent } from '../../domain/event';
import type { AppendOutcome, EventLog } from '../../ports/event-log';
import type { SqliteDatabase } from './open-database';
import { ROW_WIDTH, encodeEventRow } from '../shared/event-row';
import { CLAIM_MESSAGE_ID_SQL, INSERT_EVENT_SQL, SqliteEventLog } from './sqlite-event-log';
import { startSqliteWorker } from './start-sqlite-worker';

interface Pending {
  resolve: (o: AppendOutcome[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Event log whose appends run on a worker thread with its own connection to the same file
 * (WAL allows it). The HTTP thread keeps parsing while the worker commits and fsyncs; reads,
 * lastSeq and pruning use the given connection. Same semantics as {@link SqliteEventLog}.
 * Create with {@link SqliteWorkerEventLog.open}; call {@link close} before closing the database.
 */
export class SqliteWorkerEventLog implements EventLog {
  private readonly local: SqliteEventLog;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: Error | null = null;

  private constructor(
    db: SqliteDatabase,
    private readonly worker: Worker,
  ) {
    this.local = new SqliteEventLog(db);
    worker.on('message', (m: { id: number; seqs?: number[]; error?: { message: string; code?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new UnavailableError(`event log write failed: ${m.error.message}`));
      else p.resolve((m.seqs ?? []).map((seq) => (seq > 0 ? { seq } : { duplicate: true })));
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(new UnavailableError(`event log writer stopped: ${err.message}`));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`worker exited with code ${code}`)));
  }

  /** Starts the writer thread on the database file of `db` (already migrated) and waits until it is ready. */
  static async open(db: SqliteDatabase): Promise<SqliteWorkerEventLog> {
    const worker = await startSqliteWorker('./sqlite-append-worker.mjs', { file: db.name, insertSql: INSERT_EVENT_SQL, claimSql: CLAIM_MESSAGE_ID_SQL, rowWidth: ROW_WIDTH });
    return new SqliteWorkerEventLog(db, worker);
  }

  append(events: readonly StoredEvent[], opts: { now: number; dedupeWindowMs: number }): Promise<AppendOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    if (this.failed) return Promise.reject(new UnavailableError(`event log writer stopped: ${this.failed.message}`));
    const rows: unknown[] = [];
    for (const e of events) encodeEventRow(e, rows);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op: 'append', rows, now: opts.now, windowStart: opts.now - opts.dedupeWindowMs });
    });
  }

  read(after: number, limit: number): Promise<StoredEvent[]> {
    return this.local.read(after, limit);
  }

  lastSeq(): Promise<number> {
    return this.local.lastSeq();
  }

  pruneDedupe(before: number): Promise<number> {
    return this.local.pruneDedupe(before);
  }

  /** Stops the writer thread after the appends already sent. */
  async close(): Promise<void> {
    if (this.failed) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ op: 'close' });
    await exited;
  }
}
