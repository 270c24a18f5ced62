import type { EventType, JsonObject, StoredEvent } from '../../domain/event';

// The `events` row codec of both backends (same columns; the non-indexed parts in one JSON `data` column).

/** Row shape of the `events` table. */
export interface EventRow {
  seq: number;
  message_id: string;
  type: string;
  user_id: string | null;
  anonymous_id: string | null;
  event: string | null;
  timestamp: number;
  received_at: number;
  source_id: string;
  data: string;
}

/** The part of an event kept in the `data` JSON column. */
interface EventData {
  name?: string | null;
  groupId?: string | null;
  previousId?: string | null;
  properties?: JsonObject;
  traits?: JsonObject;
  context?: JsonObject;
  integrations?: JsonObject;
  sentAt?: number | null;
}

/** Number of values per event in a flat row array (see {@link encodeEventRow}). */
export const ROW_WIDTH = 9;

/** Appends one event's column values (the `events` columns after `seq`, in table order) to a flat array. */
export function encodeEventRow(e: StoredEvent, out: unknown[]): void {
  out.push(e.messageId, e.type, e.userId, e.anonymousId, e.event, e.timestamp, e.receivedAt, e.sourceId, encodeEventData(e));
}

/** The `data` column of an event: its non-indexed parts as JSON, empty parts left out. */
export function encodeEventData(e: StoredEvent): string {
  const d: EventData = {};
  // Empty parts are left out: smaller rows, less to write.
  if (e.name !== null) d.name = e.name;
  if (e.groupId !== null) d.groupId = e.groupId;
  if (e.previousId !== null) d.previousId = e.previousId;
  if (!isEmpty(e.properties)) d.properties = e.properties;
  if (!isEmpty(e.traits)) d.traits = e.traits;
  if (!isEmpty(e.context)) d.context = e.context;
  if (!isEmpty(e.integrations)) d.integrations = e.integrations;
  if (e.sentAt !== null) d.sentAt = e.sentAt;
  return JSON.stringify(d);
}

function isEmpty(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}

/** Turns an `events` row (as stored by either backend) back into a StoredEvent. */
export function decodeEventRow(r: EventRow): StoredEvent {
  const d = JSON.parse(r.data) as EventData;
  return {
    seq: r.seq,
    messageId: r.message_id,
    type: r.type as EventType,
    userId: r.user_id,
    anonymousId: r.anonymous_id,
    event: r.event,
    name: d.name ?? null,
    groupId: d.groupId ?? null,
    previousId: d.previousId ?? null,
    properties: d.properties ?? {},
    traits: d.traits ?? {},
    context: d.context ?? {},
    integrations: d.integrations ?? {},
    timestamp: r.timestamp,
    receivedAt: r.received_at,
    sentAt: d.sentAt ?? null,
    sourceId: r.source_id,
  };
}
