import type { StoredEvent } from './event';

/**
 * The routing rule of the scaled-out mode (pure): which stream partition an event goes to. The
 * partition of an event is the partition of its customer, so one worker sees all of a customer's events
 * in order. Identities are `user:<userId>` and `anon:<anonymousId>`; once routed they never move.
 */

/** FNV-1a, 32 bit, over the UTF-8 bytes of `s` (stable across processes and languages). */
export function fnv1a32(s: string): number {
  const bytes = new TextEncoder().encode(s);
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The identities an event names, most authoritative first. */
export interface RouteKeys {
  /** `user:<userId>`, when the event has a userId. */
  user: string | null;
  /** `anon:<anonymousId>`, when it has one. */
  anon: string | null;
  /** For `alias`: `user:<previousId>` and `anon:<previousId>` (the previous id may be either). */
  previous: readonly string[];
  /** The customer id identity resolution would give a new customer: the userId, else `anon:<anonymousId>`. */
  candidate: string;
}

/** Route keys of one event (see {@link RouteKeys}). */
export function routeKeys(e: Pick<StoredEvent, 'type' | 'userId' | 'anonymousId' | 'previousId' | 'messageId'>): RouteKeys {
  const user = e.userId ? `user:${e.userId}` : null;
  const anon = e.anonymousId ? `anon:${e.anonymousId}` : null;
  const previous = e.type === 'alias' && e.previousId ? [`user:${e.previousId}`, `anon:${e.previousId}`] : [];
  // Validation guarantees a userId or an anonymousId; the messageId fallback only keeps this total.
  const candidate = e.userId ?? (e.anonymousId ? `anon:${e.anonymousId}` : e.previousId ?? e.messageId);
  return { user, anon, previous, candidate };
}

/** Every key of {@link RouteKeys} (without the candidate). */
export function allRouteKeys(k: RouteKeys): string[] {
  const out: string[] = [];
  if (k.user) out.push(k.user);
  if (k.anon) out.push(k.anon);
  out.push(...k.previous);
  return out;
}

/**
 * The partition of an event given the routes known so far: the route of `user:U`, else `anon:A`,
 * else the previous id's; when none is routed, fnv1a32(candidate customer id) mod `partitions`.
 */
export function choosePartition(k: RouteKeys, routeOf: (identity: string) => number | undefined, partitions: number): number {
  for (const key of [k.user, k.anon, ...k.previous]) {
    if (!key) continue;
    const p = routeOf(key);
    if (p !== undefined) return p;
  }
  return fnv1a32(k.candidate) % partitions;
}

/**
 * The identity whose route is a customer's partition: `anon:<A>` for customer id `anon:<A>`,
 * `user:<id>` otherwise (customer ids are the userId or `anon:<anonymousId>`, see resolveIdentity).
 */
export function customerRouteKey(customerId: string): string {
  return customerId.startsWith('anon:') ? customerId : `user:${customerId}`;
}
