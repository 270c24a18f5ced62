import type { StoredEvent } from '../domain/event';

/** Outcome of appending one event: its log position, or a duplicate of an earlier messageId. */
export type AppendOutcome = { readonly seq: number } | { readonly duplicate: true };

/**
 * The durable, ordered event log. Every event the ingest API acknowledges is here.
 *
 * Adapters: `adapters/sqlite/sqlite-event-log.ts` (embedded), `adapters/postgres/...` (scaled out).
 * Contract: `test/contract/event-log.contract.ts`.
 */
export interface EventLog {
  /**
   * Appends events in order and resolves only once they are durable (committed and synced).
   * An event whose `messageId` was appended within `dedupeWindowMs` before `now` is not appended again
   * and reports `{ duplicate: true }`; a repeat inside the same call is a duplicate too.
   */
  append(events: readonly StoredEvent[], opts: { now: number; dedupeWindowMs: number }): Promise<AppendOutcome[]>;
  /** Events with `seq > after`, ascending, at most `limit`. */
  read(after: number, limit: number): Promise<StoredEvent[]>;
  /** Highest seq appended so far (0 when empty). */
  lastSeq(): Promise<number>;
  /** Forgets dedupe entries older than `before` (ms); returns how many were removed. */
  pruneDedupe(before: number): Promise<number>;
}
