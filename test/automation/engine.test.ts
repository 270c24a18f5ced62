import Fastify from 'fastify';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpChannel } from '../../src/adapters/smtp/smtp-channel';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { createWebhookChannel } from '../../src/adapters/webhook/webhook-channel';
import { createAutomation, type Automation } from '../../src/automation/automation';
import { createInMemoryCustomerDirectory, type InMemoryCustomerDirectory } from '../../src/automation/in-memory-customer-directory';
import { createSwitchableEmailChannel } from '../../src/automation/channels';
import { staticPlaybookRegistry } from '../../src/automation/playbook-registry';
import { createInAppChannel, createTaskChannel } from '../../src/automation/store-channels';
import type { AutomationConfigInput } from '../../src/automation/config';
import type { CustomerView, EmittedMessage } from '../../src/automation/types';
import type { Channel } from '../../src/domain/contact-policy';
import { playbookSchema, type Playbook } from '../../src/domain/playbook';
import type { AutomationStore } from '../../src/ports/automation-store';
import type { ChannelAdapter, OutboundMessage } from '../../src/ports/channel';
import { ManualClock } from '../../src/ports/clock';
import { customer, startSmtpSink, startWebhookReceiver } from './helpers';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T12:00:00Z'); // Monday noon UTC
const TEMPLATES = [join(import.meta.dirname, 'fixtures', 'templates')];

function pb(p: Record<string, unknown>): Playbook {
  return playbookSchema.parse({ name: String(p.id), holdout: 0, reenter: 'always', policy: { send_time: { strategy: 'immediate' } }, ...p });
}

interface Harness {
  automation: Automation;
  store: AutomationStore;
  clock: ManualClock;
  customers: InMemoryCustomerDirectory;
  sent: OutboundMessage[];
  emitted: EmittedMessage[];
  db: SqliteDatabase;
}

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.automation.stop();
    h.db.close();
  }
});

function recording(channel: Channel, sent: OutboundMessage[]): ChannelAdapter {
  return {
    channel,
    idempotent: true,
    async send(m) {
      sent.push(m);
      return { ok: true };
    },
  };
}

function harness(playbooks: Playbook[], views: CustomerView[], opts: { channels?: Partial<Record<Channel, ChannelAdapter>>; config?: Partial<AutomationConfigInput> } = {}): Harness {
  const db = openSqliteDatabase(':memory:');
  const store = createSqliteAutomationStore(db);
  const clock = new ManualClock(T0);
  const customers = createInMemoryCustomerDirectory(views);
  const sent: OutboundMessage[] = [];
  const emitted: EmittedMessage[] = [];
  const automation = createAutomation({
    clock,
    store,
    customers,
    channels: { email: recording('email', sent), in_app: createInAppChannel(store), task: createTaskChannel(store), ...opts.channels },
    emit: async (m) => {
      emitted.push(...m);
    },
    playbooks: staticPlaybookRegistry(playbooks),
    config: { publicUrl: 'http://127.0.0.1:1', signingSecret: 'engine-test-secret-0123', templateDirs: TEMPLATES, retryBaseMs: 1000, ...opts.config },
  });
  const h = { automation, store, clock, customers, sent, emitted, db };
  open.push(h);
  return h;
}

const mail = (id = 'm', extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, send: { channel: 'email', template: 'plain', ...extra } });
const entered = (type: string, lens = 'lifecycle'): Record<string, unknown> => ({ entered: { lens, type } });
const changed = (customerId: string, to: string, eventSeq: number, at = T0, from: string | null = 'established', lens = 'lifecycle') =>
  ({ kind: 'type_changed', customerId, lens, from, to, at, eventSeq }) as const;

