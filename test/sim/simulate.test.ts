import { beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../src/sim/simulate';
import { CANVAS_TYPES, FOURNIER_TYPES, LIFECYCLE_TYPES, SWINSCOE_TYPES } from '../../src/sim/latent-model';
import { TEMPLATES } from '../../src/sim/templates';
import { VOCABULARY_EVENTS } from '../../src/domain/vocabulary';
import type { SegmentMessage, TruthRecord } from '../../src/sim/types';

const START = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

describe('simulate: determinism and shape', () => {
  const small = { customers: 150, days: 120, seed: 7, start: START };

  it('gives identical messages for the same seed and different ones for another seed', () => {
    const a = [...simulate(small).messages()];
    const b = [...simulate(small).messages()];
    const c = [...simulate({ ...small, seed: 8 }).messages()];
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    expect(c.map((m) => m.messageId)).not.toEqual(a.map((m) => m.messageId));
    expect(JSON.stringify(c.slice(0, 50))).not.toEqual(JSON.stringify(a.slice(0, 50)));
    // Iterating twice on one simulation restarts the same run.
    const sim = simulate(small);
    expect([...sim.messages()]).toEqual([...sim.messages()]);
    expect([...simulate(small).truth()]).toEqual([...simulate(small).truth()]);
  });

  it('emits valid, time-ordered Segment messages with unique ids', () => {
    const sim = simulate(small);
    const msgs = [...sim.messages()];
    const ids = new Set<string>();
    let last = -Infinity;
    for (const m of msgs) {
      expect(m.timestamp).toMatch(ISO);
      const t = Date.parse(m.timestamp);
      expect(new Date(t).toISOString()).toBe(m.timestamp);
      expect(t).toBeGreaterThanOrEqual(last);
      expect(t).toBeGreaterThanOrEqual(START);
      expect(t).toBeLessThan(sim.end);
      last = t;
      expect(ids.has(m.messageId)).toBe(false);
      ids.add(m.messageId);
      expect(Boolean(m.userId || m.anonymousId)).toBe(true);
      expect(typeof m.context.timezone).toBe('string');
      expect(typeof m.context.locale).toBe('string');
      expect(['identify', 'track', 'page', 'group', 'alias']).toContain(m.type);
      if (m.type === 'track') {
        expect(typeof m.event).toBe('string');
        expect(VOCABULARY_EVENTS.has(m.event as string)).toBe(true);
        expect(m.properties).toBeTypeOf('object');
      }
      if (m.type === 'alias') {
        expect(m.previousId).toMatch(/^anon-/);
        expect(m.userId).toBeTruthy();
      }
      if (m.type === 'group') expect(m.groupId).toBeTruthy();
      if (m.type === 'page') expect(m.name).toBeTruthy();
    }
  });

  it('fills the canonical properties of the vocabulary', () => {
    const msgs = [...simulate({ customers: 400, days: 200, seed: 3, start: START }).messages()];
    const byEvent = new Map<string, SegmentMessage[]>();
    for (const m of msgs) if (m.event) byEvent.set(m.event, [...(byEvent.get(m.event) ?? []), m]);
    for (const e of [
      'Order Completed', 'Order Refunded', 'Email Delivered', 'Email Opened', 'Email Link Clicked', 'Unsubscribed',
      'Support Ticket Created', 'Self Service Used', 'Complaint Filed', 'Survey Answered', 'Review Submitted',
      'Community Post Created', 'Idea Submitted', 'Referral Sent', 'Statement Captured', 'Membership Started',
      'Recommendation Clicked', 'Account Manager Assigned', 'Product Viewed',
    ]) {
      expect(byEvent.get(e)?.length ?? 0, e).toBeGreaterThan(0);
    }
    for (const m of byEvent.get('Order Completed') ?? []) {
      const p = m.properties as Record<string, unknown>;
      expect(typeof p.order_id).toBe('string');
      expect(typeof p.revenue).toBe('number');
      expect(typeof p.discount).toBe('number');
      const products = p.products as Record<string, unknown>[];
      expect(products.length).toBeGreaterThan(0);
      for (const pr of products) {
        expect(Object.keys(pr).sort()).toEqual(['category', 'price', 'product_id', 'quantity']);
      }
      if ((p.discount as number) > 0) expect(typeof p.coupon).toBe('string');
    }
    for (const e of ['Email Delivered', 'Email Opened', 'Unsubscribed']) {
      for (const m of byEvent.get(e) ?? []) expect(typeof (m.properties as Record<string, unknown>).promotional).toBe('boolean');
    }
    for (const m of byEvent.get('Support Ticket Created') ?? []) {
      const p = m.properties as Record<string, unknown>;
      expect(['phone', 'chat', 'email', 'in_store']).toContain(p.channel);
      expect(p.agent).toBe(true);
      expect(typeof p.text).toBe('string');
    }
    for (const m of byEvent.get('Statement Captured') ?? []) {
      const p = m.properties as Record<string, unknown>;
      expect(typeof p.text).toBe('string');
      expect((p.text as string).includes('{')).toBe(false);
      expect(['en', 'de']).toContain(p.lang);
      expect(typeof p.public).toBe('boolean');
    }
    for (const m of byEvent.get('Membership Started') ?? []) {
      expect(typeof (m.properties as Record<string, unknown>).contract).toBe('boolean');
    }
    const identifies = msgs.filter((m) => m.type === 'identify' && m.traits?.email);
    expect(identifies.length).toBeGreaterThan(0);
    for (const m of identifies) {
      const tr = m.traits as Record<string, unknown>;
      for (const k of ['name', 'first_name', 'country', 'language', 'timezone', 'acquisition_channel']) expect(tr[k], k).toBeDefined();
      expect(typeof tr.email_consent).toBe('boolean');
    }
    expect(identifies.some((m) => m.traits?.account_manager)).toBe(true);
    expect(identifies.some((m) => typeof m.traits?.share_of_wallet === 'number')).toBe(true);
    expect(identifies.some((m) => m.traits?.contract)).toBe(true);
  });

  it('starts some customers anonymous and resolves them by identify or alias', () => {
    const msgs = [...simulate({ customers: 300, days: 120, seed: 4, start: START }).messages()];
    const anonOnly = msgs.filter((m) => !m.userId && m.anonymousId);
    expect(anonOnly.length).toBeGreaterThan(0);
    expect(msgs.some((m) => m.type === 'identify' && m.userId && m.anonymousId)).toBe(true);
    const aliases = msgs.filter((m) => m.type === 'alias');
    expect(aliases.length).toBeGreaterThan(0);
    // Every anonymous id is later tied to a user id.
    const resolved = new Set<string>();
    for (const m of msgs) {
      if (m.type === 'alias' && m.previousId) resolved.add(m.previousId);
      if (m.userId && m.anonymousId) resolved.add(m.anonymousId);
    }
    for (const m of anonOnly) expect(resolved.has(m.anonymousId as string)).toBe(true);
  });
});

describe('simulate: latent model leaves sensible traces', () => {
  let truth: TruthRecord[];
  const orders = new Map<string, number[]>();
  const agentTickets = new Map<string, number>();
  const loveCues = new Map<string, number>();
  const statements = new Map<string, number>();
  const lang = new Map<string, Set<string>>();
  const surveys = new Map<string, Record<string, string>>();
  let end = 0;
  const loveTexts = new Set<string>();

  beforeAll(() => {
    const sim = simulate({ customers: 2000, days: 365, seed: 21, start: START });
    end = sim.end;
    // Love cues: statements whose wording starts like a love template (slots stripped).
    for (const l of ['en', 'de'] as const) for (const t of TEMPLATES[l].love) loveTexts.add(t.split('{')[0] as string);
    for (const m of sim.messages()) {
      const id = m.userId;
      if (!id) continue;
      const p = (m.properties ?? {}) as Record<string, unknown>;
      if (m.event === 'Order Completed') orders.set(id, [...(orders.get(id) ?? []), Date.parse(m.timestamp)]);
      if (m.event === 'Support Ticket Created') agentTickets.set(id, (agentTickets.get(id) ?? 0) + 1);
      if (m.event === 'Statement Captured') {
        statements.set(id, (statements.get(id) ?? 0) + 1);
        const text = p.text as string;
        if ([...loveTexts].some((prefix) => prefix.length > 3 && text.startsWith(prefix))) loveCues.set(id, (loveCues.get(id) ?? 0) + 1);
        lang.set(id, (lang.get(id) ?? new Set()).add(p.lang as string));
      }
      if (m.event === 'Survey Answered' && p.lens) surveys.set(id, { ...(surveys.get(id) ?? {}), [p.lens as string]: p.relationship as string });
    }
    truth = [...sim.truth()];
  });

  const where = (f: (t: TruthRecord) => boolean) => truth.filter(f).map((t) => t.customerId);

  it('has one truth record per customer with valid types', () => {
    expect(truth).toHaveLength(2000);
    expect(new Set(truth.map((t) => t.customerId)).size).toBe(2000);
    for (const t of truth) {
      expect(FOURNIER_TYPES).toContain(t.fournier);
      expect(SWINSCOE_TYPES).toContain(t.swinscoe);
      expect(CANVAS_TYPES).toContain(t.canvas);
      expect(LIFECYCLE_TYPES).toContain(t.lifecycle);
      expect(orders.get(t.customerId)?.length ?? 0).toBeGreaterThan(0);
    }
    // Every type of every lens occurs.
    for (const [lens, types] of [['fournier', FOURNIER_TYPES], ['swinscoe', SWINSCOE_TYPES], ['canvas', CANVAS_TYPES], ['lifecycle', LIFECYCLE_TYPES]] as const) {
      const seen = new Set(truth.map((t) => t[lens]));
      for (const ty of types) expect(seen.has(ty), `${lens}.${ty}`).toBe(true);
    }
  });

  it('one-night stands buy exactly once', () => {
    const ons = where((t) => t.swinscoe === 'one_night_stand' && t.changes.length === 0);
    expect(ons.length).toBeGreaterThan(30);
    for (const id of ons) expect(orders.get(id)).toHaveLength(1);
  });

  it('committed partners stay longer and speak of love more than flings', () => {
    const tenure = (id: string) => {
      const o = orders.get(id) ?? [];
      return o.length ? ((o[o.length - 1] as number) - (o[0] as number)) / DAY : 0;
    };
    const partners = where((t) => t.fournier === 'committed_partnership' && t.changes.length === 0);
    const flings = where((t) => t.fournier === 'fling' && t.changes.length === 0);
    expect(partners.length).toBeGreaterThan(50);
    expect(flings.length).toBeGreaterThan(50);
    expect(mean(partners.map(tenure))).toBeGreaterThan(3 * mean(flings.map(tenure)));
    const loveShare = (ids: string[]) => mean(ids.map((id) => (loveCues.get(id) ?? 0) / Math.max(1, statements.get(id) ?? 0)));
    expect(loveShare(partners)).toBeGreaterThan(2 * loveShare(flings));
    expect(mean(partners.map((id) => orders.get(id)?.length ?? 0))).toBeGreaterThan(mean(flings.map((id) => orders.get(id)?.length ?? 0)));
  });

  it('self-service customers rarely talk to agents; personal-assistance customers do', () => {
    const self = where((t) => t.canvas === 'self_service' && t.changes.length === 0);
    const personal = where((t) => t.canvas === 'personal_assistance' && t.changes.length === 0);
    const avg = (ids: string[]) => mean(ids.map((id) => agentTickets.get(id) ?? 0));
    expect(avg(self)).toBeLessThan(1);
    expect(avg(personal)).toBeGreaterThan(5 * avg(self));
  });

  it('respects the German share and writes statements in the customer language', () => {
    const de = truth.filter((t) => t.language === 'de').length / truth.length;
    expect(de).toBeGreaterThan(0.16);
    expect(de).toBeLessThan(0.24);
    for (const t of truth) {
      const langs = lang.get(t.customerId);
      if (langs) expect([...langs]).toEqual([t.language]);
    }
  });

  it('labels a survey share with the truth, up to small label noise', () => {
    const share = surveys.size / truth.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    let agree = 0;
    let total = 0;
    for (const t of truth) {
      const s = surveys.get(t.customerId);
      if (!s) continue;
      expect(Object.keys(s).sort()).toEqual(['canvas', 'fournier', 'lifecycle', 'swinscoe']);
      for (const lens of ['fournier', 'swinscoe', 'canvas', 'lifecycle'] as const) {
        total++;
        if (s[lens] === t[lens]) agree++;
      }
    }
    expect(agree / total).toBeGreaterThan(0.9);
    expect(agree / total).toBeLessThan(0.99);
  });

  it('derives lifecycle stages that match the order history', () => {
    for (const t of truth) {
      const o = orders.get(t.customerId) ?? [];
      const silence = (end - (o[o.length - 1] as number)) / DAY;
      if (t.lifecycle === 'lapsed') expect(silence).toBeGreaterThan(120);
      if (t.lifecycle === 'new') expect((end - (o[0] as number)) / DAY).toBeLessThanOrEqual(60);
      if (t.lifecycle === 'established' || t.lifecycle === 'valued_heavy_user') expect(silence).toBeLessThanOrEqual(120);
    }
    const revenueRank = truth.filter((t) => t.lifecycle === 'valued_heavy_user').length / truth.length;
    expect(revenueRank).toBeGreaterThan(0.05);
    expect(revenueRank).toBeLessThan(0.25);
  });
});

describe('simulate: type changes and truth over time', () => {
  it('records changes inside the horizon and reports the types in force at time t', () => {
    const sim = simulate({ customers: 300, days: 200, seed: 5, start: START, typeChangeShare: 1 });
    const truth = [...sim.truth()];
    const changed = truth.filter((t) => t.changes.length > 0);
    expect(changed.length).toBeGreaterThan(150);
    for (const t of changed) {
      for (const c of t.changes) {
        expect(c.at).toBeGreaterThanOrEqual(START + 0.2 * 200 * DAY - 1);
        expect(c.at).toBeLessThanOrEqual(START + 0.8 * 200 * DAY);
        expect(c.from).not.toBe(c.to);
      }
      const lastChange = t.changes[t.changes.length - 1]!;
      expect(t[lastChange.lens]).toBe(lastChange.to);
    }
    // Before any change time, the record shows the original type.
    const early = new Map(sim.truthAt(START + 0.19 * 200 * DAY).map((t) => [t.customerId, t]));
    for (const t of changed) {
      const before = early.get(t.customerId);
      if (!before) continue; // not arrived yet
      expect(before.changes).toEqual([]);
      expect(before[t.changes[0]!.lens]).toBe(t.changes[0]!.from);
    }
    // Customers who have not arrived yet are left out.
    expect(sim.truthAt(START + DAY).length).toBeLessThan(truth.length);
  });

  it('honours type-mix overrides', () => {
    const sim = simulate({ customers: 400, days: 60, seed: 6, start: START, typeMix: { fournier: { fling: 0, enmity: 0 }, canvas: { self_service: 10 } } });
    const truth = [...sim.truth()];
    expect(truth.some((t) => t.fournier === 'fling')).toBe(false);
    expect(truth.filter((t) => t.canvas === 'self_service').length / truth.length).toBeGreaterThan(0.5);
  });

  it('respects a larger German share', () => {
    const truth = [...simulate({ customers: 600, days: 30, seed: 9, start: START, germanShare: 0.5 }).truth()];
    const de = truth.filter((t) => t.language === 'de').length / truth.length;
    expect(de).toBeGreaterThan(0.43);
    expect(de).toBeLessThan(0.57);
  });
});
