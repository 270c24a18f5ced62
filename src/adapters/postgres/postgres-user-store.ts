import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { RapportError } from '../../domain/errors';
import type { Session, SignInFailures, User, UserRole, UserStore } from '../../ports/user-store';
import { checkPassword, hashPassword } from '../shared/secrets';
import { inTransaction, type PostgresPool } from './open-pool';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

interface UserRow {
  id: string;
  email: string;
  role: string;
  password_hash: string;
  created_at: number;
}

const toUser = (r: UserRow): User => ({ id: r.id, email: r.email, role: r.role as UserRole, createdAt: r.created_at });

/** A hash of a random password: verifying unknown emails costs the same as known ones. */
let dummyHash: Promise<string> | undefined;

const UNIQUE_VIOLATION = '23505';

/** Creates the PostgreSQL {@link UserStore} on a migrated pool (migration 30). Same hashing as the SQLite store. */
export function createPostgresUserStore(pool: PostgresPool): UserStore {
  const byEmail = async (email: string): Promise<UserRow | undefined> =>
    (await pool.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email])).rows[0];
  const byId = async (id: string): Promise<UserRow | undefined> =>
    (await pool.query<UserRow>('SELECT * FROM users WHERE id = $1', [id])).rows[0];
  const conflict = (email: string): RapportError => new RapportError('conflict', `a user with email '${email}' already exists`);
  return {
    async addUser(email, role, password, now) {
      const normal = email.trim();
      if (await byEmail(normal)) throw conflict(normal);
      const user: User = { id: `usr_${randomUUID()}`, email: normal, role, createdAt: now };
      const hash = await hashPassword(password);
      try {
        await pool.query('INSERT INTO users (id, email, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [user.id, user.email, role, hash, now]);
      } catch (e) {
        // Another process added the same email between the check and the insert.
        if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw conflict(normal);
        throw e;
      }
      return user;
    },
    async listUsers() {
      return (await pool.query<UserRow>('SELECT * FROM users ORDER BY lower(email), email')).rows.map(toUser);
    },
    async removeUser(idOrEmail) {
      const row = (await byId(idOrEmail)) ?? (await byEmail(idOrEmail));
      if (!row) return false;
      await inTransaction(pool, async (c) => {
        await c.query('DELETE FROM user_sessions WHERE user_id = $1', [row.id]);
        await c.query('DELETE FROM users WHERE id = $1', [row.id]);
      });
      return true;
    },
    async verifyPassword(email, password) {
      const row = await byEmail(email.trim());
      if (!row) {
        dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
        await checkPassword(password, await dummyHash);
        return null;
      }
      return (await checkPassword(password, row.password_hash)) ? toUser(row) : null;
    },
    async createSession(userId, now, ttlMs) {
      const secret = randomBytes(32).toString('base64url');
      const h = sha256(secret);
      const session: Session = { id: h.slice(0, 16), userId, csrfToken: randomBytes(24).toString('base64url'), createdAt: now, expiresAt: now + ttlMs };
      await pool.query('INSERT INTO user_sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        h,
        userId,
        session.csrfToken,
        now,
        session.expiresAt,
      ]);
      return { secret, session };
    },
    async findSession(secret, now) {
      const h = sha256(secret);
      const r = await pool.query<UserRow & { user_id: string; csrf_token: string; s_created_at: number; expires_at: number }>(
        `SELECT s.user_id, s.csrf_token, s.created_at AS s_created_at, s.expires_at, u.*
           FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2`,
        [h, now],
      );
      const row = r.rows[0];
      if (!row) return null;
      return {
        session: { id: h.slice(0, 16), userId: row.user_id, csrfToken: row.csrf_token, createdAt: row.s_created_at, expiresAt: row.expires_at },
        user: toUser(row),
      };
    },
    async deleteSession(secret) {
      await pool.query('DELETE FROM user_sessions WHERE id_hash = $1', [sha256(secret)]);
    },
    async pruneSessions(now) {
      return (await pool.query('DELETE FROM user_sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
    },
    async signInFailures(keys) {
      const r = await pool.query<{ key: string; failures: number; last: string }>(
        'SELECT key, failures, last FROM sign_in_failures WHERE key = ANY($1::text[])',
        [keys],
      );
      return new Map(r.rows.map((row) => [row.key, { failures: row.failures, last: Number(row.last) }]));
    },
    async addSignInFailures(keys, at, forgetBefore) {
      return inTransaction(pool, async (c) => {
        await c.query('DELETE FROM sign_in_failures WHERE last < $1', [forgetBefore]);
        const out = new Map<string, SignInFailures>();
        // Key order: concurrent api processes lock the rows in the same order.
        for (const k of [...keys].sort()) {
          const r = await c.query<{ failures: number; last: string }>(
            `INSERT INTO sign_in_failures (key, failures, last) VALUES ($1, 1, $2)
             ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN sign_in_failures.last < $3 THEN 1 ELSE sign_in_failures.failures + 1 END,
               last = excluded.last
             RETURNING failures, last`,
            [k, at, forgetBefore],
          );
          out.set(k, { failures: r.rows[0]!.failures, last: Number(r.rows[0]!.last) });
        }
        return out;
      });
    },
    async clearSignInFailures(key) {
      await pool.query('DELETE FROM sign_in_failures WHERE key = $1', [key]);
    },
  };
}
