/**
 * Shapes produced by the customer simulator: plain Segment-spec messages and the ground-truth
 * record kept beside them. See docs/simulator.md.
 */

/** Segment message types the simulator emits. */
export type SimMessageType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';

/** Segment `context` as the simulator fills it. */
export interface SimContext {
  timezone: string;
  locale: string;
  ip?: string;
}

/** A plain Segment-spec message (what a Segment client would send). */
export interface SegmentMessage {
  type: SimMessageType;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  /** alias only: the id being merged into `userId`. */
  previousId?: string;
  /** group only. */
  groupId?: string;
  /** track only. */
  event?: string;
  /** page/screen only. */
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context: SimContext;
  /** ISO-8601 event time. */
  timestamp: string;
}

/** One latent type change of a customer. */
export interface TypeChange {
  lens: 'fournier' | 'swinscoe' | 'canvas';
  from: string;
  to: string;
  /** Epoch ms. */
  at: number;
}

/** Ground truth for one customer (types as of the evaluation time). */
export interface TruthRecord {
  customerId: string;
  fournier: string;
  swinscoe: string;
  canvas: string;
  lifecycle: string;
  changes: TypeChange[];
  /** E-mail consent at the evaluation time (false after an unsubscribe or without an address). */
  emailConsent: boolean;
  language: 'en' | 'de';
}