describe('triggers and enrolment', () => {
  it('entered / left / transition / indicator crossing / event triggers, each enrolling once per trigger', async () => {
    const h = harness(
      [
        pb({ id: 'ent', trigger: entered('at_risk'), steps: [mail()] }),
        pb({ id: 'left', trigger: { left: { lens: 'lifecycle', type: 'established' } }, steps: [mail()] }),
        pb({ id: 'tr', trigger: { transition: { lens: 'swinscoe', from: 'boyfriend_girlfriend', to: 'engaged' } }, steps: [mail()] }),
        pb({ id: 'cross', trigger: { indicator: { name: 'p_alive', crosses: 'below', threshold: 0.5 } }, steps: [mail()] }),
        pb({ id: 'ev', trigger: { event: { name: 'Complaint Filed', where: { severity: 'high' } } }, steps: [mail()] }),
      ],
      [customer('c1', {}, { caps: {} })],
    );
    const a = h.automation;
    expect(await a.handleMany([changed('c1', 'at_risk', 1), changed('c1', 'at_risk', 1)])).toBe(2); // ent + left, once
    expect(await a.handleMany([changed('c1', 'engaged', 2, T0, 'dating', 'swinscoe')])).toBe(0);
    expect(await a.handleMany([changed('c1', 'engaged', 3, T0, 'boyfriend_girlfriend', 'swinscoe')])).toBe(1);
    const ind = (previous: number, value: number, eventSeq: number) => ({ kind: 'indicator_changed' as const, customerId: 'c1', indicator: 'p_alive', previous, value, at: T0, eventSeq });
    expect(await a.handleMany([ind(0.4, 0.3, 4)])).toBe(0);
    expect(await a.handleMany([ind(0.6, 0.4, 5)])).toBe(1);
    const ev = (severity: string, eventSeq: number) => ({ kind: 'event' as const, customerId: 'c1', event: 'Complaint Filed', properties: { severity }, at: T0, eventSeq });
    expect(await a.handleMany([ev('low', 6), ev('high', 7)])).toBe(1);
    expect(await a.dispatchDue()).toBe(5);
    expect(h.sent.map((m) => m.playbookId).sort()).toEqual(['cross', 'ent', 'ev', 'left', 'tr']);
  });

  it('conditions, re-entry rules and the holdout share', async () => {
    const views = Array.from({ length: 400 }, (_, i) => customer(`c${i}`, { indicators: { clv_12m: i } }));
    const h = harness(
      [pb({ id: 'h', trigger: entered('at_risk'), holdout: 0.25, reenter: 'once', conditions: { indicator: 'clv_12m', gte: 100 }, steps: [mail()] })],
      views,
    );
    const n = await h.automation.handleMany(views.map((v, i) => changed(v.customerId, 'at_risk', i + 1)));
    expect(n).toBe(300);
    expect(await h.automation.handleMany([changed('c200', 'at_risk', 9999)])).toBe(0); // once
    const rows = await h.store.outcomes('h');
    const hold = rows.filter((r) => r.holdout).reduce((s, r) => s + r.n, 0);
    expect(hold / 300).toBeGreaterThan(0.18);
    expect(hold / 300).toBeLessThan(0.32);
    await h.automation.dispatchDue();
    expect(h.sent).toHaveLength(300 - hold);
  });

  it('a playbook disabled at runtime enrols nobody new; enabling it again resumes (admin API)', async () => {
    const h = harness([pb({ id: 'onoff', trigger: entered('at_risk'), steps: [mail()] })], [customer('c1'), customer('c2')]);
    const app = Fastify();
    await h.automation.routes(app);
    expect((await app.inject({ method: 'POST', url: '/api/playbooks/onoff/disable' })).json()).toEqual({ id: 'onoff', enabled: false });
    expect(await h.automation.handle(changed('c1', 'at_risk', 1)).then(() => h.store.getEnrolment('onoff:c1:1'))).toBeNull();
    expect((await app.inject({ method: 'GET', url: '/api/playbooks' })).json()).toMatchObject({ playbooks: [{ id: 'onoff', enabled: false }] });
    await app.inject({ method: 'POST', url: '/api/playbooks/onoff/enable' });
    await h.automation.handle(changed('c2', 'at_risk', 2));
    expect(await h.store.getEnrolment('onoff:c2:2')).not.toBeNull();
    expect((await app.inject({ method: 'POST', url: '/api/playbooks/nope/enable' })).statusCode).toBe(404);
    await app.close();
  });

  it('schedule triggers enrol the type once per period', async () => {
    const h = harness(
      [pb({ id: 'monthly', trigger: { schedule: { every: 'monthly', lens: 'fournier', type: 'committed_partnership' } }, steps: [mail()] })],
      [customer('p1', { types: { fournier: 'committed_partnership' } }), customer('p2', { types: { fournier: 'fling' } })],
    );
    expect(await h.automation.tickSchedules()).toBe(1);
    expect(await h.automation.tickSchedules(T0 + DAY)).toBe(0);
    expect(await h.automation.tickSchedules(Date.parse('2026-04-01T00:00:00Z'))).toBe(1);
  });
});

