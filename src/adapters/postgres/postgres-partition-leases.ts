import type { Clock } from '../../ports/clock';
import type { PostgresClient, PostgresPool } from './open-pool';

/** Options of {@link PostgresPartitionLeases.open}. */
export interface PartitionLeasesOptions {
  readonly pool: PostgresPool;
  /** This worker's id (unique among running workers). */
  readonly workerId: string;
  readonly partitions: number;
  readonly clock: Clock;
  /** A worker whose heartbeat is older than this is gone (default 5 s); a closed session is gone at once. */
  readonly ttlMs?: number;
}

/** What one rebalance changed. */
export interface RebalanceResult {
  readonly acquired: number[];
  readonly released: number[];
  /** Live workers, this one included. */
  readonly workers: number;
}

// Advisory lock keys: (namespace, partition) for partitions, one bigint per named singleton lease.
// Keyed by schema so two deployments (or two tests) in one database never share leases.
const PARTITION_NS = `hashtext('rapport.partition.' || current_schema())`;
const namedKey = `hashtext('rapport.lease.' || current_schema() || '.' || $1::text)`;

/**
 * Partition leases for the workers: PostgreSQL session advisory locks (`pg_try_advisory_lock(ns, p)`)
 * held on ONE dedicated connection per worker, so PostgreSQL releases them when the worker's
 * connection dies (crash, SIGKILL, network loss). Fair share: every live worker (a heartbeat row whose
 * session still exists) gets floor or ceil of partitions/workers; a worker releases what it holds
 * beyond its share and takes free partitions up to it, keeping the ones it has (few moves).
 */
export class PostgresPartitionLeases {
  private readonly held = new Set<number>();
  private readonly named = new Set<string>();
  private lost: Error | null = null;
  private closed = false;

  private constructor(
    private readonly opts: PartitionLeasesOptions,
    private readonly client: PostgresClient,
    private readonly backendPid: number,
  ) {
    client.on('error', (err: Error) => {
      // The session is gone, and every lock with it: the owner must stop processing at once.
      this.lost = err;
      this.held.clear();
      this.named.clear();
    });
  }

  /** Checks out the dedicated lease connection and writes the first heartbeat. */
  static async open(opts: PartitionLeasesOptions): Promise<PostgresPartitionLeases> {
    const client = await opts.pool.connect();
    try {
      const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const leases = new PostgresPartitionLeases(opts, client, r.rows[0]!.pid);
      await leases.heartbeat();
      return leases;
    } catch (e) {
      client.release(e instanceof Error ? e : true);
      throw e;
    }
  }

  /** Partitions this worker holds now. */
  owned(): ReadonlySet<number> {
    return this.held;
  }

  /** Non-null when the lease connection failed: every lease is lost, and this object is done. */
  lostError(): Error | null {
    return this.lost;
  }

  /** Writes this worker's heartbeat (time, session, partitions held). */
  async heartbeat(): Promise<void> {
    this.check();
    await this.client.query(
      `INSERT INTO worker_heartbeats (worker_id, seen_at, backend_pid, partitions) VALUES ($1, $2, $3, $4)
       ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at, backend_pid = excluded.backend_pid, partitions = excluded.partitions`,
      [this.opts.workerId, this.opts.clock.now(), this.backendPid, this.held.size],
    );
  }

  /** Live workers in id order: a recent heartbeat and a session that still exists. */
  async liveWorkers(): Promise<string[]> {
    this.check();
    const r = await this.client.query<{ worker_id: string }>(
      `SELECT h.worker_id FROM worker_heartbeats h
        WHERE h.seen_at > $1 AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = h.backend_pid)
        ORDER BY h.worker_id`,
      [this.opts.clock.now() - (this.opts.ttlMs ?? 5000)],
    );
    const ids = r.rows.map((row) => row.worker_id);
    if (!ids.includes(this.opts.workerId)) ids.push(this.opts.workerId);
    return ids.sort();
  }

