import type { JsonObject, StoredEvent } from '../domain/event';
import { ok, type StepResult } from '../domain/result';
import type { ValidEvent } from './validate-event';

/** What normalisation needs besides the event: server time, batch-level fields, an id source. */
export interface NormaliseContext {
  /** Server receive time (ms), from the injected Clock. */
  receivedAt: number;
  /** Batch-level `sentAt` (ms), used when the item has none. */
  sentAt: number | null;
  /** Batch-level context / integrations; the item's own keys win. */
  batchContext: JsonObject | null;
  batchIntegrations: JsonObject | null;
  sourceId: string;
  /** Makes a messageId for an event that has none. */
  newMessageId: () => string;
}

/**
 * Turns a valid message into a {@link StoredEvent}: assigns a messageId when missing, sets
 * `receivedAt`, corrects `timestamp` for client clock skew (timestamp + (receivedAt - sentAt)),
 * keeps the client's timestamp as `context.originalTimestamp`, and merges batch context/integrations.
 */
export function normaliseEvent(e: ValidEvent, ctx: NormaliseContext): StepResult<StoredEvent> {
  const sentAt = e.sentAt ?? ctx.sentAt;
  let timestamp = ctx.receivedAt;
  let context = merge(ctx.batchContext, e.context);
  if (e.timestamp !== null) {
    timestamp = sentAt !== null ? e.timestamp + (ctx.receivedAt - sentAt) : e.timestamp;
    // Copy before adding a key unless merge already made a fresh object.
    const own: JsonObject = context === null || context === e.context || context === ctx.batchContext ? { ...context } : context;
    own.originalTimestamp = e.rawTimestamp;
    context = own;
  }
  return ok({
    seq: 0,
    messageId: e.messageId ?? ctx.newMessageId(),
    type: e.type,
    userId: e.userId,
    anonymousId: e.anonymousId,
    event: e.event,
    name: e.name,
    groupId: e.groupId,
    previousId: e.previousId,
    properties: e.properties,
    traits: e.traits,
    context: context ?? {},
    integrations: merge(ctx.batchIntegrations, e.integrations) ?? {},
    timestamp,
    receivedAt: ctx.receivedAt,
    sentAt,
    sourceId: ctx.sourceId,
  });
}

function merge(outer: JsonObject | null, inner: JsonObject | null): JsonObject | null {
  if (outer === null) return inner;
  if (inner === null) return outer;
  return { ...outer, ...inner };
}
