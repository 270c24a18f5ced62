import type { StoredEvent } from '../../domain/event';
import type { CustomerRecord, TraitChange } from '../../ports/engine-store';

/**
 * Merges identify traits into the profile: per key, the value with the latest event time wins
 * (a late-arriving older identify does not overwrite); every applied change is returned for history.
 * Group calls add the group id to the customer's groups.
 */
export function mergeTraits(record: CustomerRecord, e: StoredEvent): readonly TraitChange[] {
  // A new array, not push: new customers share one empty (frozen) array.
  if (e.type === 'group' && e.groupId && !record.groups.includes(e.groupId)) record.groups = [...record.groups, e.groupId];
  const traits = e.type === 'identify' ? e.traits : e.type === 'track' ? surveyLabels(e) : null;
  // Most events carry no traits: no array for them.
  if (!traits) return NO_CHANGES;
  const changes: TraitChange[] = [];
  for (const [key, value] of Object.entries(traits)) {
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

const NO_CHANGES: readonly TraitChange[] = Object.freeze([]);

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

const SURVEY = /^survey[ _]?answered$/i;
const LABEL_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * A customer's self-reported relationship (Survey Answered with `relationship` and `lens`, or a
 * `relationships` object per lens) becomes the trait `relationship_<lens>` (or `relationship`):
 * the label `rapport train` learns from, kept with its history like any trait.
 */
export function surveyLabels(e: StoredEvent): Record<string, unknown> | null {
  if (!e.event || !SURVEY.test(e.event)) return null;
  const p = e.properties;
  const out: Record<string, unknown> = {};
  const rel = p['relationship'];
  const lens = p['lens'];
  if (typeof rel === 'string' && rel) {
    if (typeof lens === 'string' && LABEL_KEY.test(lens)) out[`relationship_${lens}`] = rel;
    else out['relationship'] = rel;
  }
  const many = p['relationships'];
  if (many && typeof many === 'object' && !Array.isArray(many)) {
    for (const [l, v] of Object.entries(many as Record<string, unknown>)) {
      if (typeof v === 'string' && v && LABEL_KEY.test(l)) out[`relationship_${l}`] = v;
    }
  }
  return Object.keys(out).length ? out : null;
}
