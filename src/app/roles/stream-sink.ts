import type { NatsConnectionHandle as NatsConnection } from '../../adapters/nats/partition-stream';
import type { Logger } from 'pino';
import { connectNats, ensureEventStream, type ResolvedEventStreamOptions } from '../../adapters/nats/event-stream';
import { JetStreamEventSink, type EventSinkObserver } from '../../adapters/nats/jetstream-event-sink';
import { UnavailableError } from '../../domain/errors';
import type { StoredEvent } from '../../domain/event';
import type { AppendOutcome } from '../../ports/event-log';
import type { PartitionRouter } from '../../ports/partition-router';

/** Options of {@link openStreamSink}. */
export interface StreamSinkOptions {
  natsUrl: string;
  /** Connection name shown by the NATS server. */
  name: string;
  stream: ResolvedEventStreamOptions;
  router: PartitionRouter;
  maxInFlightEvents: number;
  retryAfterSeconds: number;
  unavailableRetryAfterSeconds: number;
  observer?: EventSinkObserver;
  logger: Logger;
}

/** A JetStream sink that connects in the background and keeps the stream in place. */
export interface StreamSink {
  /** Routes and publishes; `unavailable` until NATS is connected and the stream exists. */
  submit(events: readonly StoredEvent[]): Promise<AppendOutcome[]>;
  /** True while connected with the stream in place. */
  readonly ready: boolean;
  /** True when the in-flight bound is reached. */
  readonly overloaded: boolean;
  /** Waits for events in flight, then drains and closes the connection. */
  close(): Promise<void>;
}

/**
 * Opens the event-stream sink of a role. The connection is made in the background and retried
 * forever, so the role's HTTP server (health, readiness, metrics) runs while NATS is down; the
 * stream is created (or updated) once connected and again after each reconnect, in case the server
 * came back without its storage.
 */
export function openStreamSink(opts: StreamSinkOptions): StreamSink {
  let sink: JetStreamEventSink | null = null;
  let nc: NatsConnection | null = null;
  let streamReady = false;
  let closing = false;

  const setup = (async () => {
    nc = await connectNats(opts.natsUrl, { name: opts.name, waitOnFirstConnect: true });
    if (closing) return;
    const jsm = await nc.jetstreamManager();
    sink = new JetStreamEventSink({
      nc,
      js: nc.jetstream(),
      router: opts.router,
      stream: opts.stream.stream,
      subjectPrefix: opts.stream.subjectPrefix,
      maxInFlightEvents: opts.maxInFlightEvents,
      retryAfterSeconds: opts.retryAfterSeconds,
      unavailableRetryAfterSeconds: opts.unavailableRetryAfterSeconds,
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
    for (;;) {
      try {
        await ensureEventStream(jsm, opts.stream);
        break;
      } catch (err) {
        if (closing) return;
        opts.logger.warn({ err }, 'cannot create the event stream yet; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    streamReady = true;
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') {
        ensureEventStream(jsm, opts.stream).catch((err: unknown) => opts.logger.warn({ err }, 'cannot re-create the event stream after reconnect'));
      }
    }
  })().catch((err: unknown) => {
    if (!closing) opts.logger.error({ err }, 'event stream set-up failed');
  });

  return {
    submit(events) {
      if (!sink || !streamReady) {
        return Promise.reject(new UnavailableError('the event stream (NATS) is not connected yet; retry later', opts.unavailableRetryAfterSeconds));
      }
      return sink.submit(events);
    },
    get ready() {
      return streamReady && sink?.natsConnected === true;
    },
    get overloaded() {
      return sink?.overloaded ?? false;
    },
    async close() {
      closing = true;
      await (sink as JetStreamEventSink | null)?.close();
      const conn = nc as NatsConnection | null;
      if (conn && !conn.isClosed()) await conn.drain().catch(() => conn.close());
      // A sink closed before NATS ever answered leaves the pending connect behind; it ends with the process.
      void setup;
    },
  };
}
