/** Dashboard roles: admins manage users and write keys; editors change lenses and playbooks; viewers only look. */
export type UserRole = 'admin' | 'editor' | 'viewer';

/** All roles, most powerful first. */
export const USER_ROLES: readonly UserRole[] = ['admin', 'editor', 'viewer'];

/** A dashboard user (the password hash never leaves the store). */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly role: UserRole;
  readonly createdAt: number;
}

/** A signed-in browser session. */
export interface Session {
  readonly id: string;
  readonly userId: string;
  /** Double-submit CSRF token bound to this session. */
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Failed sign-ins counted for one throttle key (an account or a client address). */
export interface SignInFailures {
  readonly failures: number;
  /** Time of the last failure. */
  readonly last: number;
}

/**
 * Dashboard users and their sessions. Passwords are stored as scrypt hashes; session ids are
 * stored as SHA-256 hashes so a stolen database does not give live sessions.
 * Adapters: `adapters/sqlite/sqlite-user-store.ts`. Contract: `test/contract/user-store.contract.ts`.
 */
export interface UserStore {
  /** Creates a user; throws RapportError 'conflict' when the email exists. */
  addUser(email: string, role: UserRole, password: string, now: number): Promise<User>;
  listUsers(): Promise<User[]>;
  /** Removes a user (by id or email) and their sessions; false when none matched. */
  removeUser(idOrEmail: string): Promise<boolean>;
  /** The user when the email and password match, else null (same time either way). */
  verifyPassword(email: string, password: string): Promise<User | null>;
  /** Starts a session; returns the secret session id (for the cookie) with the session. */
  createSession(userId: string, now: number, ttlMs: number): Promise<{ secret: string; session: Session }>;
  /** The live session and its user for a cookie secret, or null when unknown or expired. */
  findSession(secret: string, now: number): Promise<{ session: Session; user: User } | null>;
  deleteSession(secret: string): Promise<void>;
  /** Deletes expired sessions; returns how many. */
  pruneSessions(now: number): Promise<number>;
  /**
   * Failed sign-ins per throttle key, kept here so that every process serving the dashboard on this store
   * sees them, and a restart does not forget them (see `http/sign-in-throttle.ts`). Unknown keys are absent.
   */
  signInFailures(keys: readonly string[]): Promise<Map<string, SignInFailures>>;
  /**
   * Counts one failure at `at` for each key (a key whose last failure is before `forgetBefore` starts again
   * at one; such stale keys are deleted) and returns the keys' new counts.
   */
  addSignInFailures(keys: readonly string[], at: number, forgetBefore: number): Promise<Map<string, SignInFailures>>;
  /** Forgets a key's failures (a successful sign-in to that account). */
  clearSignInFailures(key: string): Promise<void>;
}
