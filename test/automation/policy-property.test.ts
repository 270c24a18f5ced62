import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { createAutomation } from '../../src/automation/automation';
import { createInMemoryCustomerDirectory } from '../../src/automation/in-memory-customer-directory';
import { staticPlaybookRegistry } from '../../src/automation/playbook-registry';
import type { AutomationSignal, CustomerView } from '../../src/automation/types';
import { DEFAULT_CONTACT_POLICY, type Channel, type ContactPolicy } from '../../src/domain/contact-policy';
import { playbookSchema } from '../../src/domain/playbook';
import { HARD_SUPPRESSIONS } from '../../src/ports/automation-store';
import type { ChannelAdapter, OutboundMessage } from '../../src/ports/channel';
import { ManualClock } from '../../src/ports/clock';

const DAY = 86_400_000;
const TYPES = ['new', 'at_risk', 'lapsed'] as const;
const TEMPLATES = [join(import.meta.dirname, 'fixtures', 'templates')];

/** Global order of sends and suppressions (several can share one clock time). */
const order = { n: 0 };

interface Sent {
  order: number;
  customerId: string;
  channel: Channel;
  at: number;
  transactional: boolean;
}

/** A channel standing in for the outside world: it records what reached the customer. */
function recordingChannel(channel: Channel, sent: Sent[], clock: ManualClock): ChannelAdapter {
  return {
    channel,
    idempotent: true,
    async send(m: OutboundMessage) {
      sent.push({ order: order.n++, customerId: m.customerId, channel, at: clock.now(), transactional: m.transactional });
      return { ok: true };
    },
  };
}

const capArb = fc.record({ max: fc.integer({ min: 0, max: 5 }), per: fc.integer({ min: 1, max: 10 }).map((d) => d * DAY) });
const policyArb = fc.record({
  email: capArb,
  overall: capArb,
  quiet: fc.option(fc.constantFrom({ start: '21:00', end: '08:00' }, { start: '12:00', end: '14:00' }), { nil: undefined }),
  strategy: fc.constantFrom('immediate', 'best_hour', 'fixed'),
  channels: fc.constantFrom<Channel[]>(['email', 'in_app'], ['email'], ['in_app']),
});
const stepArb = fc.oneof(
  fc.record({
    kind: fc.constant('send' as const),
    channel: fc.constantFrom('email' as const, 'in_app' as const),
    promotional: fc.boolean(),
    transactional: fc.boolean(),
    onBlocked: fc.constantFrom('defer' as const, 'drop' as const),
  }),
  fc.record({ kind: fc.constant('wait' as const), hours: fc.integer({ min: 0, max: 72 }) }),
);
const playbookArb = fc.record({
  type: fc.constantFrom(...TYPES),
  holdout: fc.constantFrom(0, 0.1, 0.3),
  reenter: fc.constantFrom('always', 'once'),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
});
const opArb = fc.oneof(
  fc.record({ op: fc.constant('type' as const), c: fc.nat(7), to: fc.constantFrom(...TYPES) }),
  fc.record({ op: fc.constant('suppress' as const), c: fc.nat(7), event: fc.constantFrom('Unsubscribed', 'Email Marked as Spam', 'Email Bounced') }),
  fc.record({ op: fc.constant('tick' as const), hours: fc.integer({ min: 0, max: 60 }) }),
);

