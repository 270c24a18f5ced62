import type { CustomerSummary } from './engine-store';

/** Filters of the dashboard's customer list (all optional; the probability filters and `type` need `lens`). */
export interface CustomerFilter {
  readonly lens?: string;
  readonly type?: string;
  readonly minProbability?: number;
  readonly maxProbability?: number;
  readonly minClv?: number;
  readonly maxClv?: number;
  readonly minPAlive?: number;
  readonly maxPAlive?: number;
  readonly heavyUser?: boolean;
  /** Rows returned at most. */
  readonly limit: number;
  /** Customer id to continue after ('' for the start). */
  readonly after: string;
  /** Rows examined at most (customers in id order, or the type index when `type` is given). */
  readonly window: number;
}

/** A customer in the dashboard list: the summary plus the figures it was filtered on. */
export interface FilteredCustomer extends CustomerSummary {
  readonly clv12m: number | null;
  readonly pAlive: number | null;
  /** Probability of the customer's type in `lens` (null without a lens). */
  readonly probability: number | null;
}

/** One window of the filtered list. */
export interface FilteredPage {
  readonly customers: FilteredCustomer[];
  /** Id to continue after, or null when the list is done. */
  readonly nextAfter: string | null;
  /** True when the walk reached the end of the table (or the type's index range). */
  readonly exhausted: boolean;
}

/** A deterministic sample of the stored population: indicator snapshots and traits. */
export interface PopulationSample {
  readonly population: number;
  readonly rows: ReadonlyArray<{ indicators: Record<string, number>; traits: Record<string, unknown> }>;
}

/**
 * Read side of the dashboard beyond the search API: the filtered customer list (probability, CLV,
 * P(alive), heavy users) and the population sample the lens preview reclassifies.
 * Adapters: `adapters/sqlite/sqlite-dashboard-queries.ts`, `adapters/postgres/postgres-dashboard-queries.ts`.
 * Contract: `test/contract/dashboard-queries.contract.ts`.
 */
export interface DashboardQueries {
  /**
   * Walks at most `window` customers after `after` in id order (of type `type` in `lens` when given),
   * and returns those that pass the filters, at most `limit`. Every call costs at most one window,
   * whatever the population; `nextAfter` continues where it stopped.
   */
  filterCustomers(filter: CustomerFilter): Promise<FilteredPage>;
  /** Every customer when there are at most `max`, else about `max` spread over the table. */
  samplePopulation(max: number): Promise<PopulationSample>;
}
