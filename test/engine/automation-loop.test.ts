import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config';
import { createApp, type App } from '../../src/app/create-app';
import { defaultExtensions, type DefaultExtensions } from '../../src/app/default-extensions';
import { ManualClock } from '../../src/ports/clock';
import { startSmtpSink } from '../automation/helpers';
import { tempDir } from '../helpers/sim-log';

const T0 = Date.UTC(2025, 5, 2, 12, 0, 0);

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: { dir: string; cleanup: () => void };
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let app: App;
let ext: DefaultExtensions;
let url: string;
let token: string;
let writeKey: string;
const clock = new ManualClock(T0);

const track = (body: Record<string, unknown>) =>
  fetch(`${url}/v1/${body['type'] === 'identify' ? 'identify' : 'track'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: JSON.stringify(body),
  });
const api = async (path: string) => (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;

beforeEach(async () => {
  dir = tempDir();
  smtp = await startSmtpSink();
  const port = await freePort();
  // The playbook: every customer who becomes lifecycle/new gets a welcome e-mail right away (no holdout,
  // so the test is deterministic), then a task when they click within 3 days.
  mkdirSync(join(dir.dir, 'playbooks'));
  writeFileSync(
    join(dir.dir, 'playbooks', 'welcome.yaml'),
    [
      'id: test-welcome',
      'name: Test welcome',
      'trigger:',
      '  entered: { lens: lifecycle, type: new }',
      'holdout: 0',
      'policy:',
      '  send_time: { strategy: immediate }',
      'steps:',
      '  - id: welcome',
      '    send: { channel: email, template: welcome-1 }',
      '  - id: clicked',
      '    branch: { on_event: Email Link Clicked, within: 3d, then: call }',
      '  - id: done',
      '    exit: no click',
      '  - id: call',
      '    task: { assign_to: onboarding, title: Call the new customer }',
    ].join('\n'),
  );
  const env = { RAPPORT_SMTP_URL: smtp.url, RAPPORT_SMTP_FROM: 'Shop <shop@example.com>', RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}`, RAPPORT_SIGNING_SECRET: 'test-secret-test-secret-123' };
  const config = loadConfig({ cwd: dir.dir, env: {}, overrides: { port, dataDir: dir.dir } });
  ext = defaultExtensions(config, { env });
  app = await createApp(config, { logger: pino({ level: 'silent' }), clock, extensions: ext.list });
  ({ writeKey } = await app.keyStore.createSource('test', T0));
  ({ secret: token } = await app.keyStore.createToken('test', T0));
  ({ url } = await app.start());
});
afterEach(async () => {
  await app.stop();
  await smtp.close();
  dir.cleanup();
});

describe('the feedback loop through the whole server', () => {
  it('a type change fires a playbook, the e-mail arrives, its click is tracked and changes the indicators', async () => {
    const at = new Date(T0 - 60_000).toISOString();
    expect((await track({ type: 'identify', userId: 'ada', traits: { email: 'ada@example.com', name: 'Ada', timezone: 'UTC' }, timestamp: at })).status).toBe(200);
    expect((await track({ userId: 'ada', event: 'Order Completed', properties: { order_id: 'o1', revenue: 30 }, timestamp: at })).status).toBe(200);

    const mail = await until('the welcome e-mail', async () => smtp.messages.find((m) => m.to.includes('ada@example.com')));
    expect(mail.headers['list-unsubscribe']).toMatch(/<http:\/\/127\.0\.0\.1:\d+\/u\/[^>]+>/);
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.text.length).toBeGreaterThan(20);
    expect(mail.html).toContain('<html');
    const link = /http:\/\/127\.0\.0\.1:\d+\/t\/c\/[A-Za-z0-9_.~%-]+/.exec(mail.text + mail.html)?.[0];
    expect(link).toBeTruthy();

    // The delivery is fed back as an event and counted.
    const delivered = await until('the delivery to be counted', async () => {
      const c = await api('/api/customers/ada');
      return c.indicators?.emails_delivered >= 1 ? c : null;
    });
    expect(delivered.types.lifecycle.type).toBe('new');
    expect(delivered.indicators.email_click_rate).toBe(0);

    // A real click on the tracked link: redirected to the target, recorded, and it changes the indicators.
    const click = await fetch(link!, { redirect: 'manual' });
    expect(click.status).toBe(302);
    const clicked = await until('the click to change the indicators', async () => {
      const c = await api('/api/customers/ada');
      return c.indicators?.email_click_rate > 0 ? c : null;
    });
    expect(clicked.recentEvents.map((e: { event: string }) => e.event)).toEqual(expect.arrayContaining(['Email Delivered', 'Email Link Clicked']));
    // The click made the branch go to the task.
    const tasks = await until('the follow-up task', async () => {
      const t = await api('/api/tasks');
      return (t.tasks ?? t).length > 0 ? (t.tasks ?? t) : null;
    });
    expect(tasks[0]).toMatchObject({ title: 'Call the new customer' });
  });
});
