import type { PostgresClient, PostgresPool } from './open-pool';

// Same key formula as the workers' named leases (postgres-partition-leases.ts): per schema, per name.
const LEASE_KEY = `hashtext('rapport.lease.' || current_schema() || '.' || $1::text)`;

/**
 * A lease only one process holds at a time (e.g. the dispatchers' planner): a PostgreSQL session
 * advisory lock on one dedicated connection, released by PostgreSQL when that connection dies
 * (crash, SIGKILL, network loss), so another process takes over on its next try.
 */
export class PostgresSingletonLease {
  private client: PostgresClient | null = null;
  private holding = false;
  private closed = false;

  constructor(
    private readonly pool: PostgresPool,
    /** Lease name, e.g. `dispatcher-planner`. */
    readonly name: string,
  ) {}

  /** True while this process holds the lease (as of the last {@link tryAcquire}). */
  get held(): boolean {
    return this.holding;
  }

  /**
   * Takes the lease if it is free; true while held. Throws when PostgreSQL is unreachable (the
   * lease is then considered lost: a dead session holds no lock).
   */
  async tryAcquire(): Promise<boolean> {
    if (this.closed) return false;
    try {
      if (!this.client) {
        const c = await this.pool.connect();
        // The session died: every lock with it. Forget the client; the next try opens a new one.
        c.on('error', () => this.drop(c, true));
        this.client = c;
      }
      if (this.holding) {
        // Cheap liveness check: a session that answers still holds its locks.
        await this.client.query('SELECT 1');
        return true;
      }
      const r = await this.client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LEASE_KEY}) AS ok`, [this.name]);
      this.holding = r.rows[0]?.ok === true;
      return this.holding;
    } catch (err) {
      if (this.client) this.drop(this.client, true);
      throw err;
    }
  }

  /** Gives the lease back and returns the connection. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    if (!c) return;
    try {
      if (this.holding) await c.query(`SELECT pg_advisory_unlock(${LEASE_KEY})`, [this.name]);
      this.drop(c, false);
    } catch {
      this.drop(c, true);
    }
  }

  private drop(c: PostgresClient, broken: boolean): void {
    if (this.client !== c) return;
    this.client = null;
    this.holding = false;
    c.release(broken);
  }
}
