import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpChannel } from '../../src/adapters/smtp/smtp-channel';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { createWebhookChannel } from '../../src/adapters/webhook/webhook-channel';
import { createAutomation, type Automation } from '../../src/automation/automation';
import { createInMemoryCustomerDirectory } from '../../src/automation/in-memory-customer-directory';
import { staticPlaybookRegistry } from '../../src/automation/playbook-registry';
import { createInAppChannel, createTaskChannel } from '../../src/automation/store-channels';
import { verifyWebhookSignature } from '../../src/automation/tokens';
import type { EmittedMessage } from '../../src/automation/types';
import { parsePlaybookYaml } from '../../src/domain/playbook-parse';
import { ManualClock } from '../../src/ports/clock';
import type { AutomationStore } from '../../src/ports/automation-store';
import { canonicalise, emptyMapping } from '../../src/indicators/event-mapping';
import { applyEvent, createIndicatorState, readIndicators } from '../../src/indicators/indicator-state';
import type { StoredEvent } from '../../src/domain/event';
import { customer, startSmtpSink, startWebhookReceiver } from './helpers';

const FIX = join(import.meta.dirname, 'fixtures');
const SECRET = 'test-secret-0123456789abcdef';
const T0 = Date.parse('2026-03-02T12:00:00Z');

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function toStored(m: EmittedMessage, seq: number): StoredEvent {
  const ts = Date.parse(m.timestamp);
  return {
    seq,
    messageId: m.messageId,
    type: 'track',
    userId: m.userId,
    anonymousId: null,
    event: m.event,
    name: null,
    groupId: null,
    previousId: null,
    properties: m.properties,
    traits: {},
    context: m.context,
    integrations: {},
    timestamp: ts,
    receivedAt: ts,
    sentAt: null,
    sourceId: 'automation',
  };
}

