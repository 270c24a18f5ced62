import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event';
import { INDICATOR_CATALOGUE } from '../../src/domain/indicator-catalogue';
import { canonicalise, emptyMapping } from '../../src/indicators/event-mapping';
import {
  applyEvent,
  applyStatement,
  cloneState,
  createIndicatorState,
  decodeState,
  encodeState,
  lastEventTime,
  readIndicators,
  releaseIndicatorState,
  valueSummary,
  type IndicatorState,
  type ReadContext,
} from '../../src/indicators/indicator-state';
import { DAY, stored, T0, track } from './event-helpers';

const mapping = emptyMapping();

function run(events: StoredEvent[], state: IndicatorState = createIndicatorState()): IndicatorState {
  for (const e of events) {
    const ev = canonicalise(e, mapping);
    if (ev) applyEvent(state, ev);
  }
  return state;
}

const read = (s: IndicatorState, ctx: ReadContext = {}) => readIndicators(s, ctx);
const noCues = {};

describe('readIndicators basics', () => {
  it('returns every catalogue indicator, with sentinels on an empty state', () => {
    const ind = read(createIndicatorState());
    for (const spec of INDICATOR_CATALOGUE) expect(ind, spec.name).toHaveProperty(spec.name);
    expect(Object.keys(ind).sort()).toEqual(INDICATOR_CATALOGUE.map((s) => s.name).sort());
    expect(ind).toMatchObject({
      recency_days: -1,
      tenure_days: -1,
      avg_order_value: -1,
      frequency_90d: 0,
      nps: -1,
      best_send_hour: -1,
      email_open_rate: -1,
      self_service_ratio: -1,
      share_of_wallet: -1,
      p_alive: -1,
      heavy_user: -1,
      sentiment_ewma: 0,
      seasonality: -1,
    });
  });

  it('identify, group and alias change nothing', () => {
    const s = run([
      stored('identify', null, T0, { traits: { plan: 'gold' } }),
      stored('group', null, T0),
      stored('alias', null, T0),
    ]);
    expect(encodeState(s)).toEqual(encodeState(createIndicatorState()));
    expect(lastEventTime(s)).toBeNull();
  });

  it('passes value-model outputs through', () => {
    const ind = read(createIndicatorState(), { value: { pAlive: 0.8, expectedPurchases90d: 1.5, clv12m: 120, heavyUser: true } });
    expect(ind).toMatchObject({ p_alive: 0.8, expected_purchases_90d: 1.5, clv_12m: 120, heavy_user: 1 });
  });

  it('reuses an output object when given one', () => {
    const out = {};
    const s = run([track('Order Completed', T0, { revenue: 5 })]);
    expect(readIndicators(s, {}, out)).toBe(out);
    expect(out).toHaveProperty('orders_total', 1);
  });
});

