import type { JsonObject, StoredEvent } from '../domain/event';

/** How an identity is known: a userId or an anonymousId. */
export type IdentityKind = 'user' | 'anon';

/** One classification of a customer in one lens, as stored. */
export interface StoredClassification {
  readonly lens: string;
  readonly type: string;
  /** Probability of `type` when it was committed. */
  readonly probability: number;
  /**
   * Every type's probability. With the evidence below, the engine stores it empty: the API derives both on
   * read from the stored indicator snapshot and traits (rows written by earlier versions may carry them).
   */
  readonly probabilities: Record<string, number>;
  /** The evidence for the chosen type (indicator, value, condition, weight, contribution); see `probabilities`. */
  readonly evidence: unknown[];
  /** Event time since which the customer has this type. */
  readonly since: number;
}

/** One change of type, with the event that caused it. */
export interface TypeChange {
  readonly customerId: string;
  readonly lens: string;
  readonly from: string | null;
  readonly to: string;
  /** Event time of the change. */
  readonly at: number;
  /** Log position of the causing event. */
  readonly seq: number;
  readonly messageId: string;
  readonly event: string | null;
}

/** One change of a trait value (history is kept; the latest by event time wins). */
export interface TraitChange {
  readonly customerId: string;
  readonly key: string;
  readonly value: unknown;
  readonly at: number;
  readonly seq: number;
}

/**
 * Everything the engine keeps about one customer. `state` is the opaque, versioned encoding of the
 * indicator state plus the classifier's per-lens hysteresis state (see src/engine/customer-state.ts).
 */
export interface CustomerRecord {
  id: string;
  userId: string | null;
  anonymousIds: string[];
  email: string | null;
  traits: JsonObject;
  /** Event time at which each trait was last set (latest wins). */
  traitTimes: Record<string, number>;
  groups: string[];
  firstSeen: number;
  lastSeen: number;
  eventCount: number;
  /** Opaque engine state (indicators + lens hysteresis), encoded. */
  state: Uint8Array | null;
  classifications: Record<string, StoredClassification>;
  /** Flat indicator snapshot for queries (latest). */
  indicators: Record<string, number>;
  /** Purchase summary for the value models: [first day, last day, repeat days, mean repeat spend]; null before a purchase. */
  purchaseDays: readonly [number, number, number, number] | null;
}

/** One atomic commit of the processor: state, history and the log position together. */
export interface EngineCommit {
  readonly customers: readonly CustomerRecord[];
  /** Identities newly attached to customers. */
  readonly identities: ReadonlyArray<{ kind: IdentityKind; value: string; customerId: string }>;
  /** Customers merged away (their id now redirects to `into`). */
  readonly merges: ReadonlyArray<{ from: string; into: string; at: number; seq: number }>;
  /** Which customer each processed event belongs to. */
  readonly eventCustomers: ReadonlyArray<{ seq: number; customerId: string }>;
  readonly typeChanges: readonly TypeChange[];
  readonly traitChanges: readonly TraitChange[];
  /** Log position processed up to (inclusive). */
  readonly checkpoint: number;
  /** The value engine's state (fitted models, heavy-user threshold, next refit), when it changed. */
  readonly valueState?: unknown;
}

/**
 * The processor's state store: batch-shaped so a network database fits behind it.
 * Adapters: `adapters/sqlite/sqlite-engine-store.ts`. Contract: `test/contract/engine-store.contract.ts`.
 */
export interface EngineStore {
  /** Last committed log position (0 when nothing processed). */
  checkpoint(): Promise<number>;
  /** Resolves identities to customer ids (following merges); unknown ones are absent from the map. */
  resolveIdentities(keys: ReadonlyArray<{ kind: IdentityKind; value: string }>): Promise<Map<string, string>>;
  /** Customer ids after `after` in id order, at most `limit` (clock-tick sweeps page through these). */
  customerIds(after: string, limit: number): Promise<string[]>;
  /** Loads customers by id; unknown ids are absent. */
  loadCustomers(ids: readonly string[]): Promise<Map<string, CustomerRecord>>;
  /** A customer's events in log order (used to rebuild state after a merge). */
  eventsOf(customerId: string): Promise<StoredEvent[]>;
  /** Commits a batch atomically. */
  commit(batch: EngineCommit): Promise<void>;
  /** The value engine's persisted state and every buyer's purchase summary. */
  loadValueState(): Promise<{ state: unknown; purchases: Array<[string, readonly [number, number, number, number]]> }>;
  /** Deletes all derived state (customers, identities, history, checkpoint) — for a full replay. */
  reset(): Promise<void>;
}

/** Identity key as a map key: `user:<id>` or `anon:<id>`. */
export function identityKey(kind: IdentityKind, value: string): string {
  return `${kind}:${value}`;
}

/** A search result page. */
export interface CustomerPage {
  readonly customers: CustomerSummary[];
  /** Opaque cursor for the next page, or null at the end. */
  readonly nextCursor: string | null;
}

/** A customer in a list. */
export interface CustomerSummary {
  readonly id: string;
  readonly userId: string | null;
  readonly email: string | null;
  readonly name: string | null;
  readonly lastSeen: number;
  readonly eventCount: number;
  readonly types: Record<string, string>;
}

/** Filters for the customer list. */
export interface CustomerQuery {
  /** Exact id / userId / anonymousId / email, an email or name prefix, or `trait:value`. */
  readonly query?: string;
  /** Only customers of this type in this lens. */
  readonly lens?: string;
  readonly type?: string;
  readonly limit: number;
  readonly cursor?: string | null;
}

/**
 * Read side used by the admin API and the CLI: lookups, search and portfolio aggregates.
 * Adapters: `adapters/sqlite/sqlite-customer-queries.ts`.
 */
export interface CustomerQueries {
  /** Finds a customer by id, userId, anonymousId or email. */
  findCustomer(idOrIdentity: string): Promise<CustomerRecord | null>;
  searchCustomers(query: CustomerQuery): Promise<CustomerPage>;
  /** Most recent events of a customer, newest first. */
  recentEvents(customerId: string, limit: number): Promise<StoredEvent[]>;
  typeHistory(customerId: string): Promise<TypeChange[]>;
  traitHistory(customerId: string, limit: number): Promise<TraitChange[]>;
  /** Count per type now, or at the end of the UTC day of a past event time `asOf`. */
  distribution(lens: string, asOf?: number): Promise<Record<string, number>>;
  /** Transition counts between types for changes with from <= at < to. */
  transitions(lens: string, from: number, to: number): Promise<Array<{ from: string | null; to: string; count: number }>>;
  /** Total number of customers. */
  countCustomers(): Promise<number>;
  /** Event time of the latest event of any customer (0 before the first); the value models' "now". */
  latestEventTime(): Promise<number>;
}
