import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTACT_POLICY, type ContactPolicy } from '../../src/domain/contact-policy';
import { afterQuietHours, checkContactPolicy, chooseSendTime, inQuietHours, localHourMinute } from '../../src/domain/playbook-policy';
import { hashChoose, newcombeDiff, revenueDiff, thompsonChoose, waldDiff, wilson } from '../../src/domain/playbook-stats';
import { signToken, verifyToken, verifyWebhookSignature, webhookSignature } from '../../src/automation/tokens';

const DAY = 86_400_000;
const policy = (p: Partial<ContactPolicy>): ContactPolicy => ({ ...DEFAULT_CONTACT_POLICY, ...p });

describe('quiet hours and send time in the customer time zone', () => {
  const t = Date.parse('2026-07-01T20:30:00Z'); // 22:30 in Berlin (CEST), 16:30 in New York
  it('reads local time and quiet ranges that wrap midnight', () => {
    expect(localHourMinute(t, 'Europe/Berlin')).toEqual({ hour: 22, minute: 30 });
    expect(localHourMinute(t, 'Not/AZone')).toEqual({ hour: 20, minute: 30 });
    const q = { start: '21:00', end: '08:00' };
    expect(inQuietHours(t, 'Europe/Berlin', q)).toBe(true);
    expect(inQuietHours(t, 'America/New_York', q)).toBe(false);
    expect(new Date(afterQuietHours(t, 'Europe/Berlin', q)).toISOString()).toBe('2026-07-02T06:00:00.000Z');
  });
  it('chooses the best engagement hour, else the fallback, never in quiet hours', () => {
    const p = policy({ send_time: { strategy: 'best_hour', fallback_hour: 10 }, quiet_hours: { start: '21:00', end: '08:00' } });
    expect(new Date(chooseSendTime(t, 'Europe/Berlin', p, 19)).toISOString()).toBe('2026-07-02T17:00:00.000Z');
    expect(new Date(chooseSendTime(t, 'Europe/Berlin', p, -1)).toISOString()).toBe('2026-07-02T08:00:00.000Z');
    expect(chooseSendTime(t, 'America/New_York', policy({ send_time: { strategy: 'immediate', fallback_hour: 10 }, quiet_hours: undefined }), 3)).toBe(t);
    // Best hour 23 lies in quiet hours: pushed to the end of the quiet range.
    expect(new Date(chooseSendTime(t, 'Europe/Berlin', p, 23)).toISOString()).toBe('2026-07-02T06:00:00.000Z');
  });
});

describe('frequency caps and selling share', () => {
  const now = 100 * DAY;
  it('blocks at the per-channel and overall caps and says when the cap frees up', () => {
    const p = policy({ channels: ['email', 'in_app'], caps: { email: { max: 1, per: 30 * DAY }, overall: { max: 2, per: 30 * DAY } } });
    expect(checkContactPolicy(p, 'email', false, now, [])).toBeNull();
    expect(checkContactPolicy(p, 'email', false, now, [{ channel: 'email', at: now - 10 * DAY, promotional: false }])).toEqual({ reason: 'cap_email', retryAt: now + 20 * DAY + 1 });
    const two = [
      { channel: 'email' as const, at: now - 40 * DAY, promotional: false },
      { channel: 'in_app' as const, at: now - 5 * DAY, promotional: false },
      { channel: 'in_app' as const, at: now - 2 * DAY, promotional: false },
    ];
    expect(checkContactPolicy(p, 'email', false, now, two)).toEqual({ reason: 'cap_overall', retryAt: now + 25 * DAY + 1 });
    expect(checkContactPolicy(p, 'webhook', false, now, [])?.reason).toBe('channel_not_allowed_webhook');
  });
  it('a one-night stand: one message a month; a partner: never selling in every message', () => {
    const ons = policy({ caps: { overall: { max: 1, per: 30 * DAY } } });
    expect(checkContactPolicy(ons, 'email', false, now, [{ channel: 'email', at: now - DAY, promotional: false }])?.reason).toBe('cap_overall');
    const partner = policy({ caps: { overall: { max: 8, per: 30 * DAY } }, max_selling_share: 0.5 });
    expect(checkContactPolicy(partner, 'email', true, now, [])?.reason).toBe('selling_share');
    expect(checkContactPolicy(partner, 'email', true, now, [{ channel: 'email', at: now - DAY, promotional: false }])).toBeNull();
    expect(checkContactPolicy(partner, 'email', true, now, [{ channel: 'email', at: now - DAY, promotional: true }, { channel: 'email', at: now - 2 * DAY, promotional: false }])?.reason).toBe('selling_share');
  });
});