describe('contact policy and consent invariants (property)', () => {
  it('no suppressed customer is ever contacted and no frequency cap is ever exceeded', async () => {
    const totals = { sent: 0, dropped: 0, deferred: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(playbookArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ policy: policyArb, tz: fc.constantFrom('UTC', 'America/New_York', 'Asia/Tokyo'), suppressed: fc.boolean() }), { minLength: 2, maxLength: 8 }),
        fc.array(opArb, { minLength: 10, maxLength: 60 }),
        async (pbs, pop, ops) => {
          const clock = new ManualClock(Date.parse('2026-01-05T09:30:00Z'));
          const db = openSqliteDatabase(':memory:');
          const store = createSqliteAutomationStore(db);
          const sent: Sent[] = [];
          const policies = new Map<string, ContactPolicy>();
          const suppressions: { customerId: string; channel: Channel; order: number; reason: string }[] = [];
          const views: CustomerView[] = pop.map((p, i) => {
            const policy: ContactPolicy = {
              ...DEFAULT_CONTACT_POLICY,
              channels: p.policy.channels,
              caps: { email: p.policy.email, overall: p.policy.overall },
              quiet_hours: p.policy.quiet,
              send_time: { strategy: p.policy.strategy as ContactPolicy['send_time']['strategy'], fallback_hour: 10 },
            };
            policies.set(`c${i}`, policy);
            return {
              customerId: `c${i}`,
              userId: `u${i}`,
              email: `c${i}@example.test`,
              timezone: p.tz,
              traits: {},
              indicators: { best_send_hour: (i * 5) % 24 },
              types: { lifecycle: 'new' },
              policies: { lifecycle: policy },
            };
          });
          const customers = createInMemoryCustomerDirectory(views);
          for (const [i, p] of pop.entries()) {
            if (!p.suppressed) continue;
            await store.addSuppression({ customerId: `c${i}`, address: null, channel: 'email', reason: 'unsubscribed', at: 0, source: 'test' });
            suppressions.push({ customerId: `c${i}`, channel: 'email', order: -1, reason: 'unsubscribed' });
          }
          const playbooks = pbs.map((p, k) =>
            playbookSchema.parse({
              id: `pb${k}`,
              name: `pb${k}`,
              trigger: { entered: { lens: 'lifecycle', type: p.type } },
              holdout: p.holdout,
              reenter: p.reenter,
              steps: p.steps.map((s, j) =>
                s.kind === 'wait'
                  ? { id: `s${j}`, wait: `${s.hours}h` }
                  : { id: `s${j}`, send: { channel: s.channel, template: 'plain', promotional: s.promotional, transactional: s.transactional, on_blocked: s.onBlocked } },
              ),
            }),
          );
          const automation = createAutomation({
            clock,
            store,
            customers,
            channels: { email: recordingChannel('email', sent, clock), in_app: recordingChannel('in_app', sent, clock) },
            emit: async () => {},
            playbooks: staticPlaybookRegistry(playbooks),
            config: { publicUrl: 'http://127.0.0.1:1', signingSecret: 'property-secret-0123456789', templateDirs: TEMPLATES },
          });
          let seq = 0;
          for (const o of [...ops, { op: 'tick' as const, hours: 24 * 30 }]) {
            if (o.op === 'tick') {
              // Step through time so deferred actions come due in between.
              for (let h = 0; h < o.hours; h += 6) {
                clock.advance(Math.min(6, o.hours - h) * 3_600_000);
                await automation.dispatchDue();
              }
              continue;
            }
            const id = `c${o.c % views.length}`;
            let signal: AutomationSignal;
            if (o.op === 'type') {
              const from = (await customers.get(id))?.types.lifecycle ?? null;
              customers.update(id, { types: { lifecycle: o.to } });
              signal = { kind: 'type_changed', customerId: id, lens: 'lifecycle', from, to: o.to, at: clock.now(), eventSeq: ++seq };
            } else {
              const reason = o.event === 'Unsubscribed' ? 'unsubscribed' : o.event === 'Email Marked as Spam' ? 'complained' : 'hard_bounce';
              suppressions.push({ customerId: id, channel: 'email', order: order.n++, reason });
              signal = { kind: 'event', customerId: id, event: o.event, properties: { bounce_type: 'hard', channel: 'email' }, at: clock.now(), eventSeq: ++seq };
            }
            await automation.handle(signal);
            await automation.dispatchDue();
          }
          totals.sent += sent.length;
          for (const a of await store.listActions({ limit: 10_000 })) {
            if (a.status === 'dropped') totals.dropped++;
            if (a.deferredSince !== null) totals.deferred++;
          }
          await automation.stop();
          db.close();

          // Invariant 1: nobody suppressed on a channel is contacted on it (transactional only escapes soft suppressions).
          for (const s of sent) {
            const blocking = suppressions.filter(
              (x) => x.customerId === s.customerId && x.channel === s.channel && x.order < s.order && (!s.transactional || HARD_SUPPRESSIONS.has(x.reason)),
            );
            expect(blocking, `${s.customerId} contacted on ${s.channel} at ${s.at} while suppressed`).toEqual([]);
          }
          // Invariant 2: per-channel and overall caps hold in every window (marketing sends only).
          for (const [id, policy] of policies) {
            const mine = sent.filter((s) => s.customerId === id && !s.transactional);
            for (const s of mine) {
              for (const [key, cap] of Object.entries(policy.caps)) {
                if (!cap) continue;
                const inWindow = mine.filter((x) => (key === 'overall' || x.channel === key) && x.at > s.at - cap.per && x.at <= s.at);
                expect(inWindow.length, `${id} ${key} cap ${cap.max}/${cap.per / DAY}d exceeded`).toBeLessThanOrEqual(cap.max);
              }
              expect(policy.channels.includes(s.channel)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 100, seed: 20260301 },
    );
    // The generated cases exercise all three paths: sends, drops (suppression, cap) and deferrals.
    expect(totals.sent).toBeGreaterThan(0);
    expect(totals.dropped).toBeGreaterThan(0);
    expect(totals.deferred).toBeGreaterThan(0);
    console.log(`property runs: ${JSON.stringify(totals)}`);
  });
});