describe('contact policy, consent and suppression at send time', () => {
  it('defers a send in quiet hours to their end in the customer time zone', async () => {
    const h = harness([pb({ id: 'q', trigger: entered('at_risk'), steps: [mail()] })], [customer('tok', { timezone: 'Asia/Tokyo' }, { quiet_hours: { start: '21:00', end: '08:00' } })]);
    h.clock.set(Date.parse('2026-03-02T14:00:00Z')); // 23:00 in Tokyo
    await h.automation.handle(changed('tok', 'at_risk', 1, h.clock.now()));
    await h.automation.dispatchDue();
    expect(h.sent).toHaveLength(0);
    // Scheduled straight to the end of the quiet hours (08:00 in Tokyo).
    expect(await h.store.getAction('q:m:tok:1')).toMatchObject({ status: 'pending', due: Date.parse('2026-03-02T23:00:00Z') });
    h.clock.set(Date.parse('2026-03-02T23:00:00Z'));
    await h.automation.dispatchDue();
    expect(h.sent).toHaveLength(1);
  });

  it('caps: drop or defer as the playbook says, with the reason recorded; transactional is exempt', async () => {
    const cap = { caps: { email: { max: 1, per: 30 * DAY } } };
    const h = harness(
      [
        pb({ id: 'drop', trigger: entered('at_risk'), on_blocked: 'drop', steps: [mail('a'), mail('b'), mail('t', { transactional: true })] }),
        pb({ id: 'defer', trigger: entered('lapsed'), max_defer: '40d', steps: [mail('a')] }),
      ],
      [customer('c1', {}, cap)],
    );
    await h.automation.handle(changed('c1', 'at_risk', 1));
    await h.automation.dispatchDue();
    expect(h.sent.map((m) => m.stepId)).toEqual(['a', 't']);
    expect(await h.store.getAction('drop:b:c1:1')).toMatchObject({ status: 'dropped', reason: 'cap_email' });
    await h.automation.handle(changed('c1', 'lapsed', 2));
    await h.automation.dispatchDue();
    expect(await h.store.getAction('defer:a:c1:2')).toMatchObject({ status: 'pending', reason: 'cap_email', due: T0 + 30 * DAY + 1 });
    h.clock.set(T0 + 30 * DAY + 1);
    await h.automation.dispatchDue();
    expect(h.sent.map((m) => m.playbookId)).toEqual(['drop', 'drop', 'defer']);
  });

  it('consent: required opt-in, unsubscribe blocks marketing only, hard bounce blocks everything', async () => {
    const h = harness(
      [pb({ id: 'c', trigger: { event: { name: 'Ping' } }, steps: [mail('mk'), mail('tx', { transactional: true })] })],
      [customer('a'), customer('b'), customer('d', { traits: { consent_email: true } })],
      { config: { consentRequired: ['email'] } },
    );
    const ping = (id: string, seq: number) => ({ kind: 'event' as const, customerId: id, event: 'Ping', properties: {}, at: h.clock.now(), eventSeq: seq });
    await h.automation.handleMany([ping('a', 1), ping('d', 2)]);
    await h.automation.dispatchDue();
    expect(await h.store.getAction('c:mk:a:1')).toMatchObject({ status: 'dropped', reason: 'no_consent' });
    expect(h.sent.map((m) => `${m.customerId}/${m.stepId}`).sort()).toEqual(['a/tx', 'd/mk', 'd/tx']);
    // Opt in by event, then unsubscribe: marketing blocked, transactional still goes.
    await h.automation.handle({ kind: 'event', customerId: 'b', event: 'Subscribed', properties: { channel: 'email' }, at: h.clock.now(), eventSeq: 3 });
    await h.automation.handle({ kind: 'event', customerId: 'b', event: 'Unsubscribed', properties: {}, at: h.clock.now(), eventSeq: 4 });
    await h.automation.handle(ping('b', 5));
    await h.automation.dispatchDue();
    expect(await h.store.getAction('c:mk:b:5')).toMatchObject({ status: 'dropped', reason: 'suppressed_unsubscribed' });
    expect(h.sent.filter((m) => m.customerId === 'b').map((m) => m.stepId)).toEqual(['tx']);
    // Hard bounce: nothing at all.
    await h.automation.handle({ kind: 'event', customerId: 'd', event: 'Email Bounced', properties: { bounce_type: 'hard' }, at: h.clock.now(), eventSeq: 6 });
    await h.automation.handle(ping('d', 7));
    await h.automation.dispatchDue();
    expect(await h.store.getAction('c:tx:d:7')).toMatchObject({ status: 'dropped', reason: 'suppressed_hard_bounce' });
    expect((await h.store.listSuppressions()).map((s) => `${s.customerId}:${s.reason}`).sort()).toEqual(['b:unsubscribed', 'd:hard_bounce']);
  });

  it('exit_when leaves the playbook before the next step', async () => {
    const h = harness([pb({ id: 'x', trigger: entered('new'), exit_when: { lens: 'lifecycle', not_in: ['new'] }, steps: [{ id: 'w', wait: '2d' }, mail()] })], [customer('c1', { types: { lifecycle: 'new' } })]);
    await h.automation.handle(changed('c1', 'new', 1));
    await h.automation.dispatchDue();
    h.customers.update('c1', { types: { lifecycle: 'established' } });
    h.clock.advance(3 * DAY);
    await h.automation.dispatchDue();
    expect(h.sent).toHaveLength(0);
    expect(await h.store.getAction('x:m:c1:1')).toMatchObject({ status: 'cancelled', reason: 'exit_when' });
    expect((await h.store.getEnrolment('x:c1:1'))?.status).toBe('exited');
  });
});

