import type { StoredEvent } from '../../domain/event';
import type { CustomerRecord, TraitChange } from '../../ports/engine-store';

/**
 * Merges identify traits into the profile: per key, the value with the latest event time wins
 * (a late-arriving older identify does not overwrite); every applied change is returned for history.
 * Group calls add the group id to the customer's groups.
 */
export function mergeTraits(record: CustomerRecord, e: StoredEvent): TraitChange[] {
  const changes: TraitChange[] = [];
  if (e.type === 'group' && e.groupId && !record.groups.includes(e.groupId)) record.groups.push(e.groupId);
  if (e.type !== 'identify') return changes;
  for (const [key, value] of Object.entries(e.traits)) {
    const last = record.traitTimes[key];
    if (last !== undefined && e.timestamp < last) continue;
    const before = record.traits[key];
    record.traitTimes[key] = e.timestamp;
    if (sameValue(before, value)) continue;
    record.traits[key] = value;
    changes.push({ customerId: record.id, key, value, at: e.timestamp, seq: e.seq });
    if (key === 'email') record.email = typeof value === 'string' ? value.trim().toLowerCase() : null;
  }
  return changes;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
