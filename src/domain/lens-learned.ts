import { INDICATOR_CATALOGUE } from './indicator-catalogue';
import type { EvaluationReport } from '../classify/evaluation';
import { SENTINEL_INDICATORS } from './lens';

/**
 * Learned lens models: a multinomial logistic regression on standardised indicator features,
 * trained from customers' self-reported relationship (src/classify/lens-training.ts) and blended
 * with the YAML logits at classification. The feature transform lives here so training and
 * scoring can never disagree.
 */

/** One model feature: an indicator, a numeric trait, or a trait equality (`traits.plan=gold`). */
export interface FeatureSpec {
  readonly name: string;
  /** log1p before standardising (counts, days, currency). */
  readonly log: boolean;
}

/** A trained model as saved under `<data>/models/lenses/<lens>/v<N>.json`. */
export interface LearnedLensModel {
  readonly format: 'rapport.lens-model/1';
  readonly lens: string;
  readonly version: number;
  /** Epoch ms, injected by the caller. */
  readonly createdAt: number;
  /** Type names, in the row order of `weights`. */
  readonly labels: readonly string[];
  readonly features: readonly FeatureSpec[];
  readonly means: readonly number[];
  readonly sds: readonly number[];
  /** weights[k][f]: effect of one standard deviation of feature f on the logit of labels[k]. */
  readonly weights: readonly (readonly number[])[];
  readonly intercepts: readonly number[];
  readonly l2: number;
  readonly iterations: number;
  readonly trainingSize: number;
  readonly classCounts: Readonly<Record<string, number>>;
  /** k-fold cross-validation report. */
  readonly cv: EvaluationReport;
  readonly folds: number;
}

const LOG_UNITS = new Set([
  'orders',
  'currency',
  'days',
  'contacts',
  'complaints',
  'uses',
  'posts',
  'reviews',
  'ideas',
  'referrals',
  'emails',
  'interactions',
  'statements',
  'weighted count',
  'answers',
  'categories',
]);

/** Catalogue indicators that get a log1p transform (heavy-tailed counts, days, money). */
export const LOG_INDICATORS: ReadonlySet<string> = new Set(INDICATOR_CATALOGUE.filter((s) => LOG_UNITS.has(s.unit)).map((s) => s.name));

/** Feature spec for an indicator or trait name, with the catalogue's transform. */
export function featureSpec(name: string): FeatureSpec {
  return { name, log: LOG_INDICATORS.has(name) };
}

/** Reads a trait as a number: numbers, booleans and numeric strings; NaN otherwise. */
export function traitNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  return Number.NaN;
}

/** Reads one indicator value: NaN when absent, non-finite, or the catalogue's -1 "unknown" sentinel. */
export function indicatorValue(name: string, indicators: Readonly<Record<string, number>>): number {
  const v = indicators[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) return Number.NaN;
  if (v < 0 && SENTINEL_INDICATORS.has(name)) return Number.NaN;
  return v;
}

/** The transformed (not yet standardised) value of a feature; NaN when missing. */
export function featureValue(spec: FeatureSpec, indicators: Readonly<Record<string, number>>, traits: Readonly<Record<string, unknown>>): number {
  let v: number;
  if (spec.name.startsWith('traits.')) {
    const eq = spec.name.indexOf('=');
    if (eq > 0) {
      const t = traits[spec.name.slice(7, eq)];
      if (t === undefined || t === null) return 0;
      return String(t).toLowerCase() === spec.name.slice(eq + 1) ? 1 : 0;
    }
    v = traitNumber(traits[spec.name.slice(7)]);
  } else v = indicatorValue(spec.name, indicators);
  if (spec.log && v === v) return Math.log1p(v > 0 ? v : 0);
  return v;
}