describe('channels: retries, dead letters, bounces, inbox', () => {
  it('retries a failing webhook with exponential backoff, then dead-letters it', async () => {
    const hook = await startWebhookReceiver({ status: (n) => (n <= 2 ? 503 : 200) });
    const bad = await startWebhookReceiver({ status: () => 500 });
    try {
      const h = harness(
        [
          pb({ id: 'ok', trigger: entered('at_risk'), steps: [{ id: 'h', webhook: { url: `${hook.url}/x` } }] }),
          pb({ id: 'bad', trigger: entered('at_risk'), steps: [{ id: 'h', webhook: { url: `${bad.url}/x` } }, mail()] }),
        ],
        [customer('c1')],
        { channels: { webhook: createWebhookChannel({ secret: 'engine-test-secret-0123' }) }, config: { maxAttempts: 3 } },
      );
      await h.automation.handle(changed('c1', 'at_risk', 1));
      for (const dt of [0, 1000, 2000, 4000]) {
        h.clock.advance(dt);
        await h.automation.dispatchDue();
      }
      expect(hook.requests).toHaveLength(3);
      expect(new Set(hook.requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set(['ok:h:c1:1']));
      expect(await h.store.getAction('ok:h:c1:1')).toMatchObject({ status: 'done', attempts: 3 });
      expect(bad.requests).toHaveLength(3);
      expect(await h.store.getAction('bad:h:c1:1')).toMatchObject({ status: 'failed', reason: 'webhook HTTP 500' });
      expect((await h.store.listDeadLetters(10))[0]).toMatchObject({ actionId: 'bad:h:c1:1', channel: 'webhook', attempts: 3 });
      // The flow goes on after a dead letter.
      expect(h.sent.map((m) => m.playbookId)).toEqual(['bad']);
    } finally {
      await hook.close();
      await bad.close();
    }
  });

  it('e-mail with no SMTP configured fails the action without a dead letter, and the flow goes on', async () => {
    const settings = { current: async () => ({ email: { smtpUrl: null, from: 'T <t@t.test>', maxConnections: 1, ratePerSecond: 10 }, webhooks: { timeoutMs: 1000, secret: 's' } }) };
    const sent: OutboundMessage[] = [];
    const h = harness([pb({ id: 'n', trigger: entered('at_risk'), steps: [mail(), { id: 'after', send: { channel: 'in_app', template: 'plain' } }] })], [customer('c1')], {
      channels: { email: createSwitchableEmailChannel({ settings }), in_app: recording('in_app', sent) },
    });
    await h.automation.handle(changed('c1', 'at_risk', 1));
    await h.automation.dispatchDue();
    await h.automation.dispatchDue();
    expect(await h.store.getAction('n:m:c1:1')).toMatchObject({ status: 'failed', reason: expect.stringContaining('no email channel configured') });
    expect(await h.store.listDeadLetters(10)).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  it('an SMTP 550 is a hard bounce: suppressed, Email Bounced emitted, dead-lettered', async () => {
    const smtp = await startSmtpSink({ reject: (rcpt) => rcpt.startsWith('gone') });
    try {
      const email = createSmtpChannel({ url: smtp.url, from: 'T <t@t.test>' });
      const h = harness([pb({ id: 'b', trigger: entered('at_risk'), steps: [mail()] })], [customer('gone'), customer('here')], { channels: { email } });
      await h.automation.handleMany([changed('gone', 'at_risk', 1), changed('here', 'at_risk', 2)]);
      await h.automation.dispatchDue();
      expect(smtp.messages.map((m) => m.to[0])).toEqual(['here@example.test']);
      expect(await h.store.listSuppressions('gone')).toMatchObject([{ reason: 'hard_bounce', address: 'gone@example.test', source: 'smtp' }]);
      expect(h.emitted.find((m) => m.event === 'Email Bounced')?.properties).toMatchObject({ bounce_type: 'hard', campaign_id: 'b' });
      expect(h.emitted.filter((m) => m.event === 'Email Delivered')).toHaveLength(1);
      expect(await h.store.getAction('b:m:gone:1')).toMatchObject({ status: 'failed' });
      // Close the pooled connections first; the sink waits for open clients when closing.
      await email.close?.();
    } finally {
      await smtp.close();
    }
  });

  it('in-app messages are pulled from /v1/inbox/:userId with a write key', async () => {
    const h = harness([pb({ id: 'ia', trigger: entered('at_risk'), steps: [{ id: 'm', send: { channel: 'in_app', template: 'plain' } }] })], [customer('c1')], {
      config: { verifyWriteKey: async (k) => k === 'wk_good' },
    });
    await h.automation.handle(changed('c1', 'at_risk', 1));
    await h.automation.dispatchDue();
    const app = Fastify();
    await h.automation.routes(app);
    const none = await app.inject({ method: 'GET', url: '/v1/inbox/user-c1' });
    expect(none.statusCode).toBe(401);
    const auth = `Basic ${Buffer.from('wk_good:').toString('base64')}`;
    const ok = await app.inject({ method: 'GET', url: '/v1/inbox/user-c1', headers: { authorization: auth } });
    expect(ok.statusCode).toBe(200);
    const body = ok.json() as { messages: { id: string; title: string; read: boolean }[] };
    expect(body.messages).toMatchObject([{ id: 'ia:m:c1:1', title: 'Plain message for c1', read: false }]);
    const read = await app.inject({ method: 'POST', url: '/v1/inbox/user-c1/read', headers: { authorization: auth }, payload: { ids: ['ia:m:c1:1'] } });
    expect(read.json()).toEqual({ marked: 1 });
    await app.close();
  });
});

describe('A/B split, effectiveness and dry run', () => {
  it('Thompson sampling picks per type once enough data exists, deterministically', async () => {
    const split = { id: 'ab', split: { variants: [{ name: 'A' }, { name: 'B' }], strategy: 'thompson', min_samples: 20, seed: 3 } };
    const views = Array.from({ length: 120 }, (_, i) => customer(`c${i}`));
    const h = harness([pb({ id: 't', trigger: entered('at_risk'), steps: [split, mail('m', { template: { A: 'rescue-a', B: 'rescue-b' } })] })], views);
    await h.automation.handleMany(views.slice(0, 60).map((v, i) => changed(v.customerId, 'at_risk', i + 1)));
    await h.automation.dispatchDue();
    // B converts, A does not.
    for (const [i, v] of views.slice(0, 60).entries()) {
      const e = await h.store.getEnrolment(`t:${v.customerId}:${i + 1}`);
      if (e?.variant === 'B') await h.automation.handle({ kind: 'event', customerId: v.customerId, event: 'Order Completed', properties: { revenue: 10 }, at: T0 + DAY, eventSeq: 1000 + i });
    }
    await h.automation.handleMany(views.slice(60).map((v, i) => changed(v.customerId, 'at_risk', 61 + i)));
    await h.automation.dispatchDue();
    const later = await Promise.all(views.slice(60).map((v, i) => h.store.getEnrolment(`t:${v.customerId}:${61 + i}`)));
    expect(later.filter((e) => e?.variant === 'B').length).toBeGreaterThan(55);
    const eff = await h.automation.effectiveness('t');
    expect(eff.rows.find((r) => r.variant === 'B' && r.type === 'established')?.conversions).toBeGreaterThan(0);
  });

  it('reports uplift against the holdout with a 95 % interval', async () => {
    const views = Array.from({ length: 1000 }, (_, i) => customer(`c${i}`));
    const h = harness([pb({ id: 'u', trigger: entered('at_risk'), holdout: 0.3, steps: [mail()] })], views);
    await h.automation.handleMany(views.map((v, i) => changed(v.customerId, 'at_risk', i + 1)));
    await h.automation.dispatchDue();
    // Treated convert at 30 %, holdout at 10 %.
    for (const [i, v] of views.entries()) {
      const e = await h.store.getEnrolment(`u:${v.customerId}:${i + 1}`);
      const rate = e?.holdout ? 0.1 : 0.3;
      if ((i * 7919) % 1000 < rate * 1000) await h.automation.handle({ kind: 'event', customerId: v.customerId, event: 'Order Completed', properties: { total: 50 }, at: T0 + DAY, eventSeq: 5000 + i });
    }
    const eff = await h.automation.effectiveness('u');
    const all = eff.rows.find((r) => r.type === '*')!;
    expect(all.uplift!).toBeGreaterThan(0.12);
    expect(all.upliftCi!.low).toBeGreaterThan(0);
    expect(all.upliftCi!.high).toBeLessThan(0.3);
    expect(all.revenueUplift!).toBeGreaterThan(5);
    expect(all.reach).toBe(all.enrolled);
  });

  it('dry run: who would get what and when, including what caps and consent block, without side effects', async () => {
    const h = harness(
      [pb({ id: 'd', trigger: entered('at_risk'), holdout: 0, on_blocked: 'drop', steps: [mail('one'), { id: 'w', wait: '1d' }, mail('two'), { id: 'task', task: { assign_to: 'care', title: 'Call' } }] })],
      [
        customer('a', { types: { lifecycle: 'at_risk' } }, { caps: { email: { max: 1, per: 30 * DAY } } }),
        customer('b', { types: { lifecycle: 'at_risk' } }),
        customer('c', { types: { lifecycle: 'new' } }),
      ],
    );
    await h.store.addSuppression({ customerId: 'b', address: null, channel: 'email', reason: 'unsubscribed', at: 0, source: 'test' });
    const r = await h.automation.dryRun('d');
    expect(r).toMatchObject({ matched: 2, enrolled: 2, sends: { email: 1 }, blocked: { cap_email: 1, suppressed_unsubscribed: 2 } });
    const a = r.customers.find((c) => c.customerId === 'a')!;
    expect(a.plan.map((p) => `${p.step}:${p.outcome}`)).toEqual(['one:send', 'w:wait', 'two:dropped', 'task:task']);
    expect(a.plan[2]?.at).toBe(new Date(T0 + DAY).toISOString());
    expect(await h.store.countActions()).toMatchObject({ pending: 0, done: 0 });
    expect(h.sent).toHaveLength(0);
  });
});
