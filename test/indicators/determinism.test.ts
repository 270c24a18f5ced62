import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event';
import { canonicalise, emptyMapping } from '../../src/indicators/event-mapping';
import {
  applyEvent,
  applyStatement,
  cloneState,
  createIndicatorState,
  decodeState,
  encodeState,
  readIndicators,
  valueSummary,
  type IndicatorState,
  type StatementInput,
} from '../../src/indicators/indicator-state';
import { KIND, type CanonicalEvent } from '../../src/indicators/event-kind';
import { DAY, stored, T0, track } from './event-helpers';

/**
 * Replay determinism: the state is a pure function of the event sequence, whether applied in
 * one go, from an encoded checkpoint, or from a clone.
 */

const NAMES = [
  'Order Completed',
  'Order Refunded',
  'Product Viewed',
  'Email Delivered',
  'Email Opened',
  'Email Link Clicked',
  'Email Bounced',
  'Email Marked as Spam',
  'Unsubscribed',
  'Subscribed',
  'Support Ticket Created',
  'Self Service Used',
  'Complaint Filed',
  'Survey Answered',
  'Review Submitted',
  'Community Post Created',
  'Idea Submitted',
  'Referral Sent',
  'Statement Captured',
  'Membership Started',
  'Membership Cancelled',
  'Recommendation Clicked',
  'Account Manager Assigned',
  'Something Custom',
] as const;

type Step =
  | { kind: 'event'; e: StoredEvent }
  | { kind: 'statement'; s: StatementInput };

const CATEGORIES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
const ZONES = [null, 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Not/AZone'];

/** Time moves forward mostly, with late events (up to ~2 years back) mixed in. */
const stepArb = fc.record({
  dt: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 20 * DAY }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 * DAY }) },
    { weight: 2, arbitrary: fc.integer({ min: -700 * DAY, max: 0 }) },
  ),
  type: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...NAMES) },
    { weight: 1, arbitrary: fc.constantFrom('page', 'screen', 'identify', 'statement') },
  ),
  revenue: fc.double({ min: 0, max: 500, noNaN: true }),
  flag: fc.boolean(),
  pick: fc.nat({ max: 1000 }),
  sentiment: fc.double({ min: -1, max: 1, noNaN: true }),
});

type RawStep = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

function toSteps(raw: readonly RawStep[]): Step[] {
  let clock = T0;
  const steps: Step[] = [];
  for (const r of raw) {
    const t = clock + r.dt;
    if (r.dt > 0) clock = t;
    const ctx = { timezone: ZONES[r.pick % ZONES.length] };
    if (r.type === 'statement') {
      steps.push({
        kind: 'statement',
        s: { t, sentiment: r.sentiment, cues: { love: r.pick % 3, price: r.flag ? 1 : 0, switching: (r.pick >> 2) % 2 }, public: r.flag },
      });
    } else if (r.type === 'page' || r.type === 'screen' || r.type === 'identify') {
      steps.push({ kind: 'event', e: stored(r.type, null, t, { context: ctx, traits: { plan: 'x' } }) });
    } else {
      const products = CATEGORIES.slice(r.pick % 12, (r.pick % 12) + (r.pick % 4)).map((category) => ({ category, price: 3 }));
      steps.push({
        kind: 'event',
        e: track(
          r.type,
          t,
          {
            revenue: r.revenue,
            discount: r.flag ? 2 : 0,
            products,
            promotional: r.flag,
            nps: r.pick % 11,
            channel: r.flag ? 'phone' : 'self_service',
            contract: r.flag,
            bounce_type: 'hard',
          },
          ctx,
        ),
      });
    }
  }
  return steps;
}

const mapping = emptyMapping();

function applyAll(state: IndicatorState, steps: readonly Step[]): IndicatorState {
  for (const step of steps) {
    if (step.kind === 'statement') applyStatement(state, step.s);
    else {
      const ev = canonicalise(step.e, mapping);
      if (ev) applyEvent(state, ev);
    }
  }
  return state;
}

const streamArb = fc.array(stepArb, { minLength: 1, maxLength: 120 });