describe('transactions', () => {
  const orders = [
    track('Order Completed', T0, { revenue: 10, discount: 2, products: [{ category: 'A' }] }),
    track('Order Completed', T0 + 10 * DAY, { revenue: 20, coupon: 'X', products: [{ category: 'B' }, { category: 'a' }] }),
    track('Order Completed', T0 + 20 * DAY, { revenue: 30, products: [{ category: 'C' }] }),
  ];

  it('3 orders 10 days apart', () => {
    const ind = read(run(orders));
    expect(ind).toMatchObject({
      frequency_90d: 3,
      orders_total: 3,
      purchase_regularity: 1,
      avg_order_value: 20,
      monetary_365d: 60,
      revenue_total: 60,
      recency_days: 0,
      tenure_days: 20,
      days_since_first_order: 20,
      frequency_trend: 4,
      category_breadth: 3,
      return_rate: 0,
      seasonality: 1,
    });
    expect(ind['discount_share']).toBeCloseTo(2 / 3, 12);
  });

  it('a refund lowers net revenue and raises the return rate', () => {
    const s = run([...orders, track('Order Refunded', T0 + 25 * DAY, { order_id: 'o2', revenue: 20 })]);
    const ind = read(s);
    expect(ind['return_rate']).toBeCloseTo(1 / 3, 12);
    expect(ind).toMatchObject({ revenue_total: 40, monetary_365d: 40, recency_days: 5, avg_order_value: 20 });
  });

  it('windows follow asOf (event time, not the wall clock)', () => {
    const s = run(orders);
    expect(read(s, { asOf: T0 + 200 * DAY })).toMatchObject({ frequency_90d: 0, recency_days: 180, tenure_days: 200, monetary_365d: 60 });
    expect(read(s, { asOf: T0 + 500 * DAY })).toMatchObject({ monetary_365d: 0, orders_total: 3, revenue_total: 60 });
    // 13 weeks later: the orders moved to the previous window, so the trend falls.
    expect(read(s, { asOf: T0 + 20 * DAY + 13 * 7 * DAY })).toMatchObject({ frequency_90d: 0, frequency_trend: 0.25 });
  });

  it('irregular gaps lower purchase_regularity (1 - CV of gaps in days)', () => {
    const s = run([0, 1, 11].map((d) => track('Order Completed', T0 + d * DAY, { revenue: 1 })));
    // gaps 1 and 10: mean 5.5, sd 4.5
    expect(read(s)['purchase_regularity']).toBeCloseTo(1 - 4.5 / 5.5, 12);
    expect(read(run([track('Order Completed', T0), track('Order Completed', T0 + DAY)]))['purchase_regularity']).toBe(0);
  });

  it('seasonality: share of orders in the busiest quarter', () => {
    const s = run([
      track('Order Completed', Date.UTC(2025, 0, 10)),
      track('Order Completed', Date.UTC(2025, 1, 10)),
      track('Order Completed', Date.UTC(2025, 6, 10)),
    ]);
    expect(read(s)['seasonality']).toBeCloseTo(2 / 3, 12);
  });

  it('category breadth is exact up to 8 and approximate beyond', () => {
    const few = run([track('Order Completed', T0, { products: [{ category: 'x' }, { category: 'y' }, { category: 'X' }] })]);
    expect(read(few)['category_breadth']).toBe(2);
    const cats = Array.from({ length: 40 }, (_, i) => ({ category: `cat-${i}` }));
    const many = run([track('Order Completed', T0, { products: cats }), track('Order Completed', T0 + DAY, { products: cats })]);
    const b = read(many)['category_breadth'] as number;
    expect(b).toBeGreaterThanOrEqual(34);
    expect(b).toBeLessThanOrEqual(46);
  });

  it('share_of_wallet comes from the trait (0..1 or a percentage)', () => {
    const s = createIndicatorState();
    expect(read(s, { traits: { share_of_wallet: 0.4 } })['share_of_wallet']).toBe(0.4);
    expect(read(s, { traits: { share_of_wallet: '40' } })['share_of_wallet']).toBe(0.4);
    expect(read(s, { traits: { share_of_wallet: 'lots' } })['share_of_wallet']).toBe(-1);
  });

  it('valueSummary counts repeat purchases on distinct days', () => {
    const s = run([
      track('Order Completed', T0, { revenue: 10 }),
      track('Order Completed', T0 + 3_600_000, { revenue: 5 }),
      track('Order Completed', T0 + 7 * DAY, { revenue: 20 }),
      track('Order Completed', T0 + 14 * DAY, { revenue: 30 }),
    ]);
    expect(valueSummary(s, 'week', T0 + 28 * DAY)).toEqual({ x: 2, tx: 2, T: 4, monetary: 25 });
    expect(valueSummary(s, 'day')).toEqual({ x: 2, tx: 14, T: 14, monetary: 25 });
    expect(valueSummary(createIndicatorState(), 'day')).toEqual({ x: 0, tx: 0, T: 0, monetary: 0 });
  });

  it('a late order before the first one moves the start', () => {
    const s = run([track('Order Completed', T0 + 10 * DAY, { revenue: 10 }), track('Order Completed', T0, { revenue: 4 })]);
    expect(read(s)).toMatchObject({ days_since_first_order: 10, tenure_days: 10, recency_days: 0, frequency_90d: 2 });
    expect(valueSummary(s, 'day')).toEqual({ x: 1, tx: 10, T: 10, monetary: 10 });
  });

  it('an order older than the rings reaches only the all-time figures', () => {
    const s = run([track('Order Completed', T0 + 400 * DAY, { revenue: 10 }), track('Order Completed', T0, { revenue: 7 })]);
    expect(read(s)).toMatchObject({ frequency_90d: 1, monetary_365d: 10, orders_total: 2, revenue_total: 17 });
  });
});

