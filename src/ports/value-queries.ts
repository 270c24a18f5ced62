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

/**
 * Read side for value and relationship economics. Adapters: `adapters/sqlite/sqlite-value-queries.ts`.
 */
export interface ValueQueries {
  /** Lifetime revenue of every customer (for the Pareto curve), any order. */
  revenues(): Promise<number[]>;
  /** Aggregates per type of a lens. */
  aggregatesByType(lens: string): Promise<TypeAggregate[]>;
}
