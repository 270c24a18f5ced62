import { headers, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import type { StoredEvent } from '../../domain/event';
import { decodeStreamEvent, encodeStreamEvent, partitionSubject, resolveEventStreamOptions, type EventStreamOptions, type ResolvedEventStreamOptions } from './event-stream';

/** A connection to NATS as the roles hold it (opaque outside the adapters). */
export type NatsConnectionHandle = NatsConnection;

/** One message of a partition subject: its stream sequence and the event (null when it is not one). */
export interface StreamMessage {
  readonly seq: number;
  readonly event: StoredEvent | null;
}

/** Reads one partition subject in order from a stream position, in batches. */
export interface PartitionReader {
  /**
   * Up to `max` messages, as soon as at least one is there; waits at most `waitMs` (then resolves with
   * none). Resolves with none once stopped.
   */
  next(max: number, waitMs: number): Promise<StreamMessage[]>;
  /** Stops reading (pending `next` calls resolve with none). */
  stop(): Promise<void>;
  /** True when the subscription ended on its own (connection closed, consumer gone): read again from the position. */
  ended(): boolean;
}

/** Messages buffered per partition before the reader stops pulling (backpressure). */
const MAX_BUFFERED = 10_000;

/**
 * The workers' view of the event stream: read a partition subject from a position (an ordered,
 * ephemeral consumer: the position lives in PostgreSQL, so nothing is acked), the last sequence of a
 * subject (stream lag), and publishing to a partition or to every partition (control events).
 */
export class PartitionStream {
  readonly options: ResolvedEventStreamOptions;
  private readonly js: JetStreamClient;
  private jsmP: Promise<JetStreamManager> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    opts: EventStreamOptions = {},
  ) {
    this.options = resolveEventStreamOptions(opts);
    this.js = nc.jetstream();
  }

  /** The subject of partition `p`. */
  subject(p: number): string {
    return partitionSubject(this.options.subjectPrefix, p);
  }

  /** Reads partition `p` from the message after stream sequence `after`. */
  async read(p: number, after: number): Promise<PartitionReader> {
    const consumer = await this.js.consumers.get(this.options.stream, { filterSubjects: this.subject(p), opt_start_seq: after + 1 });
    const messages: ConsumerMessages = await consumer.consume({ max_messages: 1000 });
    const buffer: StreamMessage[] = [];
    let stopped = false;
    let ended = false;
    let wake: (() => void) | null = null;
    let drained: (() => void) | null = null;
    const signal = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const pump = (async () => {
      for await (const m of messages) {
        let event: StoredEvent | null = null;
        try {
          event = decodeStreamEvent(m.data);
        } catch {
          // Not a Rapport event: its position is passed over; the worker counts it as an error.
        }
        buffer.push({ seq: m.seq, event });
        signal();
        if (buffer.length >= MAX_BUFFERED) await new Promise<void>((resolve) => (drained = resolve));
        if (stopped) break;
      }
    })()
      .catch(() => {})
      .finally(() => {
        ended = true;
        signal();
      });
    return {
      async next(max, waitMs) {
        if (buffer.length === 0 && !stopped) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, waitMs);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        const out = buffer.splice(0, max);
        if (buffer.length < MAX_BUFFERED) {
          const d = drained;
          drained = null;
          d?.();
        }
        return stopped ? [] : out;
      },
      ended: () => ended && !stopped && buffer.length === 0,
      async stop() {
        if (stopped) return;
        stopped = true;
        signal();
        const d = drained;
        drained = null;
        d?.();
        messages.stop();
        await pump;
      },
    };
  }

  /** Stream sequence of the last message on partition `p`'s subject (0 when there is none). */
  async lastSeq(p: number): Promise<number> {
    const jsm = await this.manager();
    try {
      const m = await jsm.streams.getMessage(this.options.stream, { last_by_subj: this.subject(p) });
      return m.seq;
    } catch (err) {
      if (/no message found|not found/i.test(String((err as Error).message))) return 0;
      throw err;
    }
  }

  /** Publishes one event to partition `p` (`Nats-Msg-Id` = its messageId); the server's ack. */
  async publish(p: number, e: StoredEvent): Promise<{ seq: number; duplicate: boolean }> {
    const h = headers();
    h.set('Nats-Msg-Id', e.messageId);
    const ack = await this.js.publish(this.subject(p), encodeStreamEvent(e), { headers: h });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  /**
   * Publishes a control event (clock tick, value refit) to EVERY partition, as `<messageId>:p<N>`:
   * each partition's processor carries it out at its own position, like the embedded processor does
   * at the event's position in the one log.
   */
  async publishToAll(e: StoredEvent): Promise<void> {
    await Promise.all(Array.from({ length: this.options.partitions }, (_, p) => this.publish(p, { ...e, messageId: `${e.messageId}:p${p}` })));
  }

  private manager(): Promise<JetStreamManager> {
    this.jsmP ??= this.nc.jetstreamManager();
    return this.jsmP;
  }
}
