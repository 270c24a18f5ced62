/**
 * Event shapes. A Segment-spec message comes in over HTTP or import; after validation it is
 * stored in the event log as a {@link StoredEvent} with server-assigned fields.
 */

/** The six Segment message types. */
export type EventType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';

/** All Segment message types, in a stable order. */
export const EVENT_TYPES: readonly EventType[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'];

/** A JSON object (what Segment calls properties, traits, context...). */
export type JsonObject = Record<string, unknown>;

/**
 * One event as stored in the event log. Times are epoch milliseconds (UTC).
 * `timestamp` is the event time corrected for client clock skew; all indicator windows use it.
 */
export interface StoredEvent {
  /** Position in the log, assigned on append (1, 2, 3...). 0 before it is appended. */
  seq: number;
  messageId: string;
  type: EventType;
  userId: string | null;
  anonymousId: string | null;
  /** Track event name. */
  event: string | null;
  /** Page/screen name. */
  name: string | null;
  groupId: string | null;
  previousId: string | null;
  properties: JsonObject;
  traits: JsonObject;
  context: JsonObject;
  integrations: JsonObject;
  /** Event time after skew correction (ms). */
  timestamp: number;
  /** When the server received it (ms). */
  receivedAt: number;
  /** Client send time if given (ms). */
  sentAt: number | null;
  /** Source (write key owner) id; 'import' for bulk import. */
  sourceId: string;
}

/** Converts epoch milliseconds to an ISO-8601 string. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
