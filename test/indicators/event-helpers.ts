import type { EventType, JsonObject, StoredEvent } from '../../src/domain/event';

/** Test helper: a stored event with sensible defaults. */
export function stored(
  type: EventType,
  event: string | null,
  timestamp: number,
  extra: { properties?: JsonObject; traits?: JsonObject; context?: JsonObject; userId?: string; seq?: number } = {},
): StoredEvent {
  return {
    seq: extra.seq ?? 0,
    messageId: `m-${timestamp}-${event ?? type}`,
    type,
    userId: extra.userId ?? 'u1',
    anonymousId: null,
    event,
    name: null,
    groupId: null,
    previousId: null,
    properties: extra.properties ?? {},
    traits: extra.traits ?? {},
    context: extra.context ?? {},
    integrations: {},
    timestamp,
    receivedAt: timestamp,
    sentAt: null,
    sourceId: 'test',
  };
}

/** Test helper: a track event. */
export function track(event: string, timestamp: number, properties: JsonObject = {}, context: JsonObject = {}): StoredEvent {
  return stored('track', event, timestamp, { properties, context });
}

/** Milliseconds per day. */
export const DAY = 86_400_000;
/** A fixed start time: Wednesday 2025-01-01 12:00 UTC. */
export const T0 = Date.UTC(2025, 0, 1, 12);