describe('service', () => {
  it('support contacts, complaints, self-service and agent shares', () => {
    const s = run([
      track('Order Completed', T0),
      track('Order Completed', T0 + DAY),
      track('Support Ticket Created', T0 + 2 * DAY, { channel: 'phone' }),
      track('Support Ticket Created', T0 + 3 * DAY, { channel: 'chat', agent: false }),
      track('Self Service Used', T0 + 3 * DAY, { topic: 'faq' }),
      track('Complaint Filed', T0 + 4 * DAY, { text: 'late again' }),
      track('Recommendation Clicked', T0 + 4 * DAY),
      track('Recommendation Clicked', T0 + 5 * DAY),
    ]);
    const ind = read(s);
    expect(ind).toMatchObject({
      support_contacts_90d: 2,
      support_contacts_total: 2,
      complaints_90d: 1,
      complaint_rate: 0.5,
      agent_contact_share: 0.5,
      automation_uses_90d: 2,
      dedicated_contact: 0,
    });
    expect(ind['self_service_ratio']).toBeCloseTo(2 / 3, 12);
    expect(read(s, { asOf: T0 + 120 * DAY })).toMatchObject({ support_contacts_90d: 0, complaints_90d: 0, support_contacts_total: 2 });
  });

  it('complaint_rate without orders divides by 1', () => {
    expect(read(run([track('Complaint Filed', T0), track('Complaint Filed', T0 + DAY)]))['complaint_rate']).toBe(2);
  });

  it('dedicated_contact from the account_manager trait or an Account Manager Assigned event', () => {
    expect(read(createIndicatorState(), { traits: { account_manager: 'Ann' } })['dedicated_contact']).toBe(1);
    expect(read(createIndicatorState(), { traits: { account_manager: '' } })['dedicated_contact']).toBe(0);
    expect(read(run([track('Account Manager Assigned', T0, { manager: 'Bo' })]))['dedicated_contact']).toBe(1);
  });
});

describe('community and co-creation', () => {
  it('posts (90 days and total), reviews, ideas, referrals', () => {
    const L = T0 + 200 * DAY;
    const s = run([
      track('Community Post Created', L - 100 * DAY),
      track('Community Post Created', L - 10 * DAY, { reply: true }),
      track('Community Post Created', L),
      track('Review Submitted', L - 5 * DAY, { rating: 5 }),
      track('Review Submitted', L - 4 * DAY, { rating: 4 }),
      track('Idea Submitted', L - 3 * DAY, { text: 'dark mode' }),
      track('Referral Sent', L - 2 * DAY),
    ]);
    expect(read(s)).toMatchObject({
      community_posts_90d: 2,
      community_posts_total: 3,
      reviews_written: 2,
      ideas_submitted: 1,
      referrals: 1,
    });
  });

  it('public_statement_share from applyStatement', () => {
    const s = createIndicatorState();
    applyStatement(s, { t: T0, sentiment: 0.2, cues: noCues, public: true });
    applyStatement(s, { t: T0 + DAY, sentiment: 0.2, cues: noCues, public: false });
    expect(read(s)['public_statement_share']).toBe(0.5);
  });
});

