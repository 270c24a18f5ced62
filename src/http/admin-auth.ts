import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminToken, KeyStore } from '../ports/key-store';
import { errorBody } from './error-handler';
import { AuthError } from '../domain/errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin token that authenticated this `/api/*` request. */
    adminToken?: AdminToken;
    /** Who is calling `/api/*`: an admin token (acts as admin) or a signed-in dashboard user. */
    principal?: Principal;
  }
}

/** Who authenticated an `/api/*` request. Tokens act as admin. */
export interface Principal {
  readonly kind: 'token' | 'user';
  readonly role: 'admin' | 'editor' | 'viewer';
  /** The user's id and email for `kind: 'user'`; the token's id and name for `kind: 'token'`. */
  readonly id: string;
  readonly name: string;
}

/**
 * A second way in (dashboard session cookies, see src/http/session-auth.ts), consulted when a
 * request carries no `Authorization` header. `authenticate` returns the principal, or null when the
 * request has no session; it throws a RapportError (401/403) for a bad session, CSRF or role.
 */
export interface SessionAuthenticator {
  /** Routes anyone may call (sign-in). */
  isPublic(request: FastifyRequest): boolean;
  authenticate(request: FastifyRequest): Promise<Principal | null>;
}

const sessionAuthenticators = new WeakMap<FastifyInstance, SessionAuthenticator>();

/** Lets session cookies authenticate `/api/*` on this server, besides admin tokens. */
export function useSessionAuthenticator(server: FastifyInstance, auth: SessionAuthenticator): void {
  sessionAuthenticators.set(server, auth);
}

/**
 * A Fastify hook checking `Authorization: Bearer <token>` against the key store.
 * Answers 401 `{ code: 'unauthorized', message }` when missing or wrong.
 */
export function adminAuth(keyStore: KeyStore) {
  return async function adminAuthHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const h = request.headers.authorization;
    const m = h ? /^bearer\s+(\S+)\s*$/i.exec(h) : null;
    const token = m?.[1] ? await keyStore.verifyToken(m[1]) : null;
    if (!token) {
      const { status, body } = errorBody(
        new AuthError(m ? 'unknown or revoked admin token' : 'missing admin token: send Authorization: Bearer <token> (rapport tokens create)'),
      );
      await reply.code(status).send(body);
      return;
    }
    request.adminToken = token;
  };
}

/**
 * Protects every `/api/*` route (present and future, e.g. routes added by app extensions) with
 * {@link adminAuth}, as an `onRequest` hook on the root instance. When a session authenticator is
 * registered ({@link useSessionAuthenticator}), requests without `Authorization` may use a session
 * cookie instead. Sets `request.principal` either way.
 */
export function protectAdminApi(server: FastifyInstance, keyStore: KeyStore): void {
  const hook = adminAuth(keyStore);
  server.addHook('onRequest', async (request, reply) => {
    const url = request.url;
    if (!(url === '/api' || url.startsWith('/api/') || url.startsWith('/api?'))) return;
    const sessions = sessionAuthenticators.get(server);
    if (sessions && request.headers.authorization === undefined) {
      if (sessions.isPublic(request)) return;
      try {
        const principal = await sessions.authenticate(request);
        if (principal) {
          request.principal = principal;
          return;
        }
      } catch (err) {
        const { status, body } = errorBody(err);
        await reply.code(status).send(body);
        return;
      }
    }
    await hook(request, reply);
    if (request.adminToken) request.principal = { kind: 'token', role: 'admin', id: request.adminToken.id, name: request.adminToken.name };
  });
}
