import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpChannel } from '../../src/adapters/smtp/smtp-channel';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { createAutomation, feedbackMessageId, HANDED_OVER_NOT_CONFIRMED, type Automation } from '../../src/automation/automation';
import { createInMemoryCustomerDirectory } from '../../src/automation/in-memory-customer-directory';
import { staticPlaybookRegistry } from '../../src/automation/playbook-registry';
import type { EmittedMessage } from '../../src/automation/types';
import { playbookSchema } from '../../src/domain/playbook';
import type { AutomationStore } from '../../src/ports/automation-store';
import type { ChannelAdapter, OutboundMessage, SendOptions, SendResult } from '../../src/ports/channel';
import { ManualClock } from '../../src/ports/clock';
import { customer, startSmtpSink } from './helpers';

const T0 = Date.parse('2026-03-02T12:00:00Z');
const LEASE = 60_000;
const TEMPLATES = [join(import.meta.dirname, 'fixtures', 'templates')];
const PLAYBOOK = playbookSchema.parse({
  id: 'x',
  name: 'x',
  holdout: 0,
  reenter: 'always',
  policy: { send_time: { strategy: 'immediate' }, caps: {} },
  trigger: { entered: { lens: 'lifecycle', type: 'at_risk' } },
  steps: [
    { id: 'm', send: { channel: 'email', template: 'plain' } },
    { id: 'later', wait: '1d' },
  ],
});
const ID = (c: string, seq: number): string => `x:m:${c}:${seq}`;

interface Harness {
  automation: Automation;
  store: AutomationStore;
  clock: ManualClock;
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

function harness(email: ChannelAdapter, n = 1, wrap: (s: AutomationStore) => AutomationStore = (s) => s): Harness {
  const db = openSqliteDatabase(':memory:');
  const store = wrap(createSqliteAutomationStore(db));
  const clock = new ManualClock(T0);
  const emitted: EmittedMessage[] = [];
  const automation = createAutomation({
    clock,
    store,
    customers: createInMemoryCustomerDirectory(Array.from({ length: n }, (_, i) => customer(`c${i}`))),
    channels: { email },
    emit: async (m) => {
      emitted.push(...m);
    },
    playbooks: staticPlaybookRegistry([PLAYBOOK]),
    config: {
      publicUrl: 'http://127.0.0.1:1',
      signingSecret: 'exactly-once-secret-0123',
      templateDirs: TEMPLATES,
      leaseMs: LEASE,
      retryBaseMs: 1000,
      limits: { email: { concurrency: 64, ratePerSecond: 0 } },
    },
  });
  const h = { automation, store, clock, emitted, db };
  open.push(h);
  return h;
}

/** An email channel that honours the commit point like the SMTP one: no yes, no delivery. */
function committing(sent: OutboundMessage[], before?: (m: OutboundMessage) => Promise<void>): ChannelAdapter {
  return {
    channel: 'email',
    idempotent: true,
    async send(m, opts?: SendOptions): Promise<SendResult> {
      await before?.(m);
      if (opts?.commitPoint) {
        let ok: boolean;
        try {
          ok = await opts.commitPoint();
        } catch (err) {
          return { ok: false, permanent: false, aborted: true, error: `aborted: ${String(err)}` };
        }
        if (!ok) return { ok: false, permanent: false, aborted: true, error: 'aborted: commit point refused' };
      }
      sent.push(m);
      return { ok: true };
    },
  };
}

const enrol = (h: Harness, customers: string[]) =>
  h.automation.handleMany(customers.map((c, i) => ({ kind: 'type_changed' as const, customerId: c, lens: 'lifecycle', from: 'established', to: 'at_risk', at: T0, eventSeq: i + 1 })));

describe('exactly-once e-mail: commit point and recovery', () => {
  it('marks the action handed over at the commit point, under its lease, before the message is complete', async () => {
    const sent: OutboundMessage[] = [];
    let seen: unknown;
    const h = harness(
      committing(sent, async () => {
        seen = await h.store.getAction(ID('c0', 1));
      }),
    );
    await enrol(h, ['c0']);
    await h.automation.dispatchDue();
    expect(seen).toMatchObject({ status: 'sending', handedOverAt: null, leaseUntil: T0 + LEASE });
    expect(sent).toHaveLength(1);
    expect(await h.store.getAction(ID('c0', 1))).toMatchObject({ status: 'done', reason: null, handedOverAt: T0 });
  });

  it('a recovered action marked handed over is completed as sent (not confirmed), with its follow-up and feedback, and not sent again', async () => {
    const sent: OutboundMessage[] = [];
    const h = harness(committing(sent));
    await enrol(h, ['c0']);
    // A dispatcher claims it, passes the commit point, and dies before the server's reply is recorded.
    const [claim] = await h.store.claimDue(T0, 10, LEASE);
    expect([...(await h.store.markHandedOver([{ id: claim!.action.id, leaseUntil: claim!.action.leaseUntil! }], T0 + 5))]).toEqual([ID('c0', 1)]);
    h.clock.advance(LEASE + 1);
    // The recovered action, then its follow-up (a wait, due at once).
    expect(await h.automation.dispatchDue()).toBe(2);
    expect(sent).toHaveLength(0);
    const a = await h.store.getAction(ID('c0', 1));
    expect(a).toMatchObject({ status: 'done', handedOverAt: T0 + 5 });
    expect(a?.reason?.startsWith(HANDED_OVER_NOT_CONFIRMED)).toBe(true);
    // Same effects as a send: follow-up scheduled, contact recorded, enrolment reached, Email Delivered once (deterministic id).
    expect(await h.store.getAction('x:later:c0:1')).toMatchObject({ status: 'done' });
    expect(await h.store.contactHistory('c0', 0)).toHaveLength(1);
    expect(await h.store.getEnrolment('x:c0:1')).toMatchObject({ reached: true });
    const delivered = h.emitted.filter((m) => m.event === 'Email Delivered');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ messageId: feedbackMessageId(`delivered:${ID('c0', 1)}`), properties: { email_id: ID('c0', 1), delivery_confirmed: false } });
  });

