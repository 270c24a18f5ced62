import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteHandle } from '../../src/app/app-store';
import { loadConfig } from '../../src/app/config';
import { createApp, type App } from '../../src/app/create-app';
import { BUILTIN_LENS_DIR } from '../../src/classify/lens-registry';
import type { CliIo } from '../../src/cli/cli-context';
import { main } from '../../src/cli/main';
import { dashboardExtension } from '../../src/http/dashboard-routes';
import { roleAllows } from '../../src/http/session-auth';

/** The dashboard's server side without a browser: sessions, roles, CSRF, lens editing, static files, the users CLI. */
describe('dashboard API: sessions, roles, CSRF, lens editing', () => {
  let app: App;
  let url: string;
  let dir: string;
  let dist: string;
  let adminToken: string;
  const pw = { admin: 'admin-password-1', editor: 'editor-password-1', viewer: 'viewer-password-1' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rapport-dash-api-'));
    dist = join(dir, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Rapport</title><div id="root"></div>');
    writeFileSync(join(dist, 'assets', 'app-123.js'), 'console.log(1)');
    const dataDir = join(dir, 'data');
    const config = loadConfig({ cwd: dir, env: {}, overrides: { port: 0, dataDir } });
    app = await createApp(config, { logger: pino({ level: 'silent' }), extensions: [dashboardExtension({ distDir: dist, analyse: null })] });
    ({ url } = await app.start());
    adminToken = (await app.keyStore.createToken('ops', Date.now())).secret;
    const users = app.store.userStore;
    for (const role of ['admin', 'editor', 'viewer'] as const) await users.addUser(`${role}@example.com`, role, pw[role], Date.now());
    // Two customers with indicator snapshots for the lens preview.
    const ins = sqliteHandle(app).prepare(`INSERT INTO customers (id, user_id, first_seen, last_seen, event_count, indicators, traits) VALUES (?, ?, 0, 0, 1, ?, '{}')`);
    ins.run('c1', 'u1', JSON.stringify({ days_since_first_order: 10, orders_total: 1, tenure_days: 10 }));
    ins.run('c2', 'u2', JSON.stringify({ days_since_first_order: 400, orders_total: 9, p_alive: 0.9, tenure_days: 400 }));
  });
  afterAll(async () => {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const signIn = async (role: keyof typeof pw) => {
    const res = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `${role}@example.com`, password: pw[role] }) });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const body = (await res.json()) as { csrfToken: string };
    return { cookie: setCookie.split(';')[0]!, csrf: body.csrfToken };
  };
  const call = async (s: { cookie: string; csrf?: string } | null, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (s) headers['cookie'] = s.cookie;
    if (s?.csrf) headers['x-csrf-token'] = s.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json as Record<string, unknown>, headers: res.headers };
  };

  it('signs in with a password, refuses a wrong one, reports "me" and signs out', async () => {
    expect((await call(null, 'POST', '/api/session', { email: 'admin@example.com', password: 'nope' })).status).toBe(401);
    expect((await call(null, 'GET', '/api/session')).body).toMatchObject({ user: null });
    const s = await signIn('editor');
    const me = await call(s, 'GET', '/api/session');
    expect(me.body).toMatchObject({ user: { email: 'editor@example.com', role: 'editor' }, csrfToken: s.csrf });
    expect((await call(s, 'DELETE', '/api/session')).status).toBe(200);
    expect((await call(s, 'GET', '/api/sources')).status).toBe(401);
  });

  it('needs the CSRF header on state-changing requests made with the cookie', async () => {
    const s = await signIn('admin');
    expect((await call({ cookie: s.cookie }, 'POST', '/api/sources', { name: 'web' })).status).toBe(403);
    expect((await call({ cookie: s.cookie, csrf: 'wrong' }, 'POST', '/api/sources', { name: 'web' })).status).toBe(403);
    const ok = await call(s, 'POST', '/api/sources', { name: 'web' });
    expect(ok.status).toBe(201);
    expect(typeof ok.body['writeKey']).toBe('string');
  });

  it('lets viewers read but not change anything, see write keys, or list users', async () => {
    const v = await signIn('viewer');
    expect((await call(v, 'GET', '/api/sources')).status).toBe(200);
    expect((await call(v, 'POST', '/api/sources', { name: 'x' })).status).toBe(403);
    expect((await call(v, 'GET', '/api/users')).status).toBe(403);
    expect((await call(v, 'PUT', '/api/lenses/lifecycle', { yaml: 'lens: lifecycle' })).status).toBe(403);
    expect((await call(v, 'POST', '/api/lenses/validate', { yaml: 'lens: x' })).status).toBe(200);
    const e = await signIn('editor');
    expect((await call(e, 'POST', '/api/sources', { name: 'x' })).status).toBe(403);
    expect((await call(e, 'GET', '/api/users')).status).toBe(403);
    expect(roleAllows('editor', 'POST', '/api/tasks/t1/complete')).toBe(true);
    expect(roleAllows('viewer', 'POST', '/api/tasks/t1/complete')).toBe(false);
  });

  it('keeps admin tokens working (they act as admin) and rejects a bad cookie', async () => {
    const res = await fetch(`${url}/api/users`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    expect((await call({ cookie: 'rapport_session=forged' }, 'GET', '/api/sources')).status).toBe(401);
  });

  it('lets admins add, list and remove users (a generated password is returned once)', async () => {
    const a = await signIn('admin');
    const added = await call(a, 'POST', '/api/users', { email: 'new@example.com', role: 'viewer' });
    expect(added.status).toBe(201);
    const password = added.body['password'] as string;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const res = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new@example.com', password }) });
    expect(res.status).toBe(200);
    const list = (await call(a, 'GET', '/api/users')).body['users'] as Array<{ email: string }>;
    expect(list.map((u) => u.email)).toContain('new@example.com');
    expect((await call(a, 'POST', '/api/users', { email: 'bad', role: 'boss' })).status).toBe(400);
    expect((await call(a, 'DELETE', '/api/users/new@example.com')).status).toBe(200);
    expect((await call(a, 'DELETE', '/api/users/admin@example.com')).status).toBe(400);
  });

  it('validates lens YAML with line and column, previews a change, and saves it to <data>/lenses', async () => {
    const e = await signIn('editor');
    const yaml = readFileSync(join(BUILTIN_LENS_DIR, 'lifecycle.yaml'), 'utf8');
    const bad = await call(e, 'POST', '/api/lenses/validate', { yaml: yaml.replace('indicator: days_since_first_order', 'indicator: days_since_frist_order') });
    expect(bad.body['ok']).toBe(false);
    const errors = bad.body['errors'] as Array<{ line: number; column: number; message: string }>;
    expect(errors[0]!.line).toBeGreaterThan(1);
    expect(errors[0]!.message).toMatch(/days_since_frist_order/);
    expect((await call(e, 'POST', '/api/lenses/validate', { yaml })).body).toMatchObject({ ok: true, lens: 'lifecycle' });

    const preview = await call(e, 'POST', '/api/lenses/lifecycle/preview', { yaml });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ population: 2, sampled: 2, isSample: false, changed: 0 });
    const after = preview.body['after'] as Record<string, number>;
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(2);
    expect((await call(e, 'POST', '/api/lenses/lifecycle/preview', { yaml: 'lens: lifecycle\n' })).status).toBe(400);

    const changed = yaml.replace('title: Lifecycle guide posts', 'title: Our lifecycle');
    const saved = await call(e, 'PUT', '/api/lenses/lifecycle', { yaml: changed });
    expect(saved.status).toBe(202);
    expect(readFileSync(join(app.config.dataDir, 'lenses', 'lifecycle.yaml'), 'utf8')).toBe(changed);
    const file = await call(e, 'GET', '/api/lenses/lifecycle/yaml');
    expect(file.body).toMatchObject({ origin: 'user', yaml: changed });
    expect((await call(e, 'PUT', '/api/lenses/lifecycle', { yaml: 'lens: lifecycle\n' })).status).toBe(400);
  });

  it('filters customers by value and probability in bounded windows', async () => {
    const a = await signIn('admin');
    sqliteHandle(app).prepare(`INSERT INTO customer_types (customer_id, lens, type, probability, since) VALUES ('c1', 'lifecycle', 'new', 0.9, 0), ('c2', 'lifecycle', 'established', 0.4, 0)`).run();
    sqliteHandle(app).prepare(`UPDATE customers SET indicators = json_set(indicators, '$.clv_12m', 500) WHERE id = 'c2'`).run();
    const byP = await call(a, 'GET', '/api/dashboard/customers?lens=lifecycle&minProbability=0.5');
    expect((byP.body['customers'] as Array<{ id: string; probability: number }>).map((c) => [c.id, c.probability])).toEqual([['c1', 0.9]]);
    expect(byP.body['exhausted']).toBe(true);
    const byClv = await call(a, 'GET', '/api/dashboard/customers?minClv=100');
    expect((byClv.body['customers'] as Array<{ id: string; clv12m: number }>).map((c) => [c.id, c.clv12m])).toEqual([['c2', 500]]);
    const page1 = await call(a, 'GET', '/api/dashboard/customers?limit=1');
    expect(page1.body['nextCursor']).not.toBeNull();
    const page2 = await call(a, 'GET', `/api/dashboard/customers?limit=1&cursor=${String(page1.body['nextCursor'])}`);
    expect((page2.body['customers'] as Array<{ id: string }>)[0]!.id).toBe('c2');
    expect((await call(a, 'GET', '/api/dashboard/customers?minProbability=0.5')).status).toBe(400);
    expect((await call(a, 'GET', '/api/dashboard/customers?lens=nope&type=x')).status).toBe(404);
  });

  it('serves the built app with an SPA fallback and security headers, but not for unknown API paths', async () => {
    const root = await fetch(`${url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await root.text()).toContain('<div id="root">');
    const deep = await fetch(`${url}/customers/c1`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toMatch(/text\/html/);
    const asset = await fetch(`${url}/assets/app-123.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect((await fetch(`${url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${url}/../../etc/passwd`)).status).not.toBe(500);
    expect((await fetch(`${url}/api/nothing-here`, { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(404);
  });
});

describe('rapport users', () => {
  const run = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} };
    const code = await main(['node', 'rapport', ...args], io);
    process.exitCode = undefined;
    return { code, stdout, stderr };
  };

  it('adds a user with a generated password, lists and removes users; wrong usage exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-users-cli-'));
    try {
      const added = await run(['users', 'add', 'ana@example.com', '--role', 'editor', '--data', dir, '--json']);
      expect(added.code).toBe(0);
      const body = JSON.parse(added.stdout) as { user: { email: string; role: string; password: string } };
      expect(body.user).toMatchObject({ email: 'ana@example.com', role: 'editor' });
      expect(body.user.password.length).toBeGreaterThanOrEqual(16);
      const list = await run(['users', 'list', '--data', dir]);
      expect(list.stdout).toMatch(/ana@example\.com\s+editor/);
      expect((await run(['users', 'add', 'ana@example.com', '--role', 'viewer', '--data', dir])).code).toBe(1);
      expect((await run(['users', 'add', 'bob@example.com', '--role', 'boss', '--data', dir])).code).toBe(2);
      expect((await run(['users', 'remove', 'ana@example.com', '--data', dir])).code).toBe(0);
      expect((await run(['users', 'remove', 'ana@example.com', '--data', dir])).code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
