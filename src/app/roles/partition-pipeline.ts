import type { PartitionReader, PartitionStream } from '../../adapters/nats/partition-stream';
import type { PostgresPool } from '../../adapters/postgres/open-pool';
import { PostgresEngineStore } from '../../adapters/postgres/postgres-engine-store';
import type { PartitionEventReader, PostgresPartitionLog, StreamBatch } from '../../adapters/postgres/postgres-partition-log';
import type { StoredEvent } from '../../domain/event';
import { LeaseLostError } from '../../domain/errors';
import type { EngineModules } from '../../engine/engine-modules';
import { isControlEvent, Processor, type ProcessedBatch } from '../../engine/processor';
import { ValueEngine, type ValueEngineOptions } from '../../engine/value-engine';
import type { Clock } from '../../ports/clock';
import type { AppendOutcome, EventLog } from '../../ports/event-log';

/** What a partition pipeline reports (the worker's metrics). */
export interface PipelineObserver {
  appended(partition: number, events: number): void;
  processed(partition: number, events: number): void;
  /** Seconds from an event's receipt (ingest) to its commit by the processor. */
  latency(seconds: number): void;
  error(kind: 'append' | 'process' | 'decode' | 'read', err: unknown): void;
}

/**
 * A partition processor's value engine (null options: value models off). Refits come only as control
 * events carrying models fitted once for all partitions: no refit on event-time boundaries (each partition
 * would fit on its own customers).
 */
export function partitionValueEngine(valueOptions: ValueEngineOptions | null): ValueEngine | undefined {
  return valueOptions ? new ValueEngine({ ...valueOptions, refitEveryDays: Number.POSITIVE_INFINITY }) : undefined;
}

/** Dependencies of one partition's pipeline, passed as one object. */
export interface PartitionPipelineDeps {
  readonly partition: number;
  readonly stream: PartitionStream;
  readonly pool: PostgresPool;
  readonly partitionLog: PostgresPartitionLog;
  readonly modules: EngineModules;
  /** Value-model settings (null: value models off). */
  readonly valueOptions: ValueEngineOptions | null;
  readonly clock: Clock;
  readonly dedupeWindowMs: number;
  /** Most stream messages appended per transaction (default 2000). */
  readonly appendBatch?: number;
  /** Least time between two processor commits while events keep coming (ms, default 50). */
  readonly commitEveryMs?: number | (() => number);
  /** Processor batch size (default 2000) and customers it keeps decoded (default 20,000). */
  readonly batchSize?: number;
  readonly cacheSize?: number;
  readonly observer: PipelineObserver;
  /** Shared by the worker's pipelines: how many processors may run at once (default: no limit). */
  readonly turns?: Turns;
  /** Shared by the worker's pipelines (group append); default: one transaction per batch. */
  readonly appender?: GroupAppender;
  /** Called once when another worker took the partition over (the owner must drop it). */
  readonly onLost: (partition: number) => void;
}

/**
 * Group append for one worker: the batches its partitions read while an append is in flight go into the
 * next transaction together (one commit per round instead of one per partition).
 */
export class GroupAppender {
  private queue: Array<{ batch: StreamBatch; resolve: (o: AppendOutcome[]) => void; reject: (e: unknown) => void }> = [];
  private draining = false;

  constructor(private readonly log: PostgresPartitionLog) {}

  /** Appends one partition's batch (in the next group); rejects with LeaseLostError when fenced out. */
  append(batch: StreamBatch): Promise<AppendOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        const out = await this.log.appendMany(group.map((g) => g.batch));
        group.forEach((g, i) => {
          const o = out[i]!;
          if (o instanceof Error) g.reject(o);
          else g.resolve(o);
        });
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.draining = false;
  }
}

/**
 * At most `n` of a worker's partition processors run at once. They share one thread: with all of them
 * interleaved, a commit's next statement waits behind every other partition's processing.
 */
export class Turns {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly n: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Events handed over in memory before the processor falls back to reading them from PostgreSQL. */
const MAX_HANDED = 50_000;

/**
 * The event log of one partition as its processor reads it. Events this pipeline appended are handed
 * over in memory (the same events, with the seqs PostgreSQL gave them: no read back and decode);
 * anything older — appended by a previous owner, or dropped when the hand-over queue overflowed — is
 * read from PostgreSQL. It also remembers when each event was received, so the commit that classifies
 * it can report the event-to-classification latency.
 */
class TimedReader implements EventLog {
  private readonly received: Array<[seq: number, receivedAt: number]> = [];
  private head = 0;
  private maxSeq = 0;
  /** Every event of the partition after `handedAfter` is in `handed` (or not appended yet). */
  private handedAfter = Number.POSITIVE_INFINITY;
  private handed: StoredEvent[] = [];

