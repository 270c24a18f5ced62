import { VOCABULARY } from '../domain/vocabulary';
import type { JsonObject } from '../domain/event';

/**
 * Numeric kinds of canonical events, used on the hot path instead of comparing strings.
 * Values are stable (they never appear in persisted state, but keep them stable anyway).
 */
export const KIND = {
  other: 0,
  orderCompleted: 1,
  orderRefunded: 2,
  productViewed: 3,
  productAdded: 4,
  productsSearched: 5,
  emailDelivered: 6,
  emailOpened: 7,
  emailLinkClicked: 8,
  emailBounced: 9,
  emailMarkedAsSpam: 10,
  unsubscribed: 11,
  subscribed: 12,
  supportTicketCreated: 13,
  selfServiceUsed: 14,
  complaintFiled: 15,
  surveyAnswered: 16,
  reviewSubmitted: 17,
  communityPostCreated: 18,
  ideaSubmitted: 19,
  referralSent: 20,
  statementCaptured: 21,
  membershipStarted: 22,
  membershipCancelled: 23,
  recommendationClicked: 24,
  accountManagerAssigned: 25,
  taskCompleted: 26,
  page: 27,
  screen: 28,
  identify: 29,
  group: 30,
  alias: 31,
} as const;

/** A canonical event kind (see {@link KIND}). */
export type EventKind = (typeof KIND)[keyof typeof KIND];

/** Canonical event name -> kind, for the vocabulary's track events. */
export const KIND_BY_EVENT_NAME: ReadonlyMap<string, EventKind> = new Map<string, EventKind>(
  (Object.keys(VOCABULARY) as (keyof typeof VOCABULARY)[]).map((key) => [VOCABULARY[key], KIND[key]]),
);

/**
 * The small normalised record the indicator engine consumes. Produced by `canonicalise`
 * from a stored event and the user's mapping. Missing numbers are 0 (or -1 where noted),
 * missing strings null.
 */
export interface CanonicalEvent {
  kind: EventKind;
  /** Canonical event name ('Order Completed'...), 'page'/'screen'/'identify'..., or the original name for `other`. */
  name: string;
  /** Event time, epoch ms (skew-corrected `timestamp`). */
  t: number;
  /** Order revenue (Order Completed) or refunded amount (Order Refunded); 0 when absent. */
  revenue: number;
  /** Discount amount; 0 when absent. */
  discount: number;
  coupon: string | null;
  orderId: string | null;
  /** Product categories of an order (lower-cased, trimmed); empty otherwise. */
  categories: string[];
  /** `channel` property (support channel, statement channel). */
  channel: string | null;
  /** Support contact handled by a person (explicit `agent`, else channel is not self_service). */
  agent: boolean;
  /** Email/measure is promotional (property `promotional: true`). */
  promotional: boolean;
  bounceType: 'hard' | 'soft' | null;
  /** Net-promoter answer 0..10; -1 when absent. */
  nps: number;
  /** Self-reported relationship label (Survey Answered `relationship`). */
  label: string | null;
  /** Lens the label refers to. */
  lens: string | null;
  /** Statement made in a public channel. */
  public: boolean;
  /** First non-empty text property (TEXT_PROPERTIES), for the statement analyser. */
  text: string | null;
  /** Membership Started with `contract: true`. */
  contract: boolean;
  /** Local hour 0..23 in `context.timezone` (UTC fallback) for engagement events; -1 otherwise. */
  hour: number;
  /** Properties after the mapping (the original object when the mapping renames nothing). */
  properties: JsonObject;
  /** Identify traits after the mapping's trait renames; null for other events. */
  traits: JsonObject | null;
}