describe('replay determinism (property-based)', () => {
  it('prefix + checkpoint (encode/decode) + rest gives byte-identical state and identical indicators', () => {
    fc.assert(
      fc.property(streamArb, fc.nat(), (raw, cut) => {
        const steps = toSteps(raw);
        const k = cut % (steps.length + 1);
        const full = applyAll(createIndicatorState(), steps);
        const checkpoint = encodeState(applyAll(createIndicatorState(), steps.slice(0, k)));
        const resumed = applyAll(decodeState(checkpoint), steps.slice(k));
        expect(encodeState(resumed)).toEqual(encodeState(full));
        expect(readIndicators(resumed)).toEqual(readIndicators(full));
        const asOf = T0 + 400 * DAY;
        expect(readIndicators(resumed, { asOf })).toEqual(readIndicators(full, { asOf }));
        expect(valueSummary(resumed, 'week')).toEqual(valueSummary(full, 'week'));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('applying the same stream twice from scratch is identical, and clones continue identically', () => {
    fc.assert(
      fc.property(streamArb, fc.nat(), (raw, cut) => {
        const steps = toSteps(raw);
        const a = applyAll(createIndicatorState(), steps);
        const b = applyAll(createIndicatorState(), steps);
        expect(encodeState(a)).toEqual(encodeState(b));
        const k = cut % (steps.length + 1);
        const base = applyAll(createIndicatorState(), steps.slice(0, k));
        const clone = applyAll(cloneState(base), steps.slice(k));
        expect(encodeState(clone)).toEqual(encodeState(a));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('indicators stay within their documented ranges', () => {
    fc.assert(
      fc.property(streamArb, (raw) => {
        const ind = readIndicators(applyAll(createIndicatorState(), toSteps(raw)));
        for (const [name, v] of Object.entries(ind)) expect(Number.isFinite(v), name).toBe(true);
        for (const name of ['purchase_regularity', 'unsubscribed', 'membership_active', 'dedicated_contact']) {
          expect(ind[name]).toBeGreaterThanOrEqual(0);
          expect(ind[name]).toBeLessThanOrEqual(1);
        }
        for (const name of ['discount_share', 'return_rate', 'seasonality', 'self_service_ratio', 'email_open_rate', 'email_click_rate', 'promo_response_rate', 'public_statement_share', 'agent_contact_share']) {
          const v = ind[name] as number;
          expect(v === -1 || (v >= 0 && v <= 1), `${name}=${v}`).toBe(true);
        }
        expect(ind['sentiment_ewma']).toBeGreaterThanOrEqual(-1 - 1e-9);
        expect(ind['sentiment_ewma']).toBeLessThanOrEqual(1 + 1e-9);
        expect(ind['best_send_hour']).toBeGreaterThanOrEqual(-1);
        expect(ind['best_send_hour']).toBeLessThanOrEqual(23);
        expect(ind['frequency_90d']).toBeLessThanOrEqual(ind['orders_total'] as number);
        expect(ind['nps']).toBeLessThanOrEqual(10);
      }),
      { numRuns: 200, seed: 3 },
    );
  });
  it('ring windows equal a brute-force count over the whole stream (late events included)', () => {
    const WEEK = 7 * DAY;
    fc.assert(
      fc.property(streamArb, (raw) => {
        const steps = toSteps(raw);
        const evs: CanonicalEvent[] = [];
        let first = Infinity;
        let last = -Infinity;
        for (const step of steps) {
          let t = Number.NaN;
          if (step.kind === 'statement') t = step.s.t;
          else {
            const ev = canonicalise(step.e, mapping);
            if (ev === null || ev.kind === KIND.identify) continue; // identify moves no indicator
            evs.push(ev);
            t = ev.t;
          }
          first = Math.min(first, t);
          last = Math.max(last, t);
        }
        const ind = readIndicators(applyAll(createIndicatorState(), steps));
        if (first === Infinity) return;
        const A = Math.floor(last / WEEK);
        const inWeeks = (t: number, lo: number, hi: number) => {
          const w = Math.floor(t / WEEK);
          return w >= lo && w <= hi;
        };
        const count = (kind: number, lo: number, hi: number) => evs.filter((e) => e.kind === kind && inWeeks(e.t, lo, hi)).length;
        const orders = evs.filter((e) => e.kind === KIND.orderCompleted);
        const freq = count(KIND.orderCompleted, A - 12, A);
        expect(ind['frequency_90d']).toBe(freq);
        expect(ind['frequency_trend']).toBeCloseTo((freq + 1) / (count(KIND.orderCompleted, A - 25, A - 13) + 1), 12);
        expect(ind['support_contacts_90d']).toBe(count(KIND.supportTicketCreated, A - 12, A));
        expect(ind['complaints_90d']).toBe(count(KIND.complaintFiled, A - 12, A));
        const engagement = [KIND.emailOpened, KIND.emailLinkClicked, KIND.page, KIND.screen, KIND.productViewed];
        expect(ind['engagement_90d']).toBe(evs.filter((e) => engagement.includes(e.kind as never) && inWeeks(e.t, A - 12, A)).length);
        expect(ind['orders_total']).toBe(orders.length);
        const P = Math.floor(A / 4);
        const inPeriods = (t: number) => Math.floor(Math.floor(t / WEEK) / 4) >= P - 12;
        const money = evs
          .filter((e) => (e.kind === KIND.orderCompleted || e.kind === KIND.orderRefunded) && inPeriods(e.t))
          .reduce((sum, e) => sum + (e.kind === KIND.orderCompleted ? e.revenue : -e.revenue), 0);
        expect(ind['monetary_365d']).toBeCloseTo(money, 6);
        expect(ind['tenure_days']).toBe(Math.floor((last - first) / DAY));
        if (orders.length > 0) {
          expect(ind['recency_days']).toBe(Math.floor((last - Math.max(...orders.map((e) => e.t))) / DAY));
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
