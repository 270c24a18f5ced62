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

  const signIn = (email: string, password: string, forwardedFor?: string) => signInAt(server.url, email, password, forwardedFor);

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
    // Without trustProxy a client cannot pick its address with X-Forwarded-For.
    expect((await signIn(server.users.admin.email, server.users.admin.password, '198.51.100.9')).status).toBe(429);
  });
});

describe('dashboard API behind a trusted proxy', () => {
  let server: DashboardServer;
  beforeAll(async () => {
    server = await startDashboardServer({ customers: 2, days: 5, configEnv: { RAPPORT_TRUST_PROXY: 'loopback' } });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('counts failures per forwarded client address, so one client cannot lock out everyone behind the proxy', async () => {
    for (let i = 0; i < 20; i++) await signInAt(server.url, `nobody${i}@example.com`, 'x', '203.0.113.5');
    const locked = await signInAt(server.url, server.users.admin.email, server.users.admin.password, '203.0.113.5');
    expect(locked).toMatchObject({ status: 429, body: { message: expect.stringMatching(/from your address/) } });
    // Another client behind the same proxy (the same socket address) signs in.
    expect((await signInAt(server.url, server.users.admin.email, server.users.admin.password, '203.0.113.6')).status).toBe(200);
  });
});

async function signInAt(url: string, email: string, password: string, forwardedFor?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  const res = await fetch(`${url}/api/session`, { method: 'POST', headers, body: JSON.stringify({ email, password }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { code?: string; message?: string } };
}
