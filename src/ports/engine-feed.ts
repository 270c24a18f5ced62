import type { StoredEvent } from '../domain/event';
import type { CustomerRecord, TypeChange } from './engine-store';

/**
 * What components downstream of the processor (automation) read after each committed batch:
 * the processed events with their resolved customers, and customers in pages.
 * Adapter: `adapters/sqlite/sqlite-engine-feed.ts`.
 */
export interface EngineFeed {
  /** Processed events with `after < seq <= upto`, in log order, each with its customer. */
  eventsBetween(after: number, upto: number): Promise<Array<{ event: StoredEvent; customerId: string }>>;
  /** The resolved customer of every processed track event with one of these names, by log position. */
  customersOfEvents(names: readonly string[]): Promise<Map<number, string>>;
  /** Type changes caused by events with `after < seq <= upto`, in log order. */
  typeChangesBetween(after: number, upto: number): Promise<TypeChange[]>;
  /** A consumer's position in the log (0 when it never ran). */
  position(consumer: string): Promise<number>;
  /** Records a consumer's position after it handled everything up to `seq`. */
  setPosition(consumer: string, seq: number): Promise<void>;
  /** The processor's committed position. */
  processed(): Promise<number>;
  /** Customers by id (merged-away ids are absent). */
  customers(ids: readonly string[]): Promise<CustomerRecord[]>;
  /** Customers in id order after `afterId`, at most `limit`. */
  page(afterId: string, limit: number): Promise<CustomerRecord[]>;
}
