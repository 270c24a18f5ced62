import { UnavailableError } from '../../domain/errors';
import type { StoredEvent } from '../../domain/event';
import { allRouteKeys, choosePartition, customerRouteKey, routeKeys, type RouteKeys } from '../../domain/partition-routing';
import type { PartitionRouter } from '../../ports/partition-router';
import type { PostgresPool } from './open-pool';

/** Options of {@link PostgresPartitionRouter}. */
export interface PostgresPartitionRouterOptions {
  pool: PostgresPool;
  partitions: number;
  /** Routes kept in memory (routes never change, so the cache is never stale). Default 200 000. */
  cacheSize?: number;
}

/** Rounds of insert / re-read before giving up when other nodes keep winning races (never reached in practice). */
const MAX_ROUNDS = 8;

/**
 * Partition router on the `identity_routes` table (migration 40). New routes of a batch are inserted
 * all-or-nothing in one transaction; when another node routed one of them first, the transaction is
 * rolled back, the winners are read and the batch is decided again, so every node ends with the same
 * answer for the same event.
 */
export class PostgresPartitionRouter implements PartitionRouter {
  readonly partitions: number;
  private readonly pool: PostgresPool;
  private readonly cacheSize: number;
  // Map iteration order is insertion order: re-inserting on a hit makes it an LRU.
  private readonly cache = new Map<string, number>();

  constructor(opts: PostgresPartitionRouterOptions) {
    if (!Number.isInteger(opts.partitions) || opts.partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${opts.partitions}`);
    this.pool = opts.pool;
    this.partitions = opts.partitions;
    this.cacheSize = opts.cacheSize ?? 200_000;
  }

  async route(events: readonly StoredEvent[]): Promise<number[]> {
    if (events.length === 0) return [];
    const keys = events.map(routeKeys);
    const known = new Map<string, number>();
    const missing = new Set<string>();
    for (const k of keys) {
      for (const id of allRouteKeys(k)) {
        const p = this.cached(id);
        if (p !== undefined) known.set(id, p);
        else missing.add(id);
      }
    }
    try {
      if (missing.size > 0) await this.load([...missing], known);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const proposals = this.propose(keys, known);
        if (proposals.size === 0) break;
        const won = await this.insertAll(proposals);
        if (won) {
          for (const [id, p] of proposals) known.set(id, p);
          break;
        }
        // Someone else routed some of these first: their routes win; decide again.
        await this.load([...proposals.keys()], known);
        if (round === MAX_ROUNDS - 1) throw new UnavailableError('identity routes kept changing under concurrent ingest; retry');
      }
    } catch (err) {
      throw asUnavailable(err);
    }
    for (const [id, p] of known) this.remember(id, p);
    return keys.map((k) => choosePartition(k, (id) => known.get(id), this.partitions));
  }

  async customerPartition(customerId: string): Promise<number | null> {
    const id = customerRouteKey(customerId);
    const hit = this.cached(id);
    if (hit !== undefined) return hit;
    const known = new Map<string, number>();
    try {
      await this.load([id], known);
    } catch (err) {
      throw asUnavailable(err);
    }
    const p = known.get(id);
    if (p === undefined) return null;
    this.remember(id, p);
    return p;
  }

  /** New routes the batch needs, deciding events in order on top of `known`. */
  private propose(keys: readonly RouteKeys[], known: ReadonlyMap<string, number>): Map<string, number> {
    const local = new Map(known);
    const proposals = new Map<string, number>();
    for (const k of keys) {
      const p = choosePartition(k, (id) => local.get(id), this.partitions);
      for (const id of allRouteKeys(k)) {
        if (local.has(id)) continue;
        local.set(id, p);
        proposals.set(id, p);
      }
    }
    return proposals;
  }

  /** Inserts every proposal or none; false when some identity was already routed. */
  private async insertAll(proposals: ReadonlyMap<string, number>): Promise<boolean> {
    // Sorted keys: concurrent inserts take row locks in the same order, so they cannot deadlock.
    const ids = [...proposals.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const parts = ids.map((id) => proposals.get(id) as number);
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const r = await client.query(
        `INSERT INTO identity_routes (identity, partition)
         SELECT i, p FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS t(i, p, n) ORDER BY n
         ON CONFLICT (identity) DO NOTHING`,
        [ids, parts],
      );
      if ((r.rowCount ?? 0) === ids.length) {
        await client.query('COMMIT');
        return true;
      }
      await client.query('ROLLBACK');
      return false;
    } catch (err) {
      broken = true;
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private async load(ids: readonly string[], into: Map<string, number>): Promise<void> {
    const r = await this.pool.query<{ identity: string; partition: number }>(
      'SELECT identity, partition FROM identity_routes WHERE identity = ANY($1::text[])',
      [ids],
    );
    for (const row of r.rows) into.set(row.identity, row.partition);
  }

  private cached(id: string): number | undefined {
    const p = this.cache.get(id);
    if (p !== undefined) {
      this.cache.delete(id);
      this.cache.set(id, p);
    }
    return p;
  }

  private remember(id: string, p: number): void {
    if (this.cache.has(id)) return;
    this.cache.set(id, p);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
  }
}

// Connection-level failures (refused, reset, terminated, too many clients) mean "try later"; SQL errors stay as they are.
function asUnavailable(err: unknown): unknown {
  if (err instanceof UnavailableError) return err;
  const code = (err as { code?: unknown }).code;
  const message = String((err as Error | undefined)?.message ?? '');
  const network =
    (typeof code === 'string' && /^(E[A-Z]+|57P0\d|08\w{3}|53300)$/.test(code)) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
  return network ? new UnavailableError(`PostgreSQL is unreachable: ${message}`) : err;
}