describe('effectiveness statistics', () => {
  it('matches Newcombe (1998) worked examples', () => {
    const w = wilson(81, 263);
    expect(w.low).toBeCloseTo(0.2553, 4);
    expect(w.high).toBeCloseTo(0.3662, 4);
    const d = newcombeDiff(56, 70, 48, 80)!;
    expect(d.low).toBeCloseTo(0.0524, 4);
    expect(d.high).toBeCloseTo(0.3339, 4);
    const wd = waldDiff(56, 70, 48, 80)!;
    expect(wd.low).toBeCloseTo(0.0575, 3);
    expect(wd.high).toBeCloseTo(0.3425, 3);
    expect(newcombeDiff(1, 10, 0, 0)).toBeNull();
  });
  it('revenue per customer difference with a Welch normal interval', () => {
    // treated: 10, 20, 30; holdout: 0, 10, 20 -> diff 10, se = sqrt(100/3 + 100/3)
    const r = revenueDiff({ n: 3, sum: 60, sumSq: 1400 }, { n: 3, sum: 30, sumSq: 500 });
    expect(r.diff).toBe(10);
    const se = Math.sqrt(200 / 3);
    expect(r.ci!.low).toBeCloseTo(10 - 1.959964 * se, 4);
  });
  it('Thompson sampling is deterministic given the seed and prefers the better arm', () => {
    const arms = [
      { name: 'A', n: 1000, conversions: 50 },
      { name: 'B', n: 1000, conversions: 150 },
    ];
    expect(thompsonChoose(arms, 7, 'x')).toBe(thompsonChoose(arms, 7, 'x'));
    const picks = Array.from({ length: 200 }, (_, i) => thompsonChoose(arms, 7, `c${i}`));
    expect(picks.filter((p) => p === 'B').length).toBeGreaterThan(190);
    const split = Array.from({ length: 2000 }, (_, i) => hashChoose([{ name: 'A', weight: 1 }, { name: 'B', weight: 3 }], `k${i}`));
    expect(split.filter((x) => x === 'B').length / 2000).toBeGreaterThan(0.7);
  });
});

describe('signed tokens', () => {
  it('verify, expire, and refuse tampering or another kind', () => {
    const tok = signToken('s'.repeat(20), { k: 'c', a: 'a1', c: 'c1', u: 'https://x.test/', e: 1000 });
    expect(verifyToken('s'.repeat(20), tok, 'c', 999)).toMatchObject({ a: 'a1', u: 'https://x.test/' });
    expect(verifyToken('s'.repeat(20), tok, 'c', 1001)).toBeNull();
    expect(verifyToken('s'.repeat(20), tok, 'o', 999)).toBeNull();
    expect(verifyToken('t'.repeat(20), tok, 'c', 999)).toBeNull();
    const body = Buffer.from(JSON.stringify({ k: 'c', a: 'a1', c: 'c1', u: 'https://evil.test/', e: 1000 })).toString('base64url');
    expect(verifyToken('s'.repeat(20), `${body}.${tok.split('.')[1]}`, 'c', 999)).toBeNull();
  });
  it('webhook signatures verify with tolerance', () => {
    const h = webhookSignature('k'.repeat(20), 1000, '{"a":1}');
    expect(h).toMatch(/^t=1000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature('k'.repeat(20), h, '{"a":1}', 1100)).toBe(true);
    expect(verifyWebhookSignature('k'.repeat(20), h, '{"a":2}', 1100)).toBe(false);
    expect(verifyWebhookSignature('k'.repeat(20), h, '{"a":1}', 2000)).toBe(false);
  });
});
