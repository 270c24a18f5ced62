import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmail, startSmtpSink, type ReceivedEmail } from '../automation/helpers';
import { startDashboardServer, type DashboardServer } from './harness';

const PASSWORD = 'b-s3cret-pw!';

/** An SMTP server that requires AUTH (user `mailer`, {@link PASSWORD}) over plain TCP, like a relay on a private network. */
async function startAuthSmtp(): Promise<{ url: string; port: number; messages: ReceivedEmail[]; close: () => Promise<void> }> {
  const messages: ReceivedEmail[] = [];
  const server = new SMTPServer({
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'mailer' && auth.password === PASSWORD) cb(null, { user: 'mailer' });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(parseEmail(Buffer.concat(chunks).toString('utf8'), session.envelope.rcptTo.map((r) => r.address)));
        cb();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, port, messages, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Channel settings over HTTP on the full server, with two real SMTP servers: switching A → B at run time. */
describe('dashboard API: channel settings editable at run time', () => {
  let server: DashboardServer;
  let a: Awaited<ReturnType<typeof startSmtpSink>>;
  let b: Awaited<ReturnType<typeof startAuthSmtp>>;
  type Role = 'admin' | 'editor' | 'viewer';
  const sessions = {} as Record<Role, { cookie: string; csrf: string }>;
  const bUrl = () => `smtp://mailer:${encodeURIComponent(PASSWORD)}@127.0.0.1:${b.port}`;
  const to = (box: { messages: ReceivedEmail[] }, address: string) => box.messages.filter((m) => m.to.includes(address));

  beforeAll(async () => {
    a = await startSmtpSink();
    b = await startAuthSmtp();
    server = await startDashboardServer({ customers: 10, days: 30, env: { RAPPORT_SMTP_URL: a.url, RAPPORT_SMTP_FROM: 'Env Sender <env@example.com>' } });
    for (const role of ['admin', 'editor', 'viewer'] as const) {
      const u = server.users[role];
      const res = await fetch(`${server.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(u) });
      expect(res.status).toBe(200);
      sessions[role] = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await a?.close();
    await b?.close();
  });

  const call = async (role: Role, method: string, path: string, body?: unknown) => {
    const s = sessions[role];
    const headers: Record<string, string> = { cookie: s.cookie, 'x-csrf-token': s.csrf };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as any };
  };

  it('shows the effective configuration with its sources, secrets masked, to every role', async () => {
    const r = await call('viewer', 'GET', '/api/settings/channels');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      email: { enabled: true, smtpUrl: a.url, from: 'Env Sender <env@example.com>', maxConnections: 5, ratePerSecond: 0 },
      webhooks: { signed: true, timeoutMs: 10_000, secret: '****' },
      sources: { 'email.smtpUrl': 'env', 'email.from': 'env', 'email.maxConnections': 'default', 'webhooks.secret': 'env' },
      editable: true,
      updatedAt: null,
    });
    expect(r.text).not.toContain('e2e-secret');
  });

  it('refuses viewers and editors (403) and bad values with a precise 400 that changes nothing', async () => {
    const before = (await call('admin', 'GET', '/api/settings/channels')).body;
    expect((await call('viewer', 'PUT', '/api/settings/channels', { email: { smtpUrl: bUrl() } })).status).toBe(403);
    expect((await call('editor', 'PUT', '/api/settings/channels', { email: { smtpUrl: bUrl() } })).status).toBe(403);
    expect((await call('viewer', 'POST', '/api/settings/channels/test-email', { to: 'ops@example.com' })).status).toBe(403);

    const scheme = await call('admin', 'PUT', '/api/settings/channels', { email: { smtpUrl: 'http://mail.example.com:25', from: 'Shop <shop@example.com>' } });
    expect(scheme.status).toBe(400);
    expect(scheme.body).toMatchObject({ code: 'invalid_input', message: 'email.smtpUrl: must start with smtp:// or smtps:// (got http://)' });
    const notUrl = await call('admin', 'PUT', '/api/settings/channels', { email: { smtpUrl: 'smtp://mailer:hunter2@mail host:25' } });
    expect(notUrl.status).toBe(400);
    expect(notUrl.body.message).toMatch(/^email\.smtpUrl: is not a valid URL/);
    expect(notUrl.text).not.toContain('hunter2');
    const badFrom = await call('admin', 'PUT', '/api/settings/channels', { email: { from: 'not an address' } });
    expect(badFrom.status).toBe(400);
    expect(badFrom.body.message).toMatch(/^email\.from: must be an address like/);
    const pool = await call('admin', 'PUT', '/api/settings/channels', { email: { maxConnections: 0 } });
    expect(pool.status).toBe(400);
    expect(pool.body.message).toMatch(/^email\.maxConnections: /);
    const unknown = await call('admin', 'PUT', '/api/settings/channels', { email: { smtp_url: bUrl() } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/email: unknown field 'smtp_url' \(allowed: smtpUrl, from/);
    const secret = await call('admin', 'PUT', '/api/settings/channels', { webhooks: { secret: 'short' } });
    expect(secret.body.message).toBe('webhooks.secret: must have at least 16 characters');

    expect((await call('admin', 'GET', '/api/settings/channels')).body).toEqual(before);
  });

  it('switches e-mail from A to B through the API: the next test and playbook e-mails arrive at B, not A', async () => {
    const put = await call('admin', 'PUT', '/api/settings/channels', { email: { smtpUrl: bUrl() } });
    expect(put.status).toBe(200);
    expect(put.body.email.smtpUrl).toBe(`smtp://mailer:****@127.0.0.1:${b.port}`);
    expect(put.body.sources['email.smtpUrl']).toBe('settings');
    expect(put.body.configured.email.smtpUrl).toBe(a.url);
    expect(put.text).not.toContain(encodeURIComponent(PASSWORD));
    expect(put.text).not.toContain(PASSWORD);
    const seen = await call('viewer', 'GET', '/api/settings/channels');
    expect(seen.body.email.smtpUrl).toBe(`smtp://mailer:****@127.0.0.1:${b.port}`);
    expect(seen.text).not.toContain(encodeURIComponent(PASSWORD));

    // The test e-mail reports B's answer.
    const test = await call('admin', 'POST', '/api/settings/channels/test-email', { to: 'ops@example.com' });
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, to: 'ops@example.com', smtpUrl: `smtp://mailer:****@127.0.0.1:${b.port}`, accepted: ['ops@example.com'] });
    expect(test.body.response).toMatch(/^250 /);
    expect(to(b, 'ops@example.com')).toHaveLength(1);
    expect(to(a, 'ops@example.com')).toHaveLength(0);

    // A playbook e-mail: triggered by an event, sent by the automation's (switched) SMTP pool.
    const yaml = [
      'id: settings-mail-check',
      'name: Settings mail check',
      'trigger:',
      '  event: { name: Settings Check Requested }',
      'holdout: 0',
      'reenter: always',
      'steps:',
      '  - id: mail',
      '    send: { channel: email, template: welcome-1, transactional: true }',
      '',
    ].join('\n');
    expect((await call('admin', 'PUT', '/api/playbooks/settings-mail-check', { yaml })).status).toBe(201);
    const t = new Date().toISOString();
    await server.send([
      { type: 'identify', userId: 'mail-check', traits: { email: 'pb@example.com', name: 'Pat' }, timestamp: t },
      { type: 'track', userId: 'mail-check', event: 'Settings Check Requested', timestamp: t },
    ]);
    const mail = await until('the playbook e-mail at B', () => to(b, 'pb@example.com')[0]);
    expect(mail.headers['from']).toContain('env@example.com');
    expect(to(a, 'pb@example.com')).toHaveLength(0);
  }, 60_000);

  it('changes only the sender (the masked password stays in effect) and reports precise SMTP errors', async () => {
    const put = await call('admin', 'PUT', '/api/settings/channels', { email: { from: 'Shop <shop@example.com>' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ email: { from: 'Shop <shop@example.com>', smtpUrl: `smtp://mailer:****@127.0.0.1:${b.port}` }, sources: { 'email.from': 'settings' } });
    // Sending the masked URL back (as the form does) keeps the password.
    expect((await call('admin', 'PUT', '/api/settings/channels', { email: { smtpUrl: `smtp://mailer:****@127.0.0.1:${b.port}` } })).status).toBe(200);
    const ok = await call('admin', 'POST', '/api/settings/channels/test-email', { to: 'shop-check@example.com' });
    expect(ok.body).toMatchObject({ ok: true, from: 'Shop <shop@example.com>' });
    expect(to(b, 'shop-check@example.com')[0]?.headers['from']).toContain('shop@example.com');
    // A masked password cannot be carried to another host.
    const moved = await call('admin', 'PUT', '/api/settings/channels', { email: { smtpUrl: 'smtp://mailer:****@mail.example.org:25' } });
    expect(moved.status).toBe(400);
    expect(moved.body.message).toMatch(/password is masked/);

    // Unsaved draft values: a wrong password gets B's 535 on AUTH; a closed port gets the connection error.
    const wrong = await call('admin', 'POST', '/api/settings/channels/test-email', { to: 'x@example.com', email: { smtpUrl: `smtp://mailer:not-it@127.0.0.1:${b.port}` } });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toMatchObject({ ok: false, smtpUrl: `smtp://mailer:****@127.0.0.1:${b.port}`, error: { code: 'EAUTH', responseCode: 535 } });
    expect(wrong.body.error.message).toMatch(/Invalid username or password/);
    expect(wrong.text).not.toContain('not-it');
    const closed = await call('admin', 'POST', '/api/settings/channels/test-email', { to: 'x@example.com', email: { smtpUrl: 'smtp://127.0.0.1:1' } });
    expect(closed.body).toMatchObject({ ok: false, error: { code: 'ESOCKET' } });
    expect(closed.body.error.message).toMatch(/ECONNREFUSED 127\.0\.0\.1:1/);
    const badTo = await call('admin', 'POST', '/api/settings/channels/test-email', { to: 'nobody' });
    expect(badTo.status).toBe(400);
    expect(badTo.body.message).toMatch(/^to: must be an e-mail address/);
    // The draft was not saved.
    expect((await call('admin', 'GET', '/api/settings/channels')).body.email.smtpUrl).toBe(`smtp://mailer:****@127.0.0.1:${b.port}`);
  }, 60_000);

  it('resets fields to the environment with null', async () => {
    const r = await call('admin', 'PUT', '/api/settings/channels', { email: { smtpUrl: null, from: null } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ email: { smtpUrl: a.url, from: 'Env Sender <env@example.com>' }, sources: { 'email.smtpUrl': 'env', 'email.from': 'env' } });
    const test = await call('admin', 'POST', '/api/settings/channels/test-email', { to: 'back@example.com' });
    expect(test.body.ok).toBe(true);
    expect(to(a, 'back@example.com')).toHaveLength(1);
  });
});
