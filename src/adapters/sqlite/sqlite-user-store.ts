import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { RapportError } from '../../domain/errors';
import type { Session, SignInFailures, User, UserRole, UserStore } from '../../ports/user-store';
import { checkPassword, hashPassword } from '../shared/secrets';
import type { SqliteDatabase } from './open-database';

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

/** Creates the SQLite {@link UserStore} on an open database (migrations 30+ applied). */
export function createSqliteUserStore(db: SqliteDatabase): UserStore {
  const byEmail = db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?');
  const byId = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
  const failuresOf = db.prepare<[string], SignInFailures>('SELECT failures, last FROM sign_in_failures WHERE key = ?');
  const clearFailures = db.prepare('DELETE FROM sign_in_failures WHERE key = ?');
  const expireFailures = db.prepare('DELETE FROM sign_in_failures WHERE last < ?');
  const addFailure = db.prepare<[{ key: string; at: number; forgetBefore: number }], SignInFailures>(
    `INSERT INTO sign_in_failures (key, failures, last) VALUES (@key, 1, @at)
     ON CONFLICT(key) DO UPDATE SET failures = CASE WHEN last < @forgetBefore THEN 1 ELSE failures + 1 END, last = excluded.last
     RETURNING failures, last`,
  );
  // One transaction: the stale rows go, then each key counts one more (or starts again).
  const addFailuresTx = db.transaction((keys: readonly string[], at: number, forgetBefore: number) => {
    expireFailures.run(forgetBefore);
    const out = new Map<string, SignInFailures>();
    for (const key of keys) out.set(key, addFailure.get({ key, at, forgetBefore })!);
    return out;
  });
  return {
    async addUser(email, role, password, now) {
      const normal = email.trim();
      if (byEmail.get(normal)) throw new RapportError('conflict', `a user with email '${normal}' already exists`);
      const user: User = { id: `usr_${randomUUID()}`, email: normal, role, createdAt: now };
      const hash = await hashPassword(password);
      db.prepare('INSERT INTO users (id, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)').run(user.id, user.email, role, hash, now);
      return user;
    },
    async listUsers() {
      return db.prepare<[], UserRow>('SELECT * FROM users ORDER BY email').all().map(toUser);
    },
    async removeUser(idOrEmail) {
      const row = byId.get(idOrEmail) ?? byEmail.get(idOrEmail);
      if (!row) return false;
      db.transaction(() => {
        db.prepare('DELETE FROM user_sessions WHERE user_id = ?').run(row.id);
        db.prepare('DELETE FROM users WHERE id = ?').run(row.id);
      })();
      return true;
    },
    async verifyPassword(email, password) {
      const row = byEmail.get(email.trim());
      if (!row) {
        dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
        await checkPassword(password, await dummyHash);
        return null;
      }
      return (await checkPassword(password, row.password_hash)) ? toUser(row) : null;
    },
    async createSession(userId, now, ttlMs) {
      const secret = randomBytes(32).toString('base64url');
      const session: Session = { id: sha256(secret).slice(0, 16), userId, csrfToken: randomBytes(24).toString('base64url'), createdAt: now, expiresAt: now + ttlMs };
      db.prepare('INSERT INTO user_sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
        sha256(secret),
        userId,
        session.csrfToken,
        now,
        session.expiresAt,
      );
      return { secret, session };
    },
    async findSession(secret, now) {
      const h = sha256(secret);
      const row = db
        .prepare<[string], { id_hash: string; user_id: string; csrf_token: string; created_at: number; expires_at: number }>('SELECT * FROM user_sessions WHERE id_hash = ?')
        .get(h);
      if (!row || row.expires_at <= now) return null;
      const user = byId.get(row.user_id);
      if (!user) return null;
      return {
        session: { id: h.slice(0, 16), userId: row.user_id, csrfToken: row.csrf_token, createdAt: row.created_at, expiresAt: row.expires_at },
        user: toUser(user),
      };
    },
    async deleteSession(secret) {
      db.prepare('DELETE FROM user_sessions WHERE id_hash = ?').run(sha256(secret));
    },
    async pruneSessions(now) {
      return db.prepare('DELETE FROM user_sessions WHERE expires_at <= ?').run(now).changes;
    },
    async signInFailures(keys) {
      const out = new Map<string, SignInFailures>();
      for (const k of keys) {
        const r = failuresOf.get(k);
        if (r) out.set(k, r);
      }
      return out;
    },
    async addSignInFailures(keys, at, forgetBefore) {
      return addFailuresTx.immediate(keys, at, forgetBefore);
    },
    async clearSignInFailures(key) {
      clearFailures.run(key);
    },
  };
}
