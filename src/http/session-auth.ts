import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuthError, ForbiddenError, NotFoundError, TooManyAttemptsError, ValidationError } from '../domain/errors';
import type { Clock } from '../ports/clock';
import { USER_ROLES, type User, type UserRole, type UserStore } from '../ports/user-store';
import { useSessionAuthenticator, type Principal } from './admin-auth';
import { createSharedSignInThrottle, type SignInThrottleOptions } from './sign-in-throttle';

/** Name of the session cookie (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'rapport_session';
/** Header carrying the double-submit CSRF token on state-changing requests. */
export const CSRF_HEADER = 'x-csrf-token';
const DEFAULT_TTL_MS = 12 * 3_600_000;

/** Dependencies of {@link installSessionAuth}. */
export interface SessionAuthDeps {
  users: UserStore;
  clock: Clock;
  /** Session lifetime (default 12 h). */
  ttlMs?: number;
  /** Limits on failed sign-ins per account and per client address (defaults: 5 and 20, then 30 s doubling to 15 min). */
  throttle?: SignInThrottleOptions;
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

const pathOf = (url: string): string => url.split('?')[0] ?? url;

/**
 * What a role may do on the admin API. Tokens and admins: everything. Editors: everything except
 * users, sources (write keys) and settings (read only). Viewers: read only (plus the read-only lens validate/preview and
 * the dry run), never write keys or the user list.
 */
export function roleAllows(role: UserRole, method: string, url: string): boolean {
  if (role === 'admin') return true;
  const path = pathOf(url);
  if (path === '/api/session') return true;
  if (path.startsWith('/api/users')) return false;
  const read = method === 'GET' || method === 'HEAD';
  if (path.startsWith('/api/sources') || path.startsWith('/api/settings')) return read;
  if (role === 'editor') return true;
  if (read) return true;
  return method === 'POST' && (path === '/api/lenses/validate' || path === '/api/playbooks/validate' || /^\/api\/lenses\/[^/]+\/preview$/.test(path) || /^\/api\/playbooks\/[^/]+\/dry-run$/.test(path));
}

function setSessionCookie(reply: FastifyReply, request: FastifyRequest, value: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  void reply.header('set-cookie', `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

const userView = (u: User) => ({ id: u.id, email: u.email, role: u.role, createdAt: new Date(u.createdAt).toISOString() });

/**
 * Dashboard sign-in: lets a session cookie authenticate `/api/*` (with the double-submit CSRF
 * header on every non-GET request and the role rules of {@link roleAllows}), and registers
 * `POST /api/session` (sign in), `GET /api/session` (me + CSRF token; `user: null` when signed out), `DELETE /api/session`
 * (sign out) and the admin-only `GET/POST /api/users`, `DELETE /api/users/:id`.
 */
export function installSessionAuth(server: FastifyInstance, deps: SessionAuthDeps): void {
  const ttl = deps.ttlMs ?? DEFAULT_TTL_MS;
  const sessionOf = async (request: FastifyRequest) => {
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (!secret) return null;
    return deps.users.findSession(secret, deps.clock.now());
  };

  useSessionAuthenticator(server, {
    isPublic: (request) => pathOf(request.url) === '/api/session' && (request.method === 'POST' || request.method === 'GET'),
    async authenticate(request): Promise<Principal | null> {
      if (readCookie(request.headers.cookie, SESSION_COOKIE) === undefined) return null;
      const found = await sessionOf(request);
      if (!found) throw new AuthError('your session has expired: sign in again');
      const safe = request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
      if (!safe && request.headers[CSRF_HEADER] !== found.session.csrfToken) {
        throw new ForbiddenError(`missing or wrong ${CSRF_HEADER} header: send the csrfToken from GET /api/session`);
      }
      if (!roleAllows(found.user.role, request.method, request.url)) {
        throw new ForbiddenError(`the ${found.user.role} role may not ${request.method} ${pathOf(request.url)}`);
      }
      return { kind: 'user', role: found.user.role, id: found.user.id, name: found.user.email };
    },
  });

  // Failures are kept in the user store: every process serving the dashboard counts them together.
  const throttle = createSharedSignInThrottle(deps.users, deps.throttle);
  const tooMany = (scope: 'account' | 'ip', ms: number) => {
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    return new TooManyAttemptsError(`too many failed sign-ins ${scope === 'account' ? 'for this account' : 'from your address'}: try again in ${seconds} s`, seconds);
  };
  const login = z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1000) });
  server.post('/api/session', async (request, reply) => {
    const b = login.safeParse(request.body);
    if (!b.success) throw new ValidationError('body must be { "email": "...", "password": "..." }');
    // Refused before the password is hashed: a locked account costs no scrypt work.
    const gate = await throttle.begin(b.data.email, request.ip, deps.clock.now());
    if (!gate.allowed) throw tooMany(gate.scope, gate.retryAfterMs);
    let user: User | null;
    try {
      user = await deps.users.verifyPassword(b.data.email, b.data.password);
    } catch (err) {
      throttle.release(b.data.email, request.ip);
      throw err;
    }
    if (!user) {
      const after = await throttle.failure(b.data.email, request.ip, deps.clock.now());
      if (!after.allowed) throw tooMany(after.scope, after.retryAfterMs);
      throw new AuthError('wrong email or password');
    }
    await throttle.success(b.data.email, request.ip);
    const now = deps.clock.now();
    await deps.users.pruneSessions(now);
    const { secret, session } = await deps.users.createSession(user.id, now, ttl);
    setSessionCookie(reply, request, secret, Math.floor(ttl / 1000));
    return reply.code(200).send({ user: userView(user), csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() });
  });

  server.get('/api/session', async (request) => {
    if (request.principal?.kind === 'token') return { user: { id: request.principal.id, email: request.principal.name, role: 'admin' }, csrfToken: null, kind: 'token' };
    const found = await sessionOf(request);
    // Not signed in is an answer, not an error: the dashboard asks this on every load.
    if (!found) return { user: null, csrfToken: null, kind: null };
    return { user: userView(found.user), csrfToken: found.session.csrfToken, expiresAt: new Date(found.session.expiresAt).toISOString(), kind: 'user' };
  });

  server.delete('/api/session', async (request, reply) => {
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (secret) await deps.users.deleteSession(secret);
    setSessionCookie(reply, request, '', 0);
    return { signedOut: true };
  });

  server.get('/api/users', async () => ({ users: (await deps.users.listUsers()).map(userView) }));

  const addUser = z.object({ email: z.string().email().max(320), role: z.enum(USER_ROLES as [UserRole, ...UserRole[]]), password: z.string().min(10).max(1000).optional() });
  server.post('/api/users', async (request, reply) => {
    const b = addUser.safeParse(request.body);
    if (!b.success) throw new ValidationError('body must be { "email": "...", "role": "admin|editor|viewer", "password"?: "at least 10 characters" }', b.error.issues);
    const password = b.data.password ?? generatePassword();
    const user = await deps.users.addUser(b.data.email, b.data.role, password, deps.clock.now());
    return reply.code(201).send({ user: userView(user), ...(b.data.password ? {} : { password }) });
  });

  server.delete('/api/users/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (request.principal?.kind === 'user' && (request.principal.id === id || request.principal.name === id)) {
      throw new ValidationError('you cannot remove yourself: ask another admin');
    }
    if (!(await deps.users.removeUser(id))) throw new NotFoundError('user', id);
    return { removed: id };
  });
}

/** A random 20-character password (about 120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
