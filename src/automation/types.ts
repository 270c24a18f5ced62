import type { Channel, ContactPolicy } from '../domain/contact-policy';

/**
 * The automation engine's integration contract: signals in (from the event processor), the
 * customer view it reads, and the Segment messages it emits as feedback.
 */

/** A change the processor observed, in log order. `eventSeq` is the log position that caused it. */
export type AutomationSignal =
  | { kind: 'type_changed'; customerId: string; lens: string; from: string | null; to: string; at: number; eventSeq: number }
  | { kind: 'indicator_changed'; customerId: string; indicator: string; previous: number; value: number; at: number; eventSeq: number }
  | { kind: 'event'; customerId: string; event: string; properties: Record<string, unknown>; at: number; eventSeq: number };

/** What the engine needs to know about a customer for conditions, policy and consent. */
export interface CustomerView {
  readonly customerId: string;
  readonly userId: string;
  readonly email?: string;
  /** IANA zone, e.g. Europe/Berlin; UTC when absent. */
  readonly timezone?: string;
  readonly traits: Record<string, unknown>;
  readonly indicators: Record<string, number>;
  /** Current type per lens. */
  readonly types: Record<string, string>;
  /** Contact policy of the current type per lens. */
  readonly policies: Record<string, ContactPolicy>;
}

/** Reads customers (the lead implements it over the engine state). */
export interface CustomerDirectory {
  get(customerId: string): Promise<CustomerView | null>;
  iterate(): AsyncIterable<CustomerView>;
}

/** A Segment track message emitted as feedback (the lead wires emit to the ingest writer). */
export interface EmittedMessage {
  readonly type: 'track';
  readonly messageId: string;
  readonly userId: string;
  readonly event: string;
  readonly properties: Record<string, unknown>;
  /** ISO-8601. */
  readonly timestamp: string;
  readonly context: Record<string, unknown>;
}

/** Sink for feedback events. */
export type Emit = (messages: readonly EmittedMessage[]) => Promise<void>;

/** Minimal logger (pino-compatible). */
export interface AutomationLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Per-channel dispatch limits. */
export interface ChannelLimits {
  /** Sends in flight at once on this channel. */
  readonly concurrency: number;
  /** Sends per second (token bucket); 0 = unlimited. */
  readonly ratePerSecond: number;
}

/** Engine configuration (validated by {@link parseAutomationConfig}). */
export interface AutomationConfig {
  /** Base URL for tracking, unsubscribe and preference links, e.g. https://crm.example.com. */
  readonly publicUrl: string;
  /** HMAC key for tracking/unsubscribe tokens and webhook signatures. */
  readonly signingSecret: string;
  /** Sender address. */
  readonly from: string;
  /** Where templates live (first match wins). */
  readonly templateDirs: readonly string[];
  /** Channels on which marketing needs recorded consent (opt-in), e.g. ['email'] for double opt-in regimes. */
  readonly consentRequired: readonly Channel[];
  /** Lifetime of open/click tokens. */
  readonly trackingTtlMs: number;
  /** Actions claimed per dispatch round. */
  readonly batchSize: number;
  /** Lease on an action in flight; an expired lease means the process died mid-send. */
  readonly leaseMs: number;
  /**
   * Finished actions are committed in groups at most this often (ms). Smaller = fewer repeats after a
   * crash (only what finished since the last commit or is in flight), larger = fewer fsyncs.
   */
  readonly commitIntervalMs: number;
  /** Attempts before a send is dead-lettered. */
  readonly maxAttempts: number;
  /** First retry delay; doubles per attempt. */
  readonly retryBaseMs: number;
  readonly limits: Readonly<Partial<Record<Channel, ChannelLimits>>>;
  /** How often start() polls for due work. */
  readonly pollMs: number;
  /** Verifies a write key for GET /v1/inbox (the lead passes the key store's check). */
  readonly verifyWriteKey?: (key: string) => Promise<boolean>;
}
