import {
  connect,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
  type StreamInfo,
} from 'nats';
import type { StoredEvent } from '../../domain/event';

/**
 * The JetStream stream that carries accepted events from the ingest role to the workers
 * (scaled-out mode). One subject per partition: `<prefix>.<p>` for p = 0..partitions-1.
 */

/** Default stream name. */
export const DEFAULT_STREAM_NAME = 'RAPPORT_EVENTS';
/** Default subject prefix. */
export const DEFAULT_SUBJECT_PREFIX = 'rapport.events';
/** Default number of partitions. */
export const DEFAULT_PARTITIONS = 16;
/** Default retention of stream messages (7 days; PostgreSQL keeps the history). */
export const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Default window in which a repeated `Nats-Msg-Id` is dropped by the server (2 minutes). */
export const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

/** Settings of the event stream; every field has a default. */
export interface EventStreamOptions {
  stream?: string;
  subjectPrefix?: string;
  partitions?: number;
  maxAgeMs?: number;
  duplicateWindowMs?: number;
  /** Copies in a NATS cluster (default 1; a single server refuses more). */
  replicas?: number;
}

/** {@link EventStreamOptions} with every default filled in. */
export type ResolvedEventStreamOptions = Required<EventStreamOptions>;

/** Fills in the defaults of {@link EventStreamOptions}. */
export function resolveEventStreamOptions(opts: EventStreamOptions = {}): ResolvedEventStreamOptions {
  const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  return {
    stream: opts.stream ?? DEFAULT_STREAM_NAME,
    subjectPrefix: opts.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX,
    partitions,
    maxAgeMs: opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
    duplicateWindowMs: opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
    replicas: opts.replicas ?? 1,
  };
}

/** Subject of partition `p`: `<prefix>.<p>`. */
export function partitionSubject(prefix: string, p: number): string {
  return `${prefix}.${p}`;
}

/** Every partition subject, in partition order. */
export function partitionSubjects(prefix: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => partitionSubject(prefix, p));
}

/**
 * Creates the stream, or updates it to the wanted subjects and limits when it exists (idempotent;
 * safe to call from every role at start-up). File storage, limits retention.
 */
export async function ensureEventStream(jsm: JetStreamManager, opts: EventStreamOptions = {}): Promise<StreamInfo> {
  const o = resolveEventStreamOptions(opts);
  const config: Partial<StreamConfig> & { name: string } = {
    name: o.stream,
    subjects: partitionSubjects(o.subjectPrefix, o.partitions),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(o.maxAgeMs),
    duplicate_window: nanos(o.duplicateWindowMs),
    num_replicas: o.replicas,
  };
  let existing: StreamInfo | null = null;
  try {
    existing = await jsm.streams.info(o.stream);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!existing) {
    try {
      return await jsm.streams.add(config);
    } catch (err) {
      // Another role created it between our info and add: fall through to update.
      if (!/already in use|exists/i.test(String((err as Error).message))) throw err;
    }
  }
  // storage and retention cannot change on an existing stream; update only what may.
  const { storage: _s, retention: _r, ...updatable } = config;
  return jsm.streams.update(o.stream, updatable);
}

function isStreamNotFound(err: unknown): boolean {
  const e = err as { code?: string | number; api_error?: { err_code?: number }; message?: string };
  return e.api_error?.err_code === 10059 || String(e.code) === '404' || /stream not found/i.test(String(e.message));
}

/** Encodes an event for the stream: JSON of the normalised {@link StoredEvent} (`seq` is 0 until a worker appends it). */
export function encodeStreamEvent(e: StoredEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...e, seq: 0 }));
}

/** Decodes a stream message written by {@link encodeStreamEvent}. Throws on data that is not such a message. */
export function decodeStreamEvent(data: Uint8Array): StoredEvent {
  const parsed = JSON.parse(new TextDecoder().decode(data)) as StoredEvent;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.messageId !== 'string' || typeof parsed.type !== 'string') {
    throw new TypeError('stream message is not a Rapport event');
  }
  return parsed;
}

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** Connection name shown by the server (e.g. `rapport-ingest`). */
  name?: string;
  /** Milliseconds between reconnect attempts (default 500). */
  reconnectTimeWaitMs?: number;
  /** Keep trying when the server is down at start-up instead of failing (default false). */
  waitOnFirstConnect?: boolean;
}

/**
 * Connects to NATS at `url` (comma-separated list allowed), reconnecting forever: a role keeps
 * running through a NATS outage and reports not ready instead of exiting.
 */
export function connectNats(url: string, opts: ConnectNatsOptions = {}): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    name: opts.name ?? 'rapport',
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 500,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
  });
}
