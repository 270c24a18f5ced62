import { describe, expect, it } from 'vitest';
import { BUILTIN_LENS_DIR, createLensRegistry } from '../../src/classify/lens-registry';
import { parseLens } from '../../src/domain/lens';
import { classify, compileLens, referenceProbabilities, typeChange, type LensState } from '../../src/domain/lens-classifier';
import { INDICATOR_CATALOGUE } from '../../src/domain/indicator-catalogue';
import { createRng } from '../../src/domain/random';
import { BASE, PROFILES } from './lens-profiles';

const registry = createLensRegistry({ builtinDir: BUILTIN_LENS_DIR });

const TWO = `lens: two
title: Two types
hysteresis: { margin: 0.08, confirmations: CONF }
types:
  a:
    label: A
    description: Leans on x.
    prior: 0.5
    conditions:
      - { indicator: frequency_90d, above: 5, softness: 2, weight: 2, note: buys a lot }
      - { indicator: cue_love, above: 0.5, weight: 1 }
    policy: {}
  b:
    label: B
    description: Does not.
    prior: 0.5
    conditions:
      - { indicator: frequency_90d, below: 5, softness: 2, weight: 2 }
      - { indicator: nps, below: 6, weight: 1.5 }
    policy: {}
`;
const two = (conf = 1) => compileLens(parseLens(TWO.replace('CONF', String(conf)), 'two.yaml'));

