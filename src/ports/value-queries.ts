/** Per-type aggregates of one lens, as stored (costs are applied by the domain). */
export interface TypeAggregate {
  readonly type: string;
  readonly customers: number;
  readonly revenue: number;
  readonly revenue365d: number;
  readonly clv12m: number;
  readonly supportContacts: number;
  readonly emailsDelivered: number;
  /** Measures sent by automation, per channel (email, webhook, task, in_app). */
  readonly measures: Record<string, number>;
}

/** See {@link ValueQueries.revenueSummary}. */
export interface RevenueSummary {
  readonly customers: number;
  readonly revenueTotal: number;
  /** Revenues of every customer, or of a sample. */
  readonly revenues: number[];
  /** Expected share of the customers in `revenues` (1: all of them). */
  readonly share: number;
}

/**
 * Read side for value and relationship economics. Adapters: `adapters/sqlite/sqlite-value-queries.ts`.
 */
export interface ValueQueries {
  /** Lifetime revenue of every customer (for the Pareto curve), any order. */
  revenues(): Promise<number[]>;
  /**
   * The value summary's revenue figures: exact totals, and every customer's revenue (for the Pareto curve)
   * or, above `maxRows` customers, a uniform sample of about `maxRows` of them (`share` < 1; an adapter
   * may always return all).
   */
  revenueSummary(maxRows: number): Promise<RevenueSummary>;
  /** Aggregates per type of a lens. */
  aggregatesByType(lens: string): Promise<TypeAggregate[]>;
}
