import type { StoredEvent } from '../domain/event';

/**
 * Decides the stream partition of each event (scaled-out mode): the partition of its customer.
 * Routes are stored once and never change, so every ingest node agrees (rule in
 * `domain/partition-routing.ts`).
 *
 * Adapter: `adapters/postgres/postgres-partition-router.ts`. Contract: `test/contract/partition-router.contract.ts`.
 */
export interface PartitionRouter {
  /** Number of partitions (0..partitions-1). */
  readonly partitions: number;
  /**
   * Partition of each event, in order. Events are considered in batch order (an identify linking an
   * anonymous id seen earlier in the batch follows it); identities seen for the first time are routed
   * and stored before this resolves. Rejects with `UnavailableError` when the store cannot be reached.
   */
  route(events: readonly StoredEvent[]): Promise<number[]>;
  /** Partition of a customer (by customer id), or null when it has never been routed. */
  customerPartition(customerId: string): Promise<number | null>;
}
