import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteUserStore } from '../../src/adapters/sqlite/sqlite-user-store';
import { createServer } from '../../src/http/create-server';
import { installSessionAuth } from '../../src/http/session-auth';
import { tempDir } from '../helpers/sim-log';

/**
 * Several processes serve the dashboard on one store (api instances behind a load balancer, or a restart):
 * failed sign-ins counted by one are seen by all. Each "process" here has its own server and connection.
 */
describe('sign-in throttling shared through the user store', () => {
  let dir: { dir: string; cleanup: () => void };
  const dbs: SqliteDatabase[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    dir?.cleanup();
  });

  it('locks an account for every process, keeps the lock across a restart, and clears it after a success', async () => {
    dir = tempDir('rapport-throttle-');
    const file = join(dir.dir, 'rapport.db');
    let now = 1_000_000;
    const clock = { now: () => now };
    const process = () => {
      const db = openSqliteDatabase(file);
      dbs.push(db);
      const users = createSqliteUserStore(db);
      const server = createServer({ logger: pino({ level: 'silent' }), maxRequestBytes: 10_000 });
      installSessionAuth(server, { users, clock });
      const signIn = async (email: string, password: string) => {
        const res = await server.inject({ method: 'POST', url: '/api/session', payload: { email, password } });
        return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
      };
      return { users, signIn };
    };
    const a = process();
    const b = process();
    await a.users.addUser('ana@example.com', 'admin', 'ana-password-1', now);

    // Three failures on one process, two on the other: the fifth locks the account everywhere.
    for (let i = 0; i < 3; i++) expect((await a.signIn('ana@example.com', `wrong-${i}`)).status).toBe(401);
    expect((await b.signIn('ana@example.com', 'wrong-3')).status).toBe(401);
    expect(await b.signIn('ANA@example.com', 'wrong-4')).toEqual({ status: 429, retryAfter: '30' });
    expect((await a.signIn('ana@example.com', 'ana-password-1')).status).toBe(429);
    // A process started afterwards (a restart) refuses too.
    const c = process();
    expect((await c.signIn('ana@example.com', 'ana-password-1')).status).toBe(429);

    // After the lock the right password signs in, and the account's count starts again.
    now += 31_000;
    expect((await c.signIn('ana@example.com', 'ana-password-1')).status).toBe(200);
    expect((await a.signIn('ana@example.com', 'wrong-5')).status).toBe(401);
    expect((await b.signIn('ana@example.com', 'ana-password-1')).status).toBe(200);
  });
});