describe('automation end to end: type change -> email over SMTP, webhook, click, task', () => {
  let dir: string;
  let db: SqliteDatabase;
  let store: AutomationStore;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let app: FastifyInstance;
  let automation: Automation;
  let base: string;
  const emitted: EmittedMessage[] = [];
  const clock = new ManualClock(T0);
  const customers = createInMemoryCustomerDirectory([
    customer('c1', { traits: { first_name: 'Ada', account_manager: 'maria' }, types: { lifecycle: 'established' } }, { tone: 'warm' }),
    customer('c2', { traits: { first_name: 'Bob' }, types: { lifecycle: 'established' } }, { tone: 'warm' }),
  ]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rapport-auto-e2e-'));
    db = openSqliteDatabase(join(dir, 'rapport.db'));
    store = createSqliteAutomationStore(db);
    smtp = await startSmtpSink();
    hook = await startWebhookReceiver();
    const text = readFileSync(join(FIX, 'playbooks', 'e2e-rescue.yaml'), 'utf8').replace('WEBHOOK_URL', `${hook.url}/hooks/rescue`);
    const parsed = parsePlaybookYaml(text, 'e2e-rescue.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = Fastify();
    automation = createAutomation({
      clock,
      store,
      customers,
      channels: {
        email: createSmtpChannel({ url: smtp.url, from: 'Shop <news@shop.example.com>' }),
        webhook: createWebhookChannel({ secret: SECRET, now: () => clock.now() }),
        task: createTaskChannel(store),
        in_app: createInAppChannel(store),
      },
      emit: async (m) => {
        emitted.push(...m);
      },
      playbooks: staticPlaybookRegistry([parsed.playbook]),
      config: { publicUrl: base, signingSecret: SECRET, templateDirs: [join(FIX, 'templates')], retryBaseMs: 1000 },
    });
    await automation.routes(app);
    await app.listen({ port, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await automation.stop();
    await app.close();
    await smtp.close();
    await hook.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the right variant with unsubscribe headers, records the click, and creates the follow-up task', async () => {
    customers.update('c1', { types: { lifecycle: 'at_risk' } });
    await automation.handle({ kind: 'type_changed', customerId: 'c1', lens: 'lifecycle', from: 'established', to: 'at_risk', at: T0, eventSeq: 42 });
    expect(await automation.dispatchDue()).toBeGreaterThan(0);

    const enrolment = await store.getEnrolment('e2e-rescue:c1:42');
    expect(enrolment?.variant).toMatch(/^[AB]$/);
    const variant = enrolment?.variant as string;

    // The email arrived with the variant's template in the type's tone, HTML + text and RFC 8058 headers.
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.to).toEqual(['c1@example.test']);
    expect(mail.headers.subject).toContain(`${variant}: `);
    expect(mail.text).toContain(`variant ${variant} (warm)`);
    expect(mail.html).toContain(`variant ${variant} (warm)`);
    expect(mail.headers['x-rapport-variant']).toBe(variant);
    expect(mail.headers['x-rapport-idempotency-key']).toBe('e2e-rescue:mail:c1:42');
    expect(mail.headers['list-unsubscribe']).toMatch(new RegExp(`^<${base}/u/[^>]+>$`));
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.headers['message-id']).toMatch(/^<[0-9a-f]{40}@shop\.example\.com>$/);
    expect(mail.html).toContain(`${base}/t/o/`);

    // The webhook arrived signed, with the idempotency key.
    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.headers['idempotency-key']).toBe('e2e-rescue:notify:c1:42');
    expect(verifyWebhookSignature(SECRET, String(req.headers['x-rapport-signature']), req.body, Math.floor(clock.now() / 1000))).toBe(true);
    expect(JSON.parse(req.body)).toMatchObject({ reason: 'at_risk', customer_id: 'c1', variant, playbook_id: 'e2e-rescue' });

    // Delivery feedback was emitted.
    const delivered = emitted.find((m) => m.event === 'Email Delivered');
    expect(delivered?.properties).toMatchObject({ campaign_id: 'e2e-rescue', email_id: 'e2e-rescue:mail:c1:42', variant, promotional: false });

    // Click the tracked link over real HTTP: redirect to the target and a click event.
    const link = /(http:\/\/127\.0\.0\.1:\d+\/t\/c\/[A-Za-z0-9_.-]+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    const res = await fetch(link!, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`https://shop.example.com/${variant.toLowerCase()}?x=1&y=2`);
    const click = emitted.find((m) => m.event === 'Email Link Clicked');
    expect(click).toMatchObject({ type: 'track', userId: 'user-c1' });
    expect(click?.properties).toMatchObject({ campaign_id: 'e2e-rescue', email_id: 'e2e-rescue:mail:c1:42', variant, link_url: `https://shop.example.com/${variant.toLowerCase()}?x=1&y=2` });

    // The open pixel is a GIF and emits Email Opened.
    const pixel = /src="(http:\/\/127\.0\.0\.1:\d+\/t\/o\/[^"]+)"/.exec(mail.html)?.[1];
    const pr = await fetch(pixel!);
    expect(pr.headers.get('content-type')).toBe('image/gif');
    expect(emitted.some((m) => m.event === 'Email Opened')).toBe(true);

    // A forged click token is refused (no open redirect).
    const forged = await fetch(link!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), { redirect: 'manual' });
    expect(forged.status).toBe(404);

    // The communication indicators change when these events are applied (what the lead's emit -> log wiring does).
    const state = createIndicatorState();
    const mapping = emptyMapping();
    const before = readIndicators(state).email_click_rate ?? 0;
    let seq = 1;
    for (const m of emitted) {
      const ev = canonicalise(toStored(m, seq++), mapping);
      if (ev) applyEvent(state, ev);
    }
    const after = readIndicators(state);
    expect(after.emails_delivered).toBe(1);
    expect(after.email_click_rate ?? 0).toBeGreaterThan(before);

    // The processor feeds the click back as a signal: the event branch takes "then" and creates the task.
    clock.advance(60_000);
    await automation.handle({ kind: 'event', customerId: 'c1', event: 'Email Link Clicked', properties: click!.properties, at: clock.now(), eventSeq: 43 });
    await automation.dispatchDue();
    const tasks = (await (await app.inject({ method: 'GET', url: '/api/tasks?status=open' })).json()) as { tasks: { id: string; assignee: string }[] };
    expect(tasks.tasks).toHaveLength(1);
    expect(tasks.tasks[0]?.assignee).toBe('maria');
    const assigned = await app.inject({ method: 'POST', url: `/api/tasks/${encodeURIComponent(tasks.tasks[0]!.id)}/assign`, payload: { assignee: 'jon' } });
    expect(assigned.json()).toMatchObject({ task: { assignee: 'jon' } });
    const done = await app.inject({ method: 'POST', url: `/api/tasks/${encodeURIComponent(tasks.tasks[0]!.id)}/complete`, payload: { outcome: 'called' } });
    expect(done.statusCode).toBe(200);
    expect(emitted.find((m) => m.event === 'Task Completed')?.properties).toMatchObject({ outcome: 'called', campaign_id: 'e2e-rescue' });
    expect((await store.getEnrolment('e2e-rescue:c1:42'))?.status).toBe('done');

    // Conversion: an order within the goal window counts, with revenue, in the effectiveness report.
    await automation.handle({ kind: 'event', customerId: 'c1', event: 'Order Completed', properties: { revenue: 80 }, at: clock.now(), eventSeq: 44 });
    const eff = (await (await fetch(`${base}/api/playbooks/e2e-rescue/effectiveness`)).json()) as { rows: { variant: string; type: string; conversions: number; revenue: number }[] };
    expect(eff.rows.find((r) => r.type === 'at_risk' && r.variant === variant)).toMatchObject({ conversions: 1, revenue: 80 });
  });

  it('one-click unsubscribe (RFC 8058 POST) suppresses marketing email and is recorded', async () => {
    customers.update('c2', { types: { lifecycle: 'at_risk' } });
    const pre = smtp.messages.length;
    // A first message to c2, then unsubscribe through its header link.
    await automation.handle({ kind: 'type_changed', customerId: 'c2', lens: 'lifecycle', from: 'established', to: 'at_risk', at: clock.now(), eventSeq: 50 });
    await automation.dispatchDue();
    expect(smtp.messages.length).toBe(pre + 1);
    const unsub = /^<(.+)>$/.exec(smtp.messages[pre]!.headers['list-unsubscribe']!)?.[1];
    const page = await fetch(unsub!);
    expect(await page.text()).toContain('Your preferences');
    const r = await fetch(unsub!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(r.status).toBe(200);
    const sups = await store.listSuppressions('c2');
    expect(sups).toMatchObject([{ channel: 'email', reason: 'unsubscribed', source: 'one_click' }]);
    expect(emitted.find((m) => m.event === 'Unsubscribed' && m.userId === 'user-c2')?.properties).toMatchObject({ campaign_id: 'e2e-rescue', channel: 'email' });
    expect((await store.getEnrolment('e2e-rescue:c2:50'))?.unsubscribed).toBe(true);

    // Re-entering later: the marketing send is dropped with the reason, nothing arrives.
    customers.update('c2', { types: { lifecycle: 'established' } });
    clock.advance(86_400_000);
    await automation.handle({ kind: 'type_changed', customerId: 'c2', lens: 'lifecycle', from: 'established', to: 'at_risk', at: clock.now(), eventSeq: 60 });
    await automation.dispatchDue();
    expect(smtp.messages.length).toBe(pre + 1);
    expect(await store.getAction('e2e-rescue:mail:c2:60')).toMatchObject({ status: 'dropped', reason: 'suppressed_unsubscribed' });
  });
});
