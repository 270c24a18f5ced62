import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PLAYBOOK_DIR } from '../../src/app/automation-extension';
import { maskSmtpUrl } from '../../src/http/settings-routes';
import { startDashboardServer, type DashboardServer } from './harness';

/** Playbook YAML editing and the settings (unit costs, channels) over HTTP, per role, on the full server. */
describe('dashboard API: playbook editing and settings', () => {
  let server: DashboardServer;
  type Role = 'admin' | 'editor' | 'viewer';
  const sessions = {} as Record<Role, { cookie: string; csrf: string }>;

  beforeAll(async () => {
    server = await startDashboardServer({ customers: 40, days: 60 });
    for (const role of ['admin', 'editor', 'viewer'] as const) {
      const u = server.users[role];
      const res = await fetch(`${server.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(u) });
      expect(res.status).toBe(200);
      sessions[role] = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const call = async (role: Role, method: string, path: string, body?: unknown) => {
    const s = sessions[role];
    const headers: Record<string, string> = { cookie: s.cookie, 'x-csrf-token': s.csrf };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const welcome = readFileSync(join(EXAMPLE_PLAYBOOK_DIR, 'lifecycle-welcome.yaml'), 'utf8');
  const userFile = () => join(server.dataDir, 'playbooks', 'lifecycle-welcome.yaml');

  it('reads a playbook YAML (any role) and validates with line and column (viewers too)', async () => {
    const got = await call('viewer', 'GET', '/api/playbooks/lifecycle-welcome/yaml');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: 'lifecycle-welcome', origin: 'example', yaml: welcome });
    expect((await call('viewer', 'GET', '/api/playbooks/nope/yaml')).status).toBe(404);

    expect((await call('viewer', 'POST', '/api/playbooks/validate', { yaml: welcome })).body).toEqual({ ok: true, id: 'lifecycle-welcome', errors: [] });
    const bad = await call('viewer', 'POST', '/api/playbooks/validate', { yaml: welcome.replace('holdout: 0.1', 'holdout: 3') });
    expect(bad.body['ok']).toBe(false);
    const line = welcome.split('\n').findIndex((l) => l.startsWith('holdout:')) + 1;
    expect(bad.body['errors']).toEqual([expect.objectContaining({ line, column: expect.any(Number), message: expect.stringMatching(/holdout/) })]);
    const syntax = await call('viewer', 'POST', '/api/playbooks/validate', { yaml: 'id: x\nsteps: [\n' });
    expect((syntax.body['errors'] as Array<{ line: number; message: string }>)[0]).toMatchObject({ line: expect.any(Number), message: expect.stringMatching(/YAML syntax/) });
    // A template that does not exist is an error pointing at its line.
    const noTemplate = await call('viewer', 'POST', '/api/playbooks/validate', { yaml: welcome.replace('template: welcome-nudge', 'template: no-such-template') });
    const tline = welcome.split('\n').findIndex((l) => l.includes('welcome-nudge')) + 1;
    expect(noTemplate.body['errors']).toEqual([expect.objectContaining({ line: tline, message: expect.stringMatching(/template 'no-such-template' not found/) })]);
  });

  it('lets editors save (overriding the example in the user folder) and refuses viewers', async () => {
    const edited = welcome.replace('name: Welcome new customers', 'name: Welcome new customers (edited)');
    expect((await call('viewer', 'PUT', '/api/playbooks/lifecycle-welcome', { yaml: edited })).status).toBe(403);
    const saved = await call('editor', 'PUT', '/api/playbooks/lifecycle-welcome', { yaml: edited });
    expect(saved.status).toBe(201);
    expect(readFileSync(userFile(), 'utf8')).toBe(edited);
    const list = await call('viewer', 'GET', '/api/playbooks');
    expect((list.body['playbooks'] as Array<{ id: string; name: string }>).find((p) => p.id === 'lifecycle-welcome')?.name).toBe('Welcome new customers (edited)');
    expect((await call('viewer', 'GET', '/api/playbooks/lifecycle-welcome/yaml')).body).toMatchObject({ origin: 'user', yaml: edited });
    // Saving again replaces (200).
    expect((await call('editor', 'PUT', '/api/playbooks/lifecycle-welcome', { yaml: edited })).status).toBe(200);
  });

  it('refuses an invalid playbook with line/column errors and keeps the last valid set and file', async () => {
    const before = readFileSync(userFile(), 'utf8');
    const bad = await call('editor', 'PUT', '/api/playbooks/lifecycle-welcome', { yaml: before.replace('holdout: 0.1', 'holdout: nope') });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_playbook', errors: [expect.objectContaining({ line: expect.any(Number), column: expect.any(Number) })] });
    expect(readFileSync(userFile(), 'utf8')).toBe(before);
    // The id in the file must match the id in the path.
    const wrongId = await call('editor', 'PUT', '/api/playbooks/other-id', { yaml: before });
    expect(wrongId.status).toBe(400);
    expect(JSON.stringify(wrongId.body)).toMatch(/make them equal/);
    expect(existsSync(join(server.dataDir, 'playbooks', 'other-id.yaml'))).toBe(false);
    // A broken file dropped into the folder by hand: the reload fails, the saved file is put back, the last valid set stays.
    const names = async () => ((await call('viewer', 'GET', '/api/playbooks')).body['playbooks'] as Array<{ id: string; name: string }>).map((p) => `${p.id}:${p.name}`);
    const set = await names();
    const broken = join(server.dataDir, 'playbooks', 'zz-broken.yaml');
    writeFileSync(broken, 'id: zz-broken\nholdout: [\n');
    const blocked = await call('editor', 'PUT', '/api/playbooks/lifecycle-welcome', { yaml: before.replace('(edited)', '(edited twice)') });
    expect(blocked.status).toBe(400);
    expect(JSON.stringify(blocked.body)).toMatch(/zz-broken\.yaml:\d+:\d+/);
    expect(readFileSync(userFile(), 'utf8')).toBe(before);
    expect(await names()).toEqual(set);
    rmSync(broken);
  });

  it('creates a new playbook that the registry runs', async () => {
    const yaml = [
      'id: vip-thanks',
      'name: Thank VIPs',
      'trigger:',
      '  entered: { lens: lifecycle, type: loyal }',
      'holdout: 0',
      'steps:',
      '  - id: thanks',
      '    send: { channel: email, template: reward-thanks }',
      '',
    ].join('\n');
    const r = await call('editor', 'PUT', '/api/playbooks/vip-thanks', { yaml });
    expect(r.status).toBe(201);
    expect((await call('viewer', 'GET', '/api/playbooks/vip-thanks')).body).toMatchObject({ playbook: { id: 'vip-thanks', name: 'Thank VIPs' } });
  });

  it('changes unit costs as admin only, validates them, and economics follows', async () => {
    const eco = async () => (await call('viewer', 'GET', '/api/lenses/lifecycle/economics')).body as { unitCosts: Record<string, number>; totals: { costToServe: number } };
    const before = await eco();
    expect(before.unitCosts['task']).toBe(15);
    expect((await call('viewer', 'GET', '/api/settings/costs')).body).toMatchObject({ costs: { task: 15 }, overrides: {} });
    expect((await call('viewer', 'PUT', '/api/settings/costs', { costs: { task: 30 } })).status).toBe(403);
    expect((await call('editor', 'PUT', '/api/settings/costs', { costs: { task: 30 } })).status).toBe(403);
    expect((await call('admin', 'PUT', '/api/settings/costs', { costs: { task: -1 } })).status).toBe(400);
    expect((await call('admin', 'PUT', '/api/settings/costs', { costs: { taks: 1 } })).status).toBe(400);
    const put = await call('admin', 'PUT', '/api/settings/costs', { costs: { support_contact: 600, email: 1 } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ costs: { support_contact: 600, email: 1, task: 15 }, overrides: { support_contact: 600, email: 1 } });
    const after = await eco();
    expect(after.unitCosts).toMatchObject({ support_contact: 600, email: 1 });
    expect(after.totals.costToServe).toBeGreaterThan(before.totals.costToServe);
    // null resets one cost to the configured value.
    expect((await call('admin', 'PUT', '/api/settings/costs', { costs: { support_contact: null } })).body).toMatchObject({ costs: { support_contact: 6, email: 1 }, overrides: { email: 1 } });
  });

  it('shows the channel configuration without secrets (editing: channel-settings-api.test.ts)', async () => {
    const r = await call('viewer', 'GET', '/api/settings/channels');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ email: { enabled: false, smtpUrl: null }, webhooks: { signed: true, secret: '****' }, editable: true, sources: { 'email.smtpUrl': 'default' } });
    expect(JSON.stringify(r.body)).not.toContain('e2e-secret');
    expect(maskSmtpUrl('smtps://mailer:hunter2@smtp.example.com:465')).toBe('smtps://mailer:****@smtp.example.com:465');
  });
});
