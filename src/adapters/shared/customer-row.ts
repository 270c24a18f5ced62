import type { CustomerRecord } from '../../ports/engine-store';

// The `customers` row codec of both backends (same columns; JSON texts for the nested parts).

/** Row shape of the `customers` table. */
export interface CustomerRow {
  id: string;
  user_id: string | null;
  email: string | null;
  anonymous_ids: string;
  traits: string;
  trait_times: string;
  groups_json: string;
  first_seen: number;
  last_seen: number;
  event_count: number;
  state: Buffer | null;
  indicators: string;
  classifications: string;
  purchase_days: string | null;
}

/** Converts a `customers` row to a record. Shared with the query side. */
export function rowToCustomer(row: CustomerRow): CustomerRecord {
  return {
    id: row.id,
    userId: row.user_id,
    email: row.email,
    anonymousIds: JSON.parse(row.anonymous_ids) as string[],
    traits: JSON.parse(row.traits) as Record<string, unknown>,
    traitTimes: JSON.parse(row.trait_times) as Record<string, number>,
    groups: JSON.parse(row.groups_json) as string[],
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    eventCount: row.event_count,
    state: row.state ? new Uint8Array(row.state.buffer, row.state.byteOffset, row.state.byteLength) : null,
    indicators: JSON.parse(row.indicators) as Record<string, number>,
    classifications: JSON.parse(row.classifications) as CustomerRecord['classifications'],
    purchaseDays: row.purchase_days ? (JSON.parse(row.purchase_days) as CustomerRecord['purchaseDays']) : null,
  };
}

/** Display name from common Segment traits. */
export function displayName(traits: Record<string, unknown>): string | null {
  const name = traits['name'];
  if (typeof name === 'string' && name) return name;
  const parts = [traits['first_name'] ?? traits['firstName'], traits['last_name'] ?? traits['lastName']].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  return parts.length ? parts.join(' ') : null;
}

/**
 * A customer as the 15 column values of the `customers` row, in column order (id, user_id, email, name,
 * anonymous_ids, traits, trait_times, groups_json, first_seen, last_seen, event_count, state, indicators,
 * classifications, purchase_days): the inverse of {@link rowToCustomer}, shared by both adapters.
 */
export function customerRowValues(c: CustomerRecord): unknown[] {
  return [
    c.id,
    c.userId,
    c.email,
    displayName(c.traits),
    JSON.stringify(c.anonymousIds),
    JSON.stringify(c.traits),
    JSON.stringify(c.traitTimes),
    JSON.stringify(c.groups),
    c.firstSeen,
    c.lastSeen,
    c.eventCount,
    c.state ? Buffer.from(c.state.buffer, c.state.byteOffset, c.state.byteLength) : null,
    JSON.stringify(c.indicators),
    JSON.stringify(c.classifications),
    c.purchaseDays ? JSON.stringify(c.purchaseDays) : null,
  ];
}

/** Trait values are indexed as plain text (strings as-is, others as JSON) so `key:value` search can use the index. */
export function traitIndexValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.toLowerCase();
  return JSON.stringify(value);
}