  /** Partition → worker id holding it (from `pg_locks` and the heartbeats). */
  async holders(): Promise<Map<number, string>> {
    this.check();
    const r = await this.client.query<{ partition: number; worker_id: string | null }>(
      `SELECT l.objid::bigint::int AS partition, h.worker_id
         FROM pg_locks l LEFT JOIN worker_heartbeats h ON h.backend_pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = (${PARTITION_NS})::oid
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return new Map(r.rows.map((row) => [row.partition, row.worker_id ?? '?']));
  }

  /**
   * One round: heartbeat, then release what is beyond this worker's fair share and take free
   * partitions up to it. Call every ~second; the caller starts and stops partition processing from the
   * result (release only after the partition's work has stopped: see {@link release}).
   */
  async rebalance(beforeRelease?: (partition: number) => Promise<void>): Promise<RebalanceResult> {
    await this.heartbeat();
    const workers = await this.liveWorkers();
    const n = workers.length;
    const P = this.opts.partitions;
    const i = workers.indexOf(this.opts.workerId);
    const share = Math.floor(P / n) + (i < P % n ? 1 : 0);
    const released: number[] = [];
    const acquired: number[] = [];
    // Highest partitions go first, so shares settle on the same layout whatever the order of events.
    const mine = [...this.held].sort((a, b) => b - a);
    while (mine.length > share) {
      const p = mine.shift()!;
      if (beforeRelease) await beforeRelease(p);
      await this.release(p);
      released.push(p);
    }
    if (this.held.size < share) {
      const taken = await this.holders();
      for (let p = 0; p < P && this.held.size < share; p++) {
        if (this.held.has(p) || taken.has(p)) continue;
        if (await this.tryAcquire(p)) acquired.push(p);
      }
    }
    if (acquired.length > 0 || released.length > 0) await this.heartbeat();
    return { acquired, released, workers: n };
  }

  /** Takes partition `p` if no one holds it. */
  async tryAcquire(p: number): Promise<boolean> {
    this.check();
    if (this.held.has(p)) return true;
    const r = await this.client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${PARTITION_NS}, $1::int) AS ok`, [p]);
    if (r.rows[0]?.ok) this.held.add(p);
    return this.held.has(p);
  }

  /** Gives partition `p` back (stop its processing first). */
  async release(p: number): Promise<void> {
    if (!this.held.delete(p) || this.lost) return;
    await this.client.query(`SELECT pg_advisory_unlock(${PARTITION_NS}, $1::int)`, [p]);
  }

  /** Takes the singleton lease `name` (e.g. `scheduler`) if free; true while this worker holds it. */
  async tryAcquireNamed(name: string): Promise<boolean> {
    this.check();
    if (this.named.has(name)) return true;
    const r = await this.client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${namedKey}) AS ok`, [name]);
    if (r.rows[0]?.ok) this.named.add(name);
    return this.named.has(name);
  }

  /** True while this worker holds the singleton lease `name`. */
  holdsNamed(name: string): boolean {
    return this.named.has(name);
  }

  /** Last slot recorded for the schedule `name` (e.g. clock ticks), or null when never recorded. */
  async scheduleSlot(name: string): Promise<number | null> {
    this.check();
    const r = await this.client.query<{ slot: number }>('SELECT slot FROM worker_schedules WHERE name = $1', [name]);
    return r.rows[0]?.slot ?? null;
  }

  /** Records the last slot of the schedule `name` (the scheduler lease holder does, after publishing). */
  async setScheduleSlot(name: string, slot: number): Promise<void> {
    this.check();
    await this.client.query(
      'INSERT INTO worker_schedules (name, slot) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET slot = excluded.slot',
      [name, slot],
    );
  }

  /** Releases every lease, removes the heartbeat and returns the connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lost) {
      this.client.release(this.lost);
      return;
    }
    try {
      await this.client.query('SELECT pg_advisory_unlock_all()');
      await this.client.query('DELETE FROM worker_heartbeats WHERE worker_id = $1', [this.opts.workerId]);
      this.client.release();
    } catch (e) {
      this.client.release(e instanceof Error ? e : true);
    }
    this.held.clear();
    this.named.clear();
  }

  private check(): void {
    if (this.lost) throw this.lost;
    if (this.closed) throw new Error('partition leases are closed');
  }
}
