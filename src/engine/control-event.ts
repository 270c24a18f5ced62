import type { JsonObject, StoredEvent } from '../domain/event';
import { RAPPORT_SOURCE } from './processor';

/**
 * A control event (value refit, clock tick) as the log stores it: it belongs to no customer, and its
 * `messageId` (`id`) makes it idempotent. `at` is its event time, `now` when it was received.
 */
export function controlEvent(event: string, id: string, at: number, now: number, properties: JsonObject = {}): StoredEvent {
  return {
    seq: 0,
    messageId: id,
    type: 'track',
    userId: RAPPORT_SOURCE,
    anonymousId: null,
    event,
    name: null,
    groupId: null,
    previousId: null,
    properties,
    traits: {},
    context: {},
    integrations: {},
    timestamp: at,
    receivedAt: now,
    sentAt: null,
    sourceId: RAPPORT_SOURCE,
  };
}