describe('classifier', () => {
  it('loads all four built-in lenses', () => {
    expect(registry.lastErrors()).toEqual([]);
    expect(registry.names()).toEqual(['canvas', 'fournier', 'lifecycle', 'swinscoe']);
  });

  for (const [lens, profiles] of Object.entries(PROFILES)) {
    it(`picks the obvious ${lens} type for hand-made profiles`, () => {
      const compiled = registry.get(lens);
      for (const [want, overrides, traits] of profiles) {
        const { classification } = classify(compiled, { indicators: { ...BASE, ...overrides }, traits: traits ?? {} }, undefined, 1000);
        expect({ profile: want, got: classification.type }).toEqual({ profile: want, got: want });
        const probs = Object.values(classification.probabilities);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        expect(classification.probability).toBe(classification.probabilities[want]);
      }
    });
  }

  it('classifies one old purchase with p_alive 0.05 as lapsed and one_night_stand, with evidence', () => {
    const indicators = { ...BASE, orders_total: 1, days_since_first_order: 400, recency_days: 400, tenure_days: 400, p_alive: 0.05, frequency_90d: 0 };
    const life = classify(registry.get('lifecycle'), { indicators, traits: {} }, undefined, 5).classification;
    expect(life.type).toBe('lapsed');
    expect(life.changed).toBe(true);
    expect(life.previousType).toBeNull();
    expect(life.since).toBe(5);
    const ev = life.evidence;
    expect(ev[0]).toMatchObject({ source: 'condition', indicator: 'p_alive', value: 0.05, op: 'below', threshold: 0.15, weight: 3 });
    expect(ev[0]!.membership).toBeGreaterThan(0.99);
    expect(ev.map((e) => e.indicator)).toContain('recency_days');
    for (let i = 1; i < ev.length; i++) expect(Math.abs(ev[i - 1]!.contribution)).toBeGreaterThanOrEqual(Math.abs(ev[i]!.contribution));
    const stage = classify(registry.get('swinscoe'), { indicators, traits: {} }, undefined).classification;
    expect(stage.type).toBe('one_night_stand');
    expect(stage.evidence.map((e) => e.indicator)).toContain('orders_total');
  });

  it('lists evidence against a type (negative weights) and for any other type', () => {
    const c = classify(registry.get('lifecycle'), { indicators: { ...BASE, heavy_user: 1, complaints_90d: 1 }, traits: {} }, undefined).classification;
    const established = c.evidenceFor('established', 10);
    expect(established.find((e) => e.indicator === 'heavy_user')!.contribution).toBeLessThan(0);
    expect(established.find((e) => e.indicator === 'complaints_90d')!.contribution).toBeLessThan(0);
    expect(c.evidenceFor('no_such_type')).toEqual([]);
    const json = JSON.parse(JSON.stringify(c)) as { type: string; probabilities: Record<string, number>; evidence: unknown[] };
    expect(json.type).toBe(c.type);
    expect(Object.keys(json.probabilities)).toHaveLength(5);
    expect(json.evidence.length).toBeGreaterThan(0);
  });

  it('treats missing indicators and -1 sentinels as no evidence', () => {
    const lens = two();
    const empty = classify(lens, { indicators: {}, traits: {} }, undefined).classification;
    expect(empty.probabilities.a).toBeCloseTo(0.5, 12);
    expect(empty.evidence).toEqual([]);
    const sentinel = classify(lens, { indicators: { nps: -1 }, traits: {} }, undefined).classification;
    expect(sentinel.probabilities.a).toBeCloseTo(0.5, 12);
    const nps = classify(lens, { indicators: { nps: 2 }, traits: {} }, undefined).classification;
    expect(nps.type).toBe('b');
    expect(nps.evidence[0]).toMatchObject({ indicator: 'nps', value: 2 });
  });

  it('matches trait conditions, including case-insensitive string equals', () => {
    const canvas = registry.get('canvas');
    const x = { ...BASE, dedicated_contact: 1 };
    const business = classify(canvas, { indicators: x, traits: { customer_type: 'BUSINESS' } }, undefined).classification;
    const consumer = classify(canvas, { indicators: x, traits: { customer_type: 'consumer' } }, undefined).classification;
    expect(business.probabilities.dedicated_personal_assistance!).toBeGreaterThan(consumer.probabilities.dedicated_personal_assistance!);
    expect(business.evidenceFor('dedicated_personal_assistance').find((e) => e.indicator === 'traits.customer_type')).toMatchObject({ value: 'BUSINESS', condition: 'equals business' });
  });

  it('the generated scorer computes exactly what the generic scorer computes', () => {
    const rng = createRng(77);
    for (const lens of registry.current()) {
      for (let n = 0; n < 300; n++) {
        const indicators: Record<string, number> = {};
        for (const s of INDICATOR_CATALOGUE) {
          const u = rng.next();
          // Missing, sentinel, exactly-at-threshold-ish and ordinary values.
          if (u < 0.1) continue;
          indicators[s.name] = u < 0.2 ? -1 : u < 0.3 ? Math.round(rng.next() * 4) / 2 : rng.next() * (s.unit === 'days' ? 1500 : s.unit.startsWith('ratio') ? 1 : 12);
        }
        const traits = { customer_type: rng.next() < 0.5 ? 'Business' : 'consumer', social_sharing: rng.next() < 0.5 };
        const input = { indicators, traits };
        const fast = classify(lens, input, undefined).classification;
        const ref = referenceProbabilities(lens, input);
        expect(lens.typeNames.map((t) => fast.probabilities[t])).toEqual(ref);
      }
    }
  });

  it('is deterministic', () => {
    const lens = registry.get('fournier');
    const input = { indicators: { ...BASE, cue_love: 1, tenure_days: 1000 }, traits: {} };
    const a = classify(lens, input, undefined, 1).classification.toJSON();
    const b = classify(lens, input, undefined, 1).classification.toJSON();
    expect(a).toEqual(b);
  });

  it('hysteresis keeps the type on borderline alternation', () => {
    const lens = two();
    // frequency 4.8 / 5.2 around the threshold: p(a) alternates within ±0.05 of 0.5.
    let state: LensState | undefined;
    const types: string[] = [];
    let changes = 0;
    for (let i = 0; i < 20; i++) {
      const { classification, state: next } = classify(lens, { indicators: { frequency_90d: i % 2 ? 5.2 : 4.8 }, traits: {} }, state, i);
      const p = classification.probabilities;
      expect(Math.abs(p.a! - p.b!)).toBeLessThan(0.08);
      types.push(classification.type);
      if (classification.changed) changes++;
      state = next;
    }
    expect(new Set(types).size).toBe(1);
    expect(changes).toBe(1); // only the first assignment
    // Without hysteresis the argmax flips every time.
    const flat = compileLens({ ...parseLens(TWO.replace('CONF', '1'), 'two.yaml'), hysteresis: { margin: 0, confirmations: 1 } });
    let s2: LensState | undefined;
    let flips = 0;
    for (let i = 0; i < 20; i++) {
      const out = classify(flat, { indicators: { frequency_90d: i % 2 ? 5.2 : 4.8 }, traits: {} }, s2, i);
      if (out.classification.changed && i > 0) flips++;
      s2 = out.state;
    }
    expect(flips).toBe(19);
  });

  it('switches when a challenger wins clearly, recording from, to and time', () => {
    const lens = two();
    const first = classify(lens, { indicators: { frequency_90d: 1 }, traits: {} }, undefined, 100);
    expect(first.state).toEqual({ type: 'b', since: 100 });
    const second = classify(lens, { indicators: { frequency_90d: 12 }, traits: {} }, first.state, 200);
    expect(second.classification).toMatchObject({ type: 'a', changed: true, previousType: 'b', since: 200 });
    expect(typeChange(second.classification, 200, 'msg-7')).toMatchObject({ lens: 'two', from: 'b', to: 'a', at: 200, eventId: 'msg-7' });
    const third = classify(lens, { indicators: { frequency_90d: 12 }, traits: {} }, second.state, 300);
    expect(third.classification.changed).toBe(false);
    expect(third.state).toBe(second.state); // unchanged state is reused, no new object
  });

  it('needs N consecutive wins when confirmations > 1', () => {
    const lens = two(3);
    let out = classify(lens, { indicators: { frequency_90d: 1 }, traits: {} }, undefined, 0);
    const seq = [12, 12, 1, 12, 12, 12];
    const seen: string[] = [];
    for (const [i, f] of seq.entries()) {
      out = classify(lens, { indicators: { frequency_90d: f }, traits: {} }, out.state, i + 1);
      seen.push(out.classification.type);
    }
    expect(seen).toEqual(['b', 'b', 'b', 'b', 'b', 'a']);
    expect(out.state).toEqual({ type: 'a', since: 6 });
    expect(JSON.parse(JSON.stringify(out.state))).toEqual(out.state);
  });

  it('reassigns when the previous type no longer exists in the edited lens', () => {
    const out = classify(two(), { indicators: { frequency_90d: 1 }, traits: {} }, { type: 'removed_type', since: 1 }, 9);
    expect(out.classification).toMatchObject({ type: 'b', changed: true, previousType: 'removed_type' });
  });
});