describe('communication', () => {
  it('open and click rates per delivery', () => {
    const t = T0 + 5 * DAY;
    const s = run([
      ...[1, 2, 3, 4].map(() => track('Email Delivered', t)),
      track('Email Opened', t),
      track('Email Opened', t),
      track('Email Link Clicked', t),
    ]);
    expect(read(s)).toMatchObject({ emails_delivered: 4, email_open_rate: 0.5, email_click_rate: 0.25, engagement_90d: 3 });
  });

  it('rates are exponentially weighted with a 90-day half-life', () => {
    const s = run([track('Email Delivered', T0), track('Email Delivered', T0 + 90 * DAY), track('Email Opened', T0 + 90 * DAY)]);
    // deliveries weigh 0.5 + 1, the open 1
    expect(read(s)['email_open_rate']).toBeCloseTo(1 / 1.5, 12);
  });

  it('unsubscribed: latest subscription event by event time wins', () => {
    expect(read(run([track('Unsubscribed', T0)]))['unsubscribed']).toBe(1);
    expect(read(run([track('Email Marked as Spam', T0)]))['unsubscribed']).toBe(1);
    expect(read(run([track('Unsubscribed', T0), track('Subscribed', T0 + DAY)]))['unsubscribed']).toBe(0);
    expect(read(run([track('Subscribed', T0 + DAY), track('Unsubscribed', T0)]))['unsubscribed']).toBe(0);
  });

  it('promo_response_rate: promotional messages followed by an order within 7 days', () => {
    const s = run([
      track('Email Delivered', T0, { promotional: true }),
      track('Order Completed', T0 + 3 * DAY, { revenue: 5 }),
      track('Email Delivered', T0 + 10 * DAY, { promotional: true }),
      track('Email Delivered', T0 + 11 * DAY, { promotional: false }),
      track('Order Completed', T0 + 30 * DAY, { revenue: 5 }),
    ]);
    expect(read(s)['promo_response_rate']).toBe(0.5);
    expect(read(run([track('Email Delivered', T0)]))['promo_response_rate']).toBe(-1);
  });

  it('best_send_hour from email opens/clicks in the customer time zone', () => {
    const berlin = { timezone: 'Europe/Berlin' };
    const s = run([
      stored('page', null, Date.UTC(2025, 0, 6, 14), { context: berlin }),
      track('Email Opened', Date.UTC(2025, 0, 7, 7, 30), {}, berlin), // 08:30 local
      track('Email Link Clicked', Date.UTC(2025, 0, 8, 7, 5), {}, berlin), // 08:05 local
      track('Email Opened', Date.UTC(2025, 0, 9, 18), {}, berlin), // 19:00 local
      stored('page', null, Date.UTC(2025, 0, 9, 20), { context: berlin }),
      stored('page', null, Date.UTC(2025, 0, 9, 20, 5), { context: berlin }),
      stored('page', null, Date.UTC(2025, 0, 9, 20, 10), { context: berlin }),
    ]);
    expect(read(s)['best_send_hour']).toBe(8);
  });

  it('best_send_hour from engagement events when there is no email engagement (UTC fallback)', () => {
    const s = run([
      stored('page', null, Date.UTC(2025, 0, 6, 14)),
      stored('screen', null, Date.UTC(2025, 0, 7, 14, 40)),
      track('Product Viewed', Date.UTC(2025, 0, 7, 9)),
    ]);
    expect(read(s)).toMatchObject({ best_send_hour: 14, engagement_90d: 3 });
  });
});

describe('statements', () => {
  it('sentiment_ewma (half-life 60 d) and sentiment_trend (half-life 30 d minus the all-time mean)', () => {
    const s = createIndicatorState();
    applyStatement(s, { t: T0, sentiment: 1, cues: noCues, public: false });
    applyStatement(s, { t: T0 + 60 * DAY, sentiment: -1, cues: noCues, public: false });
    const ind = read(s);
    expect(ind['statements_total']).toBe(2);
    expect(ind['sentiment_ewma']).toBeCloseTo(-0.5 / 1.5, 12);
    expect(ind['sentiment_trend']).toBeCloseTo(-0.75 / 1.25 - 0, 12);
  });

  it('cue counts decay with a 180-day half-life', () => {
    const s = createIndicatorState();
    applyStatement(s, { t: T0, sentiment: 0.9, cues: { love: 2, advocacy: 1, unknown_cue: 5 }, public: true });
    expect(read(s)).toMatchObject({ cue_love: 2, cue_advocacy: 1, cue_price: 0 });
    expect(read(s, { asOf: T0 + 180 * DAY })).toMatchObject({ cue_love: 1, cue_advocacy: 0.5 });
    applyStatement(s, { t: T0 + 180 * DAY, sentiment: 0, cues: { love: 1 }, public: false });
    expect(read(s)['cue_love']).toBe(2);
  });
});

