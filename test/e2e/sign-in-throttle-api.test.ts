import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from './harness';

/** Sign-in hardening over HTTP on the full server: 429 with Retry-After after repeated failures. */
describe('dashboard API: failed sign-ins are throttled', () => {
  let server: DashboardServer;
  beforeAll(async () => {
    server = await startDashboardServer({ customers: 3, days: 10 });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const signIn = async (email: string, password: string) => {
    const res = await fetch(`${server.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { code?: string; message?: string } };
  };

  it('refuses an account after 5 wrong passwords with 429 and Retry-After, even with the right password; others still sign in', async () => {
    const { editor, viewer } = server.users;
    for (let i = 0; i < 4; i++) expect((await signIn(editor.email, `wrong-${i}`)).status).toBe(401);
    const fifth = await signIn(editor.email, 'wrong-5');
    expect(fifth).toMatchObject({ status: 429, retryAfter: '30', body: { code: 'too_many_attempts', message: 'too many failed sign-ins for this account: try again in 30 s' } });
    const right = await signIn(editor.email, editor.password);
    expect(right.status).toBe(429);
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
    // Unknown accounts are throttled the same way (no hint about which exist).
    for (let i = 0; i < 4; i++) expect((await signIn('ghost@example.com', 'x')).status).toBe(401);
    expect((await signIn('ghost@example.com', 'x')).status).toBe(429);
    expect((await signIn(viewer.email, viewer.password)).status).toBe(200);
  });

  it('refuses a client address after 20 failures across accounts', async () => {
    // 10 failures from the first test already count for this address (127.0.0.1).
    let last = { status: 0, retryAfter: null as string | null, body: {} as { code?: string; message?: string } };
    for (let i = 0; i < 10; i++) last = await signIn(`nobody${i}@example.com`, 'x');
    expect(last).toMatchObject({ status: 429, body: { code: 'too_many_attempts', message: expect.stringMatching(/from your address/) } });
    expect((await signIn(server.users.admin.email, server.users.admin.password)).status).toBe(429);
  });
});