  constructor(private readonly inner: PartitionEventReader) {}

  /** Starts handing over: everything after `seq` (the partition's last seq before this pipeline appends) comes through {@link hand}. */
  handFrom(seq: number): void {
    this.handedAfter = seq;
    this.handed = [];
  }

  /** Events just appended (committed), with their seqs, in log order. */
  hand(events: readonly StoredEvent[]): void {
    if (events.length === 0 || this.handedAfter === Number.POSITIVE_INFINITY) return;
    if (this.handed.length + events.length > MAX_HANDED) {
      // The processor is far behind: it reads from PostgreSQL up to here, then from memory again.
      this.handed = [];
      this.handedAfter = events[events.length - 1]!.seq;
      return;
    }
    for (const e of events) this.handed.push(e);
  }

  async read(after: number, limit: number): Promise<StoredEvent[]> {
    // Yield to I/O between chunks: the processors of a worker's partitions share one thread, and another
    // partition's commit in flight holds locks on shared counter rows until its next statement is sent.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const events = after >= this.handedAfter ? this.fromMemory(after, limit) : await this.inner.read(after, limit);
    for (const e of events) {
      // A re-read after a failed batch must not count the same event twice.
      if (e.seq <= this.maxSeq) continue;
      this.maxSeq = e.seq;
      if (!isControlEvent(e)) this.received.push([e.seq, e.receivedAt]);
    }
    return events;
  }

  private fromMemory(after: number, limit: number): StoredEvent[] {
    let i = 0;
    while (i < this.handed.length && this.handed[i]!.seq <= after) i++;
    if (i > 0) this.handed = this.handed.slice(i);
    return this.handed.slice(0, limit);
  }

  /** Receipt times of the events committed up to `lastSeq`, removed from the queue. */
  committed(lastSeq: number): number[] {
    const out: number[] = [];
    while (this.head < this.received.length && this.received[this.head]![0] <= lastSeq) out.push(this.received[this.head++]![1]);
    if (this.head > 4096 && this.head * 2 > this.received.length) {
      this.received.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }

  lastSeq(): Promise<number> {
    return this.inner.lastSeq();
  }
  append(): Promise<AppendOutcome[]> {
    return this.inner.append();
  }
  pruneDedupe(): Promise<number> {
    return this.inner.pruneDedupe();
  }
}

/**
 * One owned partition: the sequencer reads the partition's stream subject from the position stored in
 * PostgreSQL and appends each batch with the new position in one transaction; the partition's
 * processor tails `events WHERE partition = p` after its own checkpoint (state + checkpoint commit
 * atomically). Both restart from PostgreSQL after a crash: nothing is lost or applied twice.
 */
export class PartitionPipeline {
  private position = 0;
  private reader: PartitionReader | null = null;
  private log: TimedReader | null = null;
  private loop: Promise<void> | null = null;
  private running = false;
  private needReopen = false;
  private processing: Promise<void> | null = null;
  private wakeProcessor: (() => void) | null = null;
  /** Set by the sequencer after an append: a wake-up that arrives while the processor is busy is not lost. */
  private woken = false;

  constructor(private readonly deps: PartitionPipelineDeps) {}

  get partition(): number {
    return this.deps.partition;
  }

  /** Stream position appended so far. */
  streamPosition(): number {
    return this.position;
  }

