import type { EventType, JsonObject, StoredEvent } from '../domain/event';
import { ok, reject, type StepResult } from '../domain/result';
import { normaliseEvent, type NormaliseContext } from './normalise-event';
import { validateEvent } from './validate-event';

/** Size limits of the tracking API (bytes are UTF-8 bytes of the JSON text). */
export interface IngestLimits {
  maxEventBytes: number;
  maxRequestBytes: number;
  maxBatchEvents: number;
}

/** Segment's limits: 32 KB per event, 500 KB per request, 2,500 events per batch. */
export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxEventBytes: 32 * 1024,
  maxRequestBytes: 500 * 1024,
  maxBatchEvents: 2500,
};

/** What the endpoint expects: one message of a type, or a batch. */
export type IngestKind = EventType | 'batch';

/** One event of a request that was not accepted, reported back to the client. */
export interface Rejection {
  /** Position in the batch (0 for single-event calls; line number for import). */
  index: number;
  messageId: string | null;
  code: string;
  message: string;
}

/** Events ready to append (with their index in the request) and the rejected ones. */
export interface PreparedRequest {
  events: StoredEvent[];
  indexes: number[];
  rejected: Rejection[];
}

/** Per-request inputs besides the body. */
export interface PrepareContext {
  receivedAt: number;
  sourceId: string;
  newMessageId: () => string;
  limits: IngestLimits;
  /** UTF-8 size of the whole body; per-event sizes are only measured when it exceeds the event limit. */
  bodyBytes: number;
}

/**
 * Runs a parsed request body through validate -> normalise for each event.
 * Request-level problems (not an object, `batch` not an array, too many events) are a `reject`
 * for the whole request; per-event problems land in `rejected` and never stop the valid events.
 */
export function prepareRequest(kind: IngestKind, body: unknown, ctx: PrepareContext): StepResult<PreparedRequest> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return reject('invalid_input', 'request body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  let items: unknown[];
  let routeType: EventType | undefined;
  let nctx: NormaliseContext;
  if (kind === 'batch') {
    if (!Array.isArray(b.batch)) return reject('invalid_input', "batch request needs a 'batch' array of events");
    items = b.batch;
    if (items.length > ctx.limits.maxBatchEvents) {
      return reject('too_many_events', `a batch holds at most ${ctx.limits.maxBatchEvents} events, got ${items.length}`);
    }
    const sentAt = batchTime(b.sentAt);
    const batchContext = asObject(b.context);
    const batchIntegrations = asObject(b.integrations);
    nctx = { receivedAt: ctx.receivedAt, sentAt, batchContext, batchIntegrations, sourceId: ctx.sourceId, newMessageId: ctx.newMessageId };
  } else {
    items = [b];
    routeType = kind;
    nctx = { receivedAt: ctx.receivedAt, sentAt: null, batchContext: null, batchIntegrations: null, sourceId: ctx.sourceId, newMessageId: ctx.newMessageId };
  }
  const out: PreparedRequest = { events: [], indexes: [], rejected: [] };
  const measure = ctx.bodyBytes > ctx.limits.maxEventBytes;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const r = prepareEvent(item, routeType, nctx, measure ? ctx.limits.maxEventBytes : 0);
    if (r.kind === 'ok') {
      out.events.push(r.value);
      out.indexes.push(i);
    } else if (r.kind === 'reject') {
      out.rejected.push({ index: i, messageId: messageIdOf(item), code: r.code, message: r.message });
    }
  }
  return ok(out);
}

/**
 * One message through the steps: size check (when `maxEventBytes` > 0), validate, normalise.
 * Shared by HTTP and `rapport import`.
 */
export function prepareEvent(
  item: unknown,
  routeType: EventType | undefined,
  ctx: NormaliseContext,
  maxEventBytes = 0,
): StepResult<StoredEvent> {
  if (maxEventBytes > 0) {
    const size = Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8');
    if (size > maxEventBytes) return reject('event_too_large', `event is ${size} bytes; the limit is ${maxEventBytes} bytes`);
  }
  const v = validateEvent(item, routeType);
  if (v.kind !== 'ok') return v;
  return normaliseEvent(v.value, ctx);
}

function messageIdOf(item: unknown): string | null {
  if (item === null || typeof item !== 'object') return null;
  const id = (item as { messageId?: unknown }).messageId;
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : null;
}

function asObject(v: unknown): JsonObject | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : null;
}

/** A malformed batch-level sentAt is ignored (no skew correction) rather than failing every event. */
function batchTime(v: unknown): number | null {
  const ms = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : Number.NaN;
  return Number.isFinite(ms) ? ms : null;
}
