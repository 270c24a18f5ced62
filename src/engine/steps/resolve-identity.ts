import type { StoredEvent } from '../../domain/event';
import type { IdentityKind } from '../../ports/engine-store';

/** What identity resolution decided for one event. */
export type IdentityDecision =
  /** The event belongs to an existing customer; `attach` lists identities to add to it. */
  | { kind: 'existing'; customerId: string; attach: Array<{ kind: IdentityKind; value: string }>; setUserId: string | null }
  /** A new customer is created with these identities. */
  | { kind: 'new'; customerId: string; userId: string | null; attach: Array<{ kind: IdentityKind; value: string }> }
  /** Two customers are the same person: `from` joins `into`, then the event applies to `into`. */
  | { kind: 'merge'; from: string; into: string; attach: Array<{ kind: IdentityKind; value: string }>; setUserId: string | null };

/** Looks up the customer of an identity and whether a customer already has a userId. */
export interface IdentityView {
  customerOf(kind: IdentityKind, value: string): string | undefined;
  userIdOf(customerId: string): string | null;
}

/**
 * Resolves an event to a customer (pure given the view):
 * - a userId names the customer; an anonymousId seen before joins it (anonymous history joins the known customer);
 * - `alias` merges `previousId` into `userId`;
 * - an anonymous id already bound to a different known user is a shared device: it is not merged.
 * New customers take their userId as id, or `anon:<anonymousId>`.
 */
export function resolveIdentity(e: StoredEvent, view: IdentityView): IdentityDecision {
  const u = e.userId;
  const a = e.anonymousId;
  if (e.type === 'alias' && u && e.previousId && e.previousId !== u) {
    const p = e.previousId;
    const target = view.customerOf('user', u);
    const source = view.customerOf('user', p) ?? view.customerOf('anon', p);
    const pKind: IdentityKind = view.customerOf('user', p) ? 'user' : 'anon';
    if (!source && !target) return { kind: 'new', customerId: u, userId: u, attach: [{ kind: 'user', value: u }, { kind: pKind, value: p }] };
    if (!source) return { kind: 'existing', customerId: target as string, attach: [{ kind: pKind, value: p }], setUserId: null };
    if (!target) {
      return { kind: 'existing', customerId: source, attach: [{ kind: 'user', value: u }], setUserId: view.userIdOf(source) ? null : u };
    }
    if (source === target) return { kind: 'existing', customerId: target, attach: [], setUserId: null };
    return { kind: 'merge', from: source, into: target, attach: [], setUserId: null };
  }
  if (u) {
    const cu = view.customerOf('user', u);
    const ca = a ? view.customerOf('anon', a) : undefined;
    if (cu) {
      if (!a || ca === cu) return { kind: 'existing', customerId: cu, attach: [], setUserId: null };
      if (!ca) return { kind: 'existing', customerId: cu, attach: [{ kind: 'anon', value: a }], setUserId: null };
      if (view.userIdOf(ca)) return { kind: 'existing', customerId: cu, attach: [], setUserId: null };
      return { kind: 'merge', from: ca, into: cu, attach: [], setUserId: null };
    }
    if (ca && !view.userIdOf(ca)) {
      return { kind: 'existing', customerId: ca, attach: [{ kind: 'user', value: u }], setUserId: u };
    }
    const attach: Array<{ kind: IdentityKind; value: string }> = [{ kind: 'user', value: u }];
    if (a && !ca) attach.push({ kind: 'anon', value: a });
    return { kind: 'new', customerId: u, userId: u, attach };
  }
  const anon = a as string;
  const ca = view.customerOf('anon', anon);
  if (ca) return { kind: 'existing', customerId: ca, attach: [], setUserId: null };
  return { kind: 'new', customerId: `anon:${anon}`, userId: null, attach: [{ kind: 'anon', value: anon }] };
}