  /** Loads the stored position, starts reading the stream and processing. */
  async start(): Promise<void> {
    const d = this.deps;
    this.position = await d.partitionLog.position(d.partition);
    const log = new TimedReader(d.partitionLog.reader(d.partition));
    // Only this pipeline appends to the partition while it holds the lease (the append is fenced).
    log.handFrom(await log.lastSeq());
    this.log = log;
    const value = partitionValueEngine(d.valueOptions);
    const processor = new Processor({
      eventLog: log,
      store: new PostgresEngineStore(d.pool, { partition: d.partition }),
      modules: d.modules,
      batchSize: d.batchSize ?? 2000,
      // Small chunks: processing yields to I/O every few milliseconds (see TimedReader.read).
      readSize: 50,
      cacheSize: d.cacheSize ?? 20_000,
      ...(value ? { value } : {}),
      onError: (err) => d.observer.error('process', err),
    });
    processor.onBatch((b: ProcessedBatch) => {
      d.observer.processed(d.partition, b.events);
      const now = d.clock.now();
      for (const at of log.committed(b.lastSeq)) d.observer.latency(Math.max(0, now - at) / 1000);
    });
    this.reader = await d.stream.read(d.partition, this.position);
    this.running = true;
    this.processing = this.process(processor).finally(() => processor.dispose());
    this.loop = this.sequence();
  }

  /** Stops reading, finishes the batch in flight, stops the processor (then the lease may go). */
  async stop(): Promise<void> {
    this.running = false;
    await this.reader?.stop();
    await this.loop;
    this.wakeProcessor?.();
    await this.processing;
    this.processing = null;
    this.loop = null;
  }

  /** Stream messages on the subject not yet appended (last subject seq − stored position). */
  async lag(): Promise<number> {
    const last = await this.deps.stream.lastSeq(this.deps.partition);
    return Math.max(0, last - this.position);
  }

  /**
   * The processor's loop, paced: at most one commit per `commitEveryMs` (default 50) while events keep
   * coming. A commit costs about ten statements whatever its size, and a worker commits for every
   * partition it owns, so under steady load small commits would cost more than the events in them.
   */
  private async process(processor: Processor): Promise<void> {
    const pace = this.deps.commitEveryMs ?? 50;
    let last = 0;
    while (this.running) {
      const wait = last + (typeof pace === 'number' ? pace : pace()) - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      last = performance.now();
      this.woken = false;
      let n = 0;
      try {
        n = this.deps.turns ? await this.deps.turns.run(() => processor.runOnce()) : await processor.runOnce();
      } catch (err) {
        this.deps.observer.error('process', err);
        if (err instanceof LeaseLostError) {
          this.running = false;
          this.deps.onLost(this.deps.partition);
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (n > 0 || this.woken || !this.running) continue;
      // Caught up: sleep until the sequencer appends more (or a while, to notice a previous owner's events).
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.wakeProcessor = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeProcessor = null;
    }
  }

  private async sequence(): Promise<void> {
    const d = this.deps;
    const max = d.appendBatch ?? 2000;
    while (this.running) {
      const reader = this.reader!;
      if (this.needReopen || reader.ended()) {
        await this.reopen();
        continue;
      }
      const msgs = await reader.next(max, 50);
      if (msgs.length === 0 || !this.running) continue;
      const events: StoredEvent[] = [];
      for (const m of msgs) {
        if (m.event) events.push(m.event);
        else d.observer.error('decode', new Error(`message ${m.seq} of partition ${d.partition} is not a Rapport event`));
      }
      const to = msgs[msgs.length - 1]!.seq;
      try {
        const out = await (d.appender ?? d.partitionLog).append({ partition: d.partition, events, from: this.position, to, now: d.clock.now(), dedupeWindowMs: d.dedupeWindowMs });
        this.position = to;
        const appended: StoredEvent[] = [];
        out.forEach((o, i) => {
          if ('seq' in o) appended.push({ ...events[i]!, seq: o.seq });
        });
        this.log?.hand(appended);
        d.observer.appended(d.partition, events.length);
        this.woken = true;
        this.wakeProcessor?.();
      } catch (err) {
        d.observer.error('append', err);
        if (err instanceof LeaseLostError) {
          this.running = false;
          d.onLost(d.partition);
          return;
        }
        // The batch was taken off the stream and may or may not be appended (a failed COMMIT acknowledgement):
        // read the stream again from the stored position, and hand over only what is appended from now on.
        await new Promise((r) => setTimeout(r, 1000));
        await this.reopen();
        if (this.log) this.log.handFrom(await this.log.lastSeq().catch(() => Number.POSITIVE_INFINITY));
      }
    }
  }

  private async reopen(): Promise<void> {
    const d = this.deps;
    await this.reader?.stop();
    this.needReopen = true;
    try {
      this.position = await d.partitionLog.position(d.partition);
      this.reader = await d.stream.read(d.partition, this.position);
      this.needReopen = false;
    } catch (err) {
      d.observer.error('read', err);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