describe('surveys', () => {
  it('nps is the latest answer by event time', () => {
    const s = run([
      track('Survey Answered', T0 + DAY, { nps: 9, relationship: 'partner' }),
      track('Survey Answered', T0, { nps: 3 }),
      track('Survey Answered', T0 + 2 * DAY, { relationship: 'married' }),
    ]);
    expect(read(s)).toMatchObject({ nps: 9, survey_responses: 3 });
    expect(read(run([track('Survey Answered', T0, { nps: 0 })]))['nps']).toBe(0);
  });
});

describe('membership', () => {
  it('started / cancelled, contract, days, partner acquisition', () => {
    const started = run([track('Membership Started', T0, { plan: 'annual', contract: true })]);
    expect(read(started, { asOf: T0 + 30 * DAY })).toMatchObject({ membership_active: 1, contract_active: 1, membership_days: 30 });
    const cancelled = run([track('Membership Cancelled', T0 + 40 * DAY)], cloneState(started));
    expect(read(cancelled)).toMatchObject({ membership_active: 0, contract_active: 0, membership_days: 0 });
    const late = run([track('Membership Started', T0 + 35 * DAY)], cloneState(cancelled));
    expect(read(late)['membership_active']).toBe(0);
    const again = run([track('Membership Started', T0 + 50 * DAY)], cloneState(cancelled));
    expect(read(again, { asOf: T0 + 60 * DAY })).toMatchObject({ membership_active: 1, contract_active: 0, membership_days: 10 });
    const s = createIndicatorState();
    expect(read(s, { traits: { contract: true, acquisition_channel: 'Employer' } })).toMatchObject({
      contract_active: 1,
      acquired_via_partner: 1,
    });
    expect(read(s, { traits: { acquisition_channel: 'search' } })['acquired_via_partner']).toBe(0);
  });
});

describe('encoding', () => {
  it('round-trips and rejects malformed bytes with a stable code', () => {
    const s = run([track('Order Completed', T0, { revenue: 3 }), track('Email Opened', T0 + DAY)]);
    const bytes = encodeState(s);
    expect(encodeState(decodeState(bytes))).toEqual(bytes);
    expect(read(decodeState(bytes))).toEqual(read(s));
    expect(() => decodeState(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'invalid_indicator_state' }));
    const wrongVersion = bytes.slice();
    wrongVersion[4] = 99;
    expect(() => decodeState(wrongVersion)).toThrow(/version 99/);
    expect(() => decodeState(bytes.subarray(0, bytes.length - 8))).toThrow(expect.objectContaining({ code: 'invalid_indicator_state' }));
  });

  it('released states are reused zeroed; releasing twice is a no-op', () => {
    const a = run([track('Order Completed', T0, { revenue: 9 })]);
    releaseIndicatorState(a);
    releaseIndicatorState(a);
    const b = createIndicatorState();
    const c = createIndicatorState();
    expect(b).toBe(a); // the released memory is handed out again...
    expect(c).not.toBe(b); // ...but only once
    expect(encodeState(b)).toEqual(encodeState(c));
    expect(read(b)['orders_total']).toBe(0);
    run([track('Order Completed', T0)], b);
    expect(read(c)['orders_total']).toBe(0);
  });

  it('clones are independent', () => {
    const a = run([track('Order Completed', T0)]);
    const b = cloneState(a);
    run([track('Order Completed', T0 + DAY)], b);
    expect(read(a)['orders_total']).toBe(1);
    expect(read(b)['orders_total']).toBe(2);
  });
});
