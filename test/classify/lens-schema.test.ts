import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_LENS_DIR } from '../../src/classify/lens-registry';
import { INDICATOR_NAMES } from '../../src/domain/indicator-catalogue';
import { formatLensError, parseLens, SENTINEL_INDICATORS, validateLensText, LensValidationError } from '../../src/domain/lens';

/** A small valid lens; tests break one thing at a time. */
const GOOD = `lens: demo
title: Demo
types:
  loyal:
    label: Loyal
    description: Buys often.
    prior: 0.3
    conditions:
      - indicator: recency_days
        below: 30
        weight: 2
      - { indicator: traits.plan, equals: gold, weight: 1 }
    policy:
      channels: [email]
      caps: { overall: { max: 2, per: 30d } }
  gone:
    label: Gone
    description: Stopped buying.
    prior: 0.7
    conditions:
      - { indicator: p_alive, below: 0.1, weight: 3, note: very likely gone }
    policy: {}
`;

function errorsOf(text: string, file = 'lenses/demo.yaml') {
  const v = validateLensText(text, file);
  expect(v.ok).toBe(false);
  return v.errors;
}

describe('lens schema', () => {
  it('accepts a valid lens and normalises priors, softness and policy defaults', () => {
    const lens = parseLens(GOOD, 'lenses/demo.yaml');
    expect(lens.types.map((t) => t.name)).toEqual(['loyal', 'gone']);
    expect(lens.types[0]!.prior).toBeCloseTo(0.3);
    expect(lens.types[0]!.conditions[0]).toMatchObject({ indicator: 'recency_days', op: 'below', threshold: 30, weight: 2, softness: 3 });
    expect(lens.types[0]!.conditions[1]).toMatchObject({ indicator: 'traits.plan', op: 'equals', equalsText: 'gold' });
    expect(lens.types[0]!.policy.caps.overall).toEqual({ max: 2, per: 30 * 86_400_000 });
    expect(lens.types[1]!.policy.tone).toBe('neutral');
    expect(lens.hysteresis).toEqual({ margin: 0.08, confirmations: 1 });
  });

  it('names a typo in an indicator with file:line:column and a suggestion', () => {
    const errors = errorsOf(GOOD.replace('indicator: recency_days', 'indicator: recency_dayz'));
    expect(errors).toHaveLength(1);
    expect(formatLensError(errors[0]!)).toBe("lenses/demo.yaml:9:20: unknown indicator 'recency_dayz' — did you mean 'recency_days'?");
    expect(errors[0]!.path).toBe('types.loyal.conditions[0].indicator');
  });

  it('reports a wrong value type (weight: "high") at the value, saying what to write', () => {
    const errors = errorsOf(GOOD.replace('weight: 2\n', 'weight: "high"\n'));
    expect(errors).toHaveLength(1);
    const e = errors[0]!;
    expect([e.line, e.column]).toEqual([11, 17]);
    expect(e.message).toContain("'types.loyal.conditions[0].weight' must be a number");
    expect(e.message).toContain('the string "high"');
    expect(e.message).toContain('weight: 1.5');
  });

  it('reports a bad indent as a YAML error at the offending key', () => {
    const bad = GOOD.replace('    description: Buys often.', '   description: Buys often.');
    const errors = errorsOf(bad);
    expect(errors[0]!.line).toBe(6);
    expect(errors[0]!.column).toBe(4);
    expect(errors[0]!.message).toMatch(/YAML syntax error \(BAD_INDENT\).*indent this key/);
  });

  it('suggests the right key for an unknown key and points at the key', () => {
    const errors = errorsOf(GOOD.replace('    prior: 0.3', '    prio: 0.3'));
    const unknown = errors.find((e) => e.message.includes("unknown key 'prio'"))!;
    expect(unknown.message).toContain("did you mean 'prior'?");
    expect([unknown.line, unknown.column]).toEqual([7, 5]);
    expect(errors.some((e) => e.message.includes("'types.loyal.prior' is missing"))).toBe(true);
  });

  it('checks comparisons, the lens name against the file name, intended types and string equals on numbers', () => {
    expect(errorsOf(GOOD.replace('below: 30', 'below: 30\n        above: 5'))[0]!.message).toContain('keep exactly one');
    expect(errorsOf(GOOD, 'lenses/other.yaml')[0]!.message).toContain("must equal the file name 'other'");
    expect(errorsOf(GOOD + 'intended: { loyall: 1 }\n')[0]!.message).toContain("did you mean 'loyal'?");
    expect(errorsOf(GOOD.replace('{ indicator: p_alive, below: 0.1', '{ indicator: p_alive, equals: high'))[0]!.message).toContain('equals needs a number');
    expect(errorsOf(GOOD.replace('per: 30d', 'per: 30 days'))[0]!.message).toContain("'types.loyal.policy.caps.overall.per' is malformed");
    expect(errorsOf(GOOD.replace('channels: [email]', 'channels: [fax]'))[0]!.message).toContain("must be one of 'email'");
  });

  it('collects several errors in line order and throws them together from parseLens', () => {
    const bad = GOOD.replace('recency_days', 'recency_dayz').replace('p_alive', 'p_alvie');
    try {
      parseLens(bad, 'lenses/demo.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LensValidationError);
      const e = err as LensValidationError;
      expect(e.code).toBe('invalid_lens');
      expect(e.errors.map((x) => x.line)).toEqual([9, 21]);
      expect(e.errors[1]!.message).toContain("did you mean 'p_alive'?");
    }
  });

  it('loads and validates every built-in lens with the expected types', () => {
    const expected: Record<string, number> = { fournier: 15, swinscoe: 6, canvas: 6, lifecycle: 5 };
    for (const [name, count] of Object.entries(expected)) {
      const file = join(BUILTIN_LENS_DIR, `${name}.yaml`);
      const v = validateLensText(readFileSync(file, 'utf8'), file);
      expect(v.errors.map(formatLensError)).toEqual([]);
      if (!v.ok) continue;
      expect(v.lens.types).toHaveLength(count);
      for (const t of v.lens.types) {
        expect(t.description.length).toBeGreaterThan(40);
        expect(t.conditions.length).toBeGreaterThan(1);
        expect(t.policy.treatment.length).toBeGreaterThan(10);
      }
      expect(v.lens.types.reduce((a, t) => a + t.prior, 0)).toBeCloseTo(1);
    }
  });

  it('uses the lifecycle indicators the guide posts call for', () => {
    const lens = parseLens(readFileSync(join(BUILTIN_LENS_DIR, 'lifecycle.yaml'), 'utf8'), 'lifecycle.yaml');
    const used = new Set(lens.types.flatMap((t) => t.conditions.map((c) => c.indicator)));
    for (const i of ['p_alive', 'heavy_user', 'days_since_first_order', 'orders_total', 'complaints_90d', 'cue_switching', 'sentiment_trend', 'recency_days']) {
      expect(used.has(i)).toBe(true);
    }
  });

  it('treats the catalogue -1 "unknown" indicators as sentinels', () => {
    for (const n of ['share_of_wallet', 'self_service_ratio', 'public_statement_share', 'best_send_hour', 'nps', 'p_alive', 'recency_days', 'heavy_user']) expect(SENTINEL_INDICATORS.has(n)).toBe(true);
    for (const n of ["sentiment_ewma", "sentiment_trend", "monetary_365d", "orders_total"]) expect(SENTINEL_INDICATORS.has(n)).toBe(false);
    for (const n of SENTINEL_INDICATORS) expect(INDICATOR_NAMES.has(n)).toBe(true);
  });
});
