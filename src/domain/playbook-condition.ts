import type { Condition } from './playbook';

/** What a condition can look at: the customer's traits, indicators and types per lens. */
export interface ConditionSubject {
  readonly traits: Record<string, unknown>;
  readonly indicators: Record<string, number>;
  readonly types: Record<string, string>;
}

function traitValue(traits: Record<string, unknown>, key: string): unknown {
  if (key in traits) return traits[key];
  // Dotted keys reach into nested traits (address.country).
  let cur: unknown = traits;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function compares(v: unknown, c: { lt?: number; lte?: number; gt?: number; gte?: number; eq?: unknown; ne?: unknown }): boolean {
  if (c.eq !== undefined && v !== c.eq) return false;
  if (c.ne !== undefined && v === c.ne) return false;
  const numeric = c.lt !== undefined || c.lte !== undefined || c.gt !== undefined || c.gte !== undefined;
  if (!numeric) return true;
  if (typeof v !== 'number' || Number.isNaN(v)) return false;
  if (c.lt !== undefined && !(v < c.lt)) return false;
  if (c.lte !== undefined && !(v <= c.lte)) return false;
  if (c.gt !== undefined && !(v > c.gt)) return false;
  if (c.gte !== undefined && !(v >= c.gte)) return false;
  return true;
}

/**
 * Evaluates a condition. Missing indicators are unknown and fail numeric comparisons; a missing
 * type fails `is`/`in` and passes `not_in`. Pure.
 */
export function evaluateCondition(c: Condition, s: ConditionSubject): boolean {
  if ('all' in c) return c.all.every((x) => evaluateCondition(x, s));
  if ('any' in c) return c.any.some((x) => evaluateCondition(x, s));
  if ('not' in c) return !evaluateCondition(c.not, s);
  if ('indicator' in c) {
    const name = c.indicator.startsWith('traits.') ? null : c.indicator;
    const v = name === null ? traitValue(s.traits, c.indicator.slice(7)) : s.indicators[name];
    return compares(v, c);
  }
  if ('trait' in c) {
    const v = traitValue(s.traits, c.trait.replace(/^traits\./, ''));
    if (c.exists !== undefined && (v !== undefined && v !== null) !== c.exists) return false;
    if (c.in !== undefined && !c.in.includes(v as string | number)) return false;
    return compares(v, c);
  }
  const t = s.types[c.lens];
  if (c.is !== undefined && t !== c.is) return false;
  if (c.in !== undefined && (t === undefined || !c.in.includes(t))) return false;
  if (c.not_in !== undefined && t !== undefined && c.not_in.includes(t)) return false;
  return true;
}
