import pg from 'pg';
import { ConfigError, UnavailableError } from '../../domain/errors';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './postgres-migrations';

/** A pg connection pool. */
export type PostgresPool = pg.Pool;
/** A client checked out of the pool (for transactions). */
export type PostgresClient = pg.PoolClient;

/** Options for {@link openPostgresPool}. */
export interface OpenPoolOptions {
  /** Schema to use (search_path) instead of the user's default; created when missing. */
  readonly schema?: string;
  /** Maximum connections (default 10). */
  readonly max?: number;
  /** Apply pending migrations before returning (default true). */
  readonly migrate?: boolean;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

// Every BIGINT we store (epoch ms, log positions, counts, and NUMERIC sums of them) is far below 2^53, so numbers are safe
// and keep row mapping identical to the SQLite adapters.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID || oid === NUMERIC_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Quotes an SQL identifier (schema names come from config or tests, never from requests). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Opens a pool on a PostgreSQL URL and (by default) applies pending migrations under an advisory lock,
 * so it is safe on every start and from several processes at once.
 */
export async function openPostgresPool(url: string, opts: OpenPoolOptions = {}): Promise<PostgresPool> {
  try {
    return await openPool(url, opts);
  } catch (e) {
    throw asUnavailable(e, url);
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

// Connection failures (network, auth, missing database) become a named error; SQL errors stay as they are.
function asUnavailable(e: unknown, url: string): unknown {
  const code = (e as { code?: unknown }).code;
  const network = typeof code === 'string' && /^(E[A-Z]+|28\w{3}|3D000|57P0\d|08\w{3})$/.test(code);
  return network ? new UnavailableError(`cannot use PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`) : e;
}

/** Schema names are plain identifiers: they go into the connection's `search_path` option unquoted. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

async function openPool(url: string, opts: OpenPoolOptions): Promise<PostgresPool> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new ConfigError(`schema name '${opts.schema}' is not allowed: use letters, digits and _ (not starting with a digit), at most 63`);
  }
  if (opts.schema) {
    // The schema must exist before search_path can point at it.
    const boot = new pg.Client({ connectionString: url });
    await boot.connect();
    try {
      // IF NOT EXISTS is not race-free: processes starting together serialise on a lock.
      await boot.query('BEGIN');
      await boot.query(`SELECT pg_advisory_xact_lock(hashtext('rapport.schema.' || $1::text))`, [opts.schema]);
      await boot.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(opts.schema)}`);
      await boot.query('COMMIT');
    } finally {
      await boot.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    types,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  if (opts.migrate !== false) {
    try {
      await migratePostgres(pool);
    } catch (e) {
      await pool.end();
      throw e;
    }
  }
  return pool;
}

/** One applied migration, as recorded in `schema_migrations`. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  /** True when this call applied it; false when it was there already. */
  readonly applied: boolean;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, in version order, each in its own
 * transaction. A session advisory lock (keyed by the current schema) serialises concurrent callers:
 * the second waits, then finds everything applied.
 */
export async function migratePostgres(
  pool: PostgresPool,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<AppliedMigration[]> {
  const client = await pool.connect().catch((e: unknown) => {
    throw asUnavailable(e, pool.options.connectionString ?? 'the configured URL');
  });
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('rapport.migrate.' || current_schema()))`);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
      );
      const have = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(have.rows.map((r) => r.version));
      const out: AppliedMigration[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(m.version)) {
          out.push({ version: m.version, name: m.name, applied: false });
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          // Wall-clock time is only a note for operators; nothing reads it back.
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
        out.push({ version: m.version, name: m.name, applied: true });
      }
      return out;
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('rapport.migrate.' || current_schema()))`);
    }
  } finally {
    client.release();
  }
}

/** Runs `fn` in one transaction on one client; commits on success, rolls back on error, always releases. */
export async function inTransaction<T>(pool: PostgresPool, fn: (client: PostgresClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A client whose ROLLBACK failed is in an unknown state: destroy it instead of returning it to the pool.
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch((r: unknown) => {
        broken = r instanceof Error ? r : new Error(String(r));
      });
      throw e;
    }
  } finally {
    client.release(broken);
  }
}
