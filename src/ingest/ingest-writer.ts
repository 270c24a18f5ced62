import { OverloadedError, UnavailableError } from '../domain/errors';
import type { StoredEvent } from '../domain/event';
import type { Clock } from '../ports/clock';
import type { AppendOutcome, EventLog } from '../ports/event-log';

/** Settings of the group-commit writer. */
export interface IngestWriterOptions {
  eventLog: EventLog;
  clock: Clock;
  /** Bound on events waiting for (or in) a commit; above it `submit` fails with `overloaded`. */
  maxPendingEvents: number;
  /** messageId dedupe window (ms). */
  dedupeWindowMs: number;
  /** Retry-After hint given with `overloaded`. */
  retryAfterSeconds: number;
  /** Largest number of events in one transaction (keeps a single commit short). */
  maxEventsPerCommit?: number;
}

interface Waiter {
  events: readonly StoredEvent[];
  resolve: (outcomes: AppendOutcome[]) => void;
  reject: (err: unknown) => void;
}

/** Called after each commit with the highest seq now in the log. */
export type CommitListener = (lastSeq: number) => void;

/**
 * Group commit: requests enqueue their events; one writer takes everything pending, appends it in
 * one transaction (durable on return), then resolves every waiting request. A 200 is only sent
 * after that, so an acknowledged event survives `kill -9`.
 */
export class IngestWriter {
  private queue: Waiter[] = [];
  private queuedEvents = 0;
  private inFlightEvents = 0;
  private running = false;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly listeners = new Set<CommitListener>();
  private readonly maxPerCommit: number;

  constructor(private readonly opts: IngestWriterOptions) {
    this.maxPerCommit = opts.maxEventsPerCommit ?? 20_000;
  }

  /** Events queued or being committed. */
  get pendingEvents(): number {
    return this.queuedEvents + this.inFlightEvents;
  }

  /** True when the queue is at its bound (readiness probes report not ready). */
  get overloaded(): boolean {
    return this.pendingEvents >= this.opts.maxPendingEvents;
  }

  /**
   * Queues events for the next commit; resolves with one outcome per event once they are durable.
   * Rejects with {@link OverloadedError} when the queue bound would be exceeded, and with
   * {@link UnavailableError} after {@link close}.
   */
  submit(events: readonly StoredEvent[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new UnavailableError('server is shutting down'));
    if (events.length === 0) return Promise.resolve([]);
    // A request bigger than the whole bound would never fit; let it through when the queue is empty.
    if (this.pendingEvents > 0 && this.pendingEvents + events.length > this.opts.maxPendingEvents) {
      return Promise.reject(
        new OverloadedError(
          `write queue is full (${this.pendingEvents} events pending); retry after ${this.opts.retryAfterSeconds}s`,
          this.opts.retryAfterSeconds,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      this.queuedEvents += events.length;
      this.schedule();
    });
  }

  /** Registers a listener run after every commit that appended something; returns an unsubscribe function. */
  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once everything queued so far is committed. */
  flush(): Promise<void> {
    if (this.pendingEvents === 0 && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new events and waits for the queue to drain. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // setImmediate lets every request parsed in this loop turn join the same transaction.
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch: Waiter[] = [];
        let n = 0;
        while (this.queue.length > 0 && (n === 0 || n + (this.queue[0] as Waiter).events.length <= this.maxPerCommit)) {
          const w = this.queue.shift() as Waiter;
          batch.push(w);
          n += w.events.length;
        }
        this.queuedEvents -= n;
        this.inFlightEvents = n;
        await this.commit(batch, n);
        this.inFlightEvents = 0;
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else this.notifyIdle();
    }
  }

  private async commit(batch: Waiter[], n: number): Promise<void> {
    const all: StoredEvent[] = batch.length === 1 ? [...(batch[0] as Waiter).events] : new Array(n);
    if (batch.length > 1) {
      let k = 0;
      for (const w of batch) for (const e of w.events) all[k++] = e;
    }
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.opts.eventLog.append(all, { now: this.opts.clock.now(), dedupeWindowMs: this.opts.dedupeWindowMs });
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    let off = 0;
    let last = 0;
    for (const w of batch) {
      const part = outcomes.slice(off, off + w.events.length);
      off += w.events.length;
      w.resolve(part);
    }
    for (const o of outcomes) if ('seq' in o && o.seq > last) last = o.seq;
    if (last > 0) {
      for (const l of this.listeners) {
        try {
          l(last);
        } catch {
          // A listener's failure must not break acknowledgements.
        }
      }
    }
  }

  private notifyIdle(): void {
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }
}