  it('a recovered action without the mark is sent again (the dead attempt never passed the final dot)', async () => {
    const sent: OutboundMessage[] = [];
    const h = harness(committing(sent));
    await enrol(h, ['c0']);
    await h.store.claimDue(T0, 10, LEASE);
    h.clock.advance(LEASE + 1);
    await h.automation.dispatchDue();
    expect(sent.map((m) => m.idempotencyKey)).toEqual([ID('c0', 1)]);
    expect(await h.store.getAction(ID('c0', 1))).toMatchObject({ status: 'done', reason: null, attempts: 2 });
  });

  it('lease lost at the commit point: the send is aborted and the row is left to the dispatcher that reclaimed it', async () => {
    const sent: OutboundMessage[] = [];
    let newLease = 0;
    const h = harness(
      committing(sent, async () => {
        // Meanwhile (a long stall), the lease expired and another dispatcher reclaimed the action.
        const again = await h.store.claimDue(T0 + LEASE + 10, 10, LEASE);
        newLease = again[0]!.action.leaseUntil!;
      }),
    );
    await enrol(h, ['c0']);
    await h.automation.dispatchDue();
    expect(sent).toHaveLength(0);
    expect(h.emitted.filter((m) => m.event === 'Email Delivered')).toHaveLength(0);
    // Not deferred, not completed: still sending under the other dispatcher's lease, unmarked.
    expect(await h.store.getAction(ID('c0', 1))).toMatchObject({ status: 'sending', leaseUntil: newLease, handedOverAt: null, reason: null });
  });

  it('a commit point that fails (store error) aborts the send, which is retried later', async () => {
    const sent: OutboundMessage[] = [];
    let fail = true;
    const h = harness(committing(sent), 1, (s) => ({
      ...s,
      markHandedOver: (items, now) => (fail ? Promise.reject(new Error('database is locked')) : s.markHandedOver(items, now)),
    }));
    await enrol(h, ['c0']);
    await h.automation.dispatchDue();
    expect(sent).toHaveLength(0);
    const a = await h.store.getAction(ID('c0', 1));
    expect(a).toMatchObject({ status: 'pending', handedOverAt: null, due: T0 + 1000 });
    expect(a?.reason).toMatch(/retry: .*database is locked/);
    fail = false;
    h.clock.advance(1000);
    await h.automation.dispatchDue();
    expect(sent).toHaveLength(1);
    expect(await h.store.getAction(ID('c0', 1))).toMatchObject({ status: 'done', handedOverAt: T0 + 1000 });
  });

  it('concurrent sends share group-committed marks', async () => {
    const sent: OutboundMessage[] = [];
    const calls: number[] = [];
    const h = harness(committing(sent), 40, (s) => ({
      ...s,
      markHandedOver: (items, now) => {
        calls.push(items.length);
        return s.markHandedOver(items, now);
      },
    }));
    await enrol(h, Array.from({ length: 40 }, (_, i) => `c${i}`));
    // 40 sends, then their 40 follow-ups (waits).
    expect(await h.automation.dispatchDue()).toBe(80);
    expect(sent).toHaveLength(40);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(40);
    expect(calls.length).toBeLessThanOrEqual(4);
  });

  it('a send past the commit point that fails at the server completes as failed; one without a reply completes as sent, not confirmed', async () => {
    const smtp = await startSmtpSink({ rejectData: (a) => a.startsWith('c0') });
    const email = createSmtpChannel({ url: smtp.url, from: 'T <t@t.test>' });
    try {
      const h = harness(email, 1);
      await enrol(h, ['c0']);
      await h.automation.dispatchDue();
      const a = await h.store.getAction(ID('c0', 1));
      expect(a).toMatchObject({ status: 'failed', handedOverAt: T0 });
      expect(a?.reason).toMatch(/554/);
      expect(smtp.messages).toHaveLength(0);

      const unconfirmed: ChannelAdapter = {
        channel: 'email',
        idempotent: true,
        async send(_m, opts) {
          expect(await opts?.commitPoint?.()).toBe(true);
          return { ok: true, unconfirmed: 'no reply after the end of data: ECONNECTION' };
        },
      };
      const h2 = harness(unconfirmed, 1);
      await enrol(h2, ['c0']);
      await h2.automation.dispatchDue();
      const b = await h2.store.getAction(ID('c0', 1));
      expect(b).toMatchObject({ status: 'done' });
      expect(b?.reason).toBe(`${HANDED_OVER_NOT_CONFIRMED}: no reply after the end of data: ECONNECTION`);
      expect(h2.emitted.filter((m) => m.event === 'Email Delivered')).toHaveLength(1);
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });
});
