import { RapportError } from '../../domain/errors';
import type { ProcessLock } from '../shared/process-lock';
import type { PostgresPool } from './open-pool';

// One key per schema: two deployments (or two tests) in one database never share it.
const KEY = `hashtext('rapport.single-processor.' || current_schema())`;

/**
 * Takes the single-process server's processing lock on PostgreSQL: a session advisory lock held on a
 * dedicated connection, so PostgreSQL frees it when the process or its connection dies. Throws RapportError
 * `engine_busy` when another process holds it (a second server or a replay on the same database).
 */
export async function lockSingleProcessor(pool: PostgresPool): Promise<ProcessLock> {
  const client = await pool.connect();
  let ok = false;
  try {
    const r = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${KEY}) AS ok`);
    ok = r.rows[0]?.ok === true;
    if (!ok) throw new RapportError('engine_busy', 'another process is already processing events on this database (a server or a replay): stop it first');
  } finally {
    if (!ok) client.release();
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query(`SELECT pg_advisory_unlock(${KEY})`);
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : true);
      }
    },
  };
}
