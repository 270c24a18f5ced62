import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserStore } from '../../src/ports/user-store';

/** A fresh, empty user store for one test; `rawDump` returns all stored text (to check secrets are not in it). */
export interface UserStoreFixture {
  store: UserStore;
  close(): Promise<void> | void;
  rawDump?(): string;
}

const HOUR = 3_600_000;

/** The UserStore contract: every adapter must pass it unchanged. */
export function userStoreContract(name: string, factory: () => Promise<UserStoreFixture>): void {
  describe(`UserStore contract: ${name}`, () => {
    let fx: UserStoreFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('adds users with roles, lists them by email, and refuses a duplicate email', async () => {
      const b = await fx.store.addUser('bea@example.com', 'viewer', 'password-bea-1', 1000);
      const a = await fx.store.addUser('ana@example.com', 'admin', 'password-ana-1', 2000);
      expect(a).toMatchObject({ email: 'ana@example.com', role: 'admin', createdAt: 2000 });
      expect(await fx.store.listUsers()).toEqual([a, b]);
      await expect(fx.store.addUser('ANA@example.com', 'editor', 'password-x-123', 3000)).rejects.toMatchObject({ code: 'conflict' });
    });

    it('verifies the right password only, and never stores it in clear', async () => {
      const u = await fx.store.addUser('ana@example.com', 'editor', 'correct horse battery', 1000);
      expect(await fx.store.verifyPassword('ana@example.com', 'correct horse battery')).toEqual(u);
      expect(await fx.store.verifyPassword('ana@example.com', 'correct horse batterY')).toBeNull();
      expect(await fx.store.verifyPassword('nobody@example.com', 'correct horse battery')).toBeNull();
      expect(fx.rawDump?.() ?? '').not.toContain('correct horse battery');
    });

    it('creates sessions that expire, carry a CSRF token, and end on delete', async () => {
      const u = await fx.store.addUser('ana@example.com', 'admin', 'password-ana-1', 1000);
      const { secret, session } = await fx.store.createSession(u.id, 10_000, HOUR);
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(session.csrfToken.length).toBeGreaterThanOrEqual(24);
      expect(session.expiresAt).toBe(10_000 + HOUR);
      const found = await fx.store.findSession(secret, 20_000);
      expect(found?.user).toEqual(u);
      expect(found?.session.csrfToken).toBe(session.csrfToken);
      expect(await fx.store.findSession(secret, 10_000 + HOUR)).toBeNull();
      expect(await fx.store.findSession('not-a-session', 20_000)).toBeNull();
      expect(fx.rawDump?.() ?? '').not.toContain(secret);
      await fx.store.deleteSession(secret);
      expect(await fx.store.findSession(secret, 20_000)).toBeNull();
    });

    it('counts failed sign-ins per key, starts a stale key again, expires stale rows and clears a key', async () => {
      const s = fx.store;
      expect(await s.signInFailures(['account:ana@example.com'])).toEqual(new Map());
      for (let i = 1; i <= 3; i++) {
        const after = await s.addSignInFailures(['account:ana@example.com', 'ip:10.0.0.1'], 1000 * i, 0);
        expect(after).toEqual(new Map([['account:ana@example.com', { failures: i, last: 1000 * i }], ['ip:10.0.0.1', { failures: i, last: 1000 * i }]]));
      }
      await s.addSignInFailures(['ip:10.0.0.2'], 3500, 0);
      // A failure after a quiet period starts from one; rows last seen before the window are deleted.
      const later = await s.addSignInFailures(['account:ana@example.com'], 10_000, 3200);
      expect(later.get('account:ana@example.com')).toEqual({ failures: 1, last: 10_000 });
      expect(await s.signInFailures(['account:ana@example.com', 'ip:10.0.0.1', 'ip:10.0.0.2'])).toEqual(
        new Map([['account:ana@example.com', { failures: 1, last: 10_000 }], ['ip:10.0.0.2', { failures: 1, last: 3500 }]]),
      );
      await s.clearSignInFailures('account:ana@example.com');
      expect(await s.signInFailures(['account:ana@example.com'])).toEqual(new Map());
    });

    it('prunes expired sessions only', async () => {
      const u = await fx.store.addUser('ana@example.com', 'admin', 'password-ana-1', 1000);
      const old = await fx.store.createSession(u.id, 0, HOUR);
      const live = await fx.store.createSession(u.id, 2 * HOUR, HOUR);
      expect(await fx.store.pruneSessions(2 * HOUR)).toBe(1);
      expect(await fx.store.findSession(old.secret, 2 * HOUR)).toBeNull();
      expect(await fx.store.findSession(live.secret, 2 * HOUR)).not.toBeNull();
    });

    it('removes a user by id or email together with their sessions', async () => {
      const a = await fx.store.addUser('ana@example.com', 'admin', 'password-ana-1', 1000);
      await fx.store.addUser('bea@example.com', 'viewer', 'password-bea-1', 1000);
      const s = await fx.store.createSession(a.id, 1000, HOUR);
      expect(await fx.store.removeUser('ana@example.com')).toBe(true);
      expect(await fx.store.findSession(s.secret, 2000)).toBeNull();
      expect(await fx.store.removeUser(a.id)).toBe(false);
      expect((await fx.store.listUsers()).map((u) => u.email)).toEqual(['bea@example.com']);
    });
  });
}
