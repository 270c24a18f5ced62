import { EVENT_TYPES, type EventType, type JsonObject } from '../domain/event';
import { ok, reject, type StepResult } from '../domain/result';

/** A message that passed validation: typed fields, times parsed to epoch ms, nothing defaulted yet. */
export interface ValidEvent {
  type: EventType;
  messageId: string | null;
  userId: string | null;
  anonymousId: string | null;
  event: string | null;
  name: string | null;
  groupId: string | null;
  previousId: string | null;
  properties: JsonObject;
  traits: JsonObject;
  context: JsonObject | null;
  integrations: JsonObject | null;
  /** Client event time (ms), null when absent. */
  timestamp: number | null;
  /** The timestamp exactly as the client sent it (kept as context.originalTimestamp). */
  rawTimestamp: unknown;
  /** Client send time of this message (ms), null when absent. */
  sentAt: number | null;
}

/** Longest accepted messageId / id string (characters). */
export const MAX_ID_LENGTH = 1024;

class Invalid {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

/**
 * Validates one Segment message. `routeType` is the type implied by the endpoint (`/v1/track`);
 * for batch items it is undefined and the item's own `type` is used.
 * Rejections: `missing_id` (no userId/anonymousId), `invalid_event` (anything else).
 */
export function validateEvent(raw: unknown, routeType: EventType | undefined): StepResult<ValidEvent> {
  if (!isObject(raw)) return reject('invalid_event', 'event must be a JSON object');
  try {
    const type = routeType ?? parseType(raw.type);
    const userId = idField(raw, 'userId');
    const anonymousId = idField(raw, 'anonymousId');
    if (userId === null && anonymousId === null) {
      return reject('missing_id', `${type} needs a userId or an anonymousId`);
    }
    const e: ValidEvent = {
      type,
      messageId: idField(raw, 'messageId'),
      userId,
      anonymousId,
      event: stringField(raw, 'event'),
      name: stringField(raw, 'name'),
      groupId: idField(raw, 'groupId'),
      previousId: idField(raw, 'previousId'),
      properties: objectField(raw, 'properties') ?? {},
      traits: objectField(raw, 'traits') ?? {},
      context: objectField(raw, 'context'),
      integrations: objectField(raw, 'integrations'),
      timestamp: timeField(raw, 'timestamp'),
      rawTimestamp: raw.timestamp,
      sentAt: timeField(raw, 'sentAt'),
    };
    if (type === 'track' && !e.event) return reject('invalid_event', "track needs a non-empty string 'event'");
    if (type === 'alias' && e.previousId === null) return reject('invalid_event', "alias needs 'previousId'");
    if (type === 'group' && e.groupId === null) return reject('invalid_event', "group needs 'groupId'");
    return ok(e);
  } catch (err) {
    if (err instanceof Invalid) return reject(err.code, err.message);
    throw err;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseType(v: unknown): EventType {
  if (typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v)) return v as EventType;
  throw new Invalid('invalid_event', `'type' must be one of ${EVENT_TYPES.join(', ')}`);
}

/** Ids: strings, or numbers (turned into strings, as Segment does). Empty means absent. */
function idField(raw: Record<string, unknown>, key: string): string | null {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return null;
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else throw new Invalid('invalid_event', `'${key}' must be a string`);
  if (s.length > MAX_ID_LENGTH) throw new Invalid('invalid_event', `'${key}' is longer than ${MAX_ID_LENGTH} characters`);
  if (s.includes('\u0000')) throw new Invalid('invalid_event', `'${key}' must not contain NUL characters`);
  return s;
}

function stringField(raw: Record<string, unknown>, key: string): string | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new Invalid('invalid_event', `'${key}' must be a string`);
  return v;
}

function objectField(raw: Record<string, unknown>, key: string): JsonObject | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new Invalid('invalid_event', `'${key}' must be an object`);
  return v;
}

/** Times: ISO-8601 strings (or anything Date.parse reads), or epoch milliseconds. */
function timeField(raw: Record<string, unknown>, key: string): number | null {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return null;
  let ms: number;
  if (typeof v === 'string') ms = Date.parse(v);
  else if (typeof v === 'number') ms = v;
  else ms = Number.NaN;
  if (!Number.isFinite(ms)) throw new Invalid('invalid_event', `'${key}' must be an ISO-8601 date`);
  return ms;
}
