import type { JetStreamClient, NatsConnection } from 'nats';
import { OverloadedError, RapportError, UnavailableError } from '../../domain/errors';
import type { StoredEvent } from '../../domain/event';
import type { AppendOutcome } from '../../ports/event-log';
import type { PartitionRouter } from '../../ports/partition-router';
import { encodeStreamEvent, partitionSubject } from './event-stream';

/** Hooks for metrics (all optional). */
export interface EventSinkObserver {
  /** One publish round (all events of one submit) finished: how long the acks took and their outcome. */
  published?(r: { seconds: number; accepted: number; duplicates: number }): void;
  /** Events currently being routed or published. */
  inFlight?(events: number): void;
}

/** Options of {@link JetStreamEventSink}. */
export interface JetStreamEventSinkOptions {
  /** The connection (used for its status) and its JetStream client. */
  nc: NatsConnection;
  js: JetStreamClient;
  router: PartitionRouter;
  /** Stream name: acks must come from it (`expect.streamName`), so a misconfigured subject is not "accepted" elsewhere. */
  stream: string;
  subjectPrefix: string;
  /** Bound on events being routed or published; above it `submit` fails with `overloaded` (429). */
  maxInFlightEvents: number;
  /** Retry-After hint with `overloaded`. */
  retryAfterSeconds: number;
  /** Retry-After hint with `unavailable` (NATS or PostgreSQL down). Default 2. */
  unavailableRetryAfterSeconds?: number;
  /** How long to wait for one publish ack (ms, default 5000). */
  publishTimeoutMs?: number;
  observer?: EventSinkObserver;
}

/**
 * Writer of the ingest role: routes each event to its customer's partition and publishes it to
 * JetStream with `Nats-Msg-Id` = messageId, resolving only once every publish is acknowledged
 * (stored by the stream). A repeat inside the stream's duplicate window is reported as a duplicate.
 * Fails with {@link UnavailableError} while NATS or the route store is down, so nothing is
 * acknowledged that is not in the stream.
 */
export class JetStreamEventSink {
  private inFlightEvents = 0;
  private connected = true;
  private closed = false;
  private readonly statusLoop: Promise<void>;

  constructor(private readonly opts: JetStreamEventSinkOptions) {
    this.statusLoop = this.watchStatus();
  }

  /** True while the NATS connection is up (not reconnecting). */
  get natsConnected(): boolean {
    return this.connected && !this.opts.nc.isClosed();
  }

  /** Events being routed or published now. */
  get pendingEvents(): number {
    return this.inFlightEvents;
  }

  /** True when the in-flight bound is reached (readiness reports not ready). */
  get overloaded(): boolean {
    return this.inFlightEvents >= this.opts.maxInFlightEvents;
  }

  /** Routes and publishes `events`; one outcome per event, in order. */
  async submit(events: readonly StoredEvent[]): Promise<AppendOutcome[]> {
    if (this.closed) throw new UnavailableError('server is shutting down');
    if (events.length === 0) return [];
    if (!this.natsConnected) throw this.unavailable('the event stream (NATS) is unreachable');
    // A request bigger than the whole bound would never fit; let it through when nothing is in flight.
    if (this.inFlightEvents > 0 && this.inFlightEvents + events.length > this.opts.maxInFlightEvents) {
      throw new OverloadedError(
        `too many events in flight (${this.inFlightEvents}); retry after ${this.opts.retryAfterSeconds}s`,
        this.opts.retryAfterSeconds,
      );
    }
    this.inFlightEvents += events.length;
    this.opts.observer?.inFlight?.(this.inFlightEvents);
    try {
      const partitions = await this.opts.router.route(events);
      const started = performance.now();
      const acks = await Promise.all(
        events.map((e, i) =>
          this.opts.js.publish(partitionSubject(this.opts.subjectPrefix, partitions[i] ?? 0), encodeStreamEvent(e), {
            msgID: e.messageId,
            expect: { streamName: this.opts.stream },
            timeout: this.opts.publishTimeoutMs ?? 5000,
          }),
        ),
      ).catch((err: unknown) => {
        throw this.asUnavailable(err);
      });
      const outcomes: AppendOutcome[] = acks.map((a) => (a.duplicate ? { duplicate: true } : { seq: a.seq }));
      const duplicates = acks.reduce((n, a) => n + (a.duplicate ? 1 : 0), 0);
      this.opts.observer?.published?.({ seconds: (performance.now() - started) / 1000, accepted: acks.length - duplicates, duplicates });
      return outcomes;
    } finally {
      this.inFlightEvents -= events.length;
      this.opts.observer?.inFlight?.(this.inFlightEvents);
    }
  }

  /** Refuses new events and waits for those in flight (at most `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    const until = performance.now() + timeoutMs;
    while (this.inFlightEvents > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    void this.statusLoop;
  }

  private async watchStatus(): Promise<void> {
    // Ends when the connection closes.
    for await (const s of this.opts.nc.status()) {
      if (s.type === 'disconnect') this.connected = false;
      else if (s.type === 'reconnect') this.connected = true;
    }
  }

  private unavailable(message: string): UnavailableError {
    return new UnavailableError(`${message}; retry later`, this.opts.unavailableRetryAfterSeconds ?? 2);
  }

  private asUnavailable(err: unknown): unknown {
    if (err instanceof RapportError) return err;
    // Timeouts, "no responders" (stream offline), disconnects: all mean the event may not be stored.
    return this.unavailable(`the event stream did not acknowledge: ${(err as Error).message ?? String(err)}`);
  }
}
