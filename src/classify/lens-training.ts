import { ValidationError } from '../domain/errors';
import { INDICATOR_CATALOGUE, type Indicators } from '../domain/indicator-catalogue';
import { suggest, type LensDefinition } from '../domain/lens';
import { featureSpec, featureValue, type FeatureSpec, type LearnedLensModel } from '../domain/lens-learned';
import { evaluate, stratifiedFolds, type EvaluationReport } from './evaluation';

/**
 * Learning from labels: a multinomial logistic regression (softmax, L2 on the weights, not the
 * intercepts) on standardised indicator features, fitted with deterministic full-batch L-BFGS.
 * Customers' self-reported relationship types are the labels; k-fold CV reports how well the
 * model recovers them before the final fit on all rows.
 */

/** One labelled customer. */
export interface LabelledRow {
  readonly indicators: Indicators;
  readonly traits: Readonly<Record<string, unknown>>;
  readonly label: string;
}

/** Training options. */
export interface TrainOptions {
  /** Folds for cross-validation (default 5; at least 2). */
  readonly folds?: number;
  readonly seed?: number;
  /** L2 penalty on standardised weights (default 0.01). */
  readonly l2?: number;
  /** Maximum L-BFGS iterations (default 200). */
  readonly iterations?: number;
  /** Creation time stamped into the model (injected; no wall clock here). */
  readonly createdAt: number;
  /** Also use catalogue indicators the lens does not reference, when they vary (default true). */
  readonly allIndicators?: boolean;
  /** Called after each fit: (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A fitted softmax regression on standardised features. */
export interface SoftmaxFit {
  /** K x F weights, row-major. */
  readonly weights: Float64Array;
  readonly intercepts: Float64Array;
  readonly iterations: number;
  readonly loss: number;
}

/** Indicators the relationship survey sets; used only when a lens names them in a condition. */
const SURVEY_INDICATORS: ReadonlySet<string> = new Set(['nps', 'survey_responses']);

/**
 * The features a model for `lens` uses: indicators and traits the lens references, plus (unless
 * disabled) every catalogue indicator that varies across `rows`. Features with no variance are dropped.
 */
export function selectFeatures(lens: LensDefinition, rows: readonly Pick<LabelledRow, 'indicators' | 'traits'>[], allIndicators = true): FeatureSpec[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (n: string) => {
    if (!seen.has(n)) {
      seen.add(n);
      names.push(n);
    }
  };
  for (const t of lens.types) {
    for (const c of t.conditions) add(c.equalsText !== undefined ? `${c.indicator}=${c.equalsText}` : c.indicator);
  }
  // The labelling survey itself sets these for labelled customers only: learning them would learn who answered.
  if (allIndicators) for (const s of INDICATOR_CATALOGUE) if (!SURVEY_INDICATORS.has(s.name)) add(s.name);
  return names.map(featureSpec).filter((spec) => {
    let first = Number.NaN;
    for (const r of rows) {
      const v = featureValue(spec, r.indicators, r.traits);
      if (v !== v) continue;
      if (first !== first) first = v;
      else if (Math.abs(v - first) > 1e-12) return true;
    }
    return false;
  });
}

/** Transformed feature matrix (n x F, NaN = missing). */
function rawMatrix(rows: readonly Pick<LabelledRow, 'indicators' | 'traits'>[], features: readonly FeatureSpec[]): Float64Array {
  const F = features.length;
  const X = new Float64Array(rows.length * F);
  rows.forEach((r, i) => features.forEach((spec, f) => (X[i * F + f] = featureValue(spec, r.indicators, r.traits))));
  return X;
}

/** Mean and standard deviation per feature over the non-missing values of `idx` rows. */
function moments(raw: Float64Array, F: number, idx: readonly number[]): { means: Float64Array; sds: Float64Array } {
  const means = new Float64Array(F);
  const sds = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    let n = 0;
    let s = 0;
    for (const i of idx) {
      const v = raw[i * F + f]!;
      if (v === v) {
        n++;
        s += v;
      }
    }
    const m = n ? s / n : 0;
    let ss = 0;
    for (const i of idx) {
      const v = raw[i * F + f]!;
      if (v === v) ss += (v - m) * (v - m);
    }
    means[f] = m;
    sds[f] = n > 1 ? Math.sqrt(ss / n) : 0;
  }
  return { means, sds };
}

/** Standardised design matrix for the `idx` rows; missing values become 0 (the mean). */
function standardise(raw: Float64Array, F: number, idx: readonly number[], means: Float64Array, sds: Float64Array): Float64Array {
  const X = new Float64Array(idx.length * F);
  idx.forEach((i, r) => {
    for (let f = 0; f < F; f++) {
      const v = raw[i * F + f]!;
      const sd = sds[f]!;
      X[r * F + f] = v === v && sd > 0 ? (v - means[f]!) / sd : 0;
    }
  });
  return X;
}

/** Loss and gradient of the L2-penalised mean negative log-likelihood. θ layout per class: [b, w_0..w_F-1]. */
function lossAndGradient(theta: Float64Array, X: Float64Array, y: Int32Array, n: number, F: number, K: number, l2: number, grad: Float64Array): number {
  grad.fill(0);
  const D = F + 1;
  const z = new Float64Array(K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const off = i * F;
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let a = theta[k * D]!;
      const wk = k * D + 1;
      for (let f = 0; f < F; f++) a += theta[wk + f]! * X[off + f]!;
      z[k] = a;
      if (a > max) max = a;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(z[k]! - max);
      z[k] = e;
      sum += e;
    }
    const yi = y[i]!;
    loss -= Math.log(Math.max(z[yi]! / sum, 1e-300));
    for (let k = 0; k < K; k++) {
      const r = z[k]! / sum - (k === yi ? 1 : 0);
      if (r === 0) continue;
      grad[k * D] = grad[k * D]! + r;
      const wk = k * D + 1;
      for (let f = 0; f < F; f++) grad[wk + f] = grad[wk + f]! + r * X[off + f]!;
    }
  }
  const inv = 1 / Math.max(1, n);
  loss *= inv;
  for (let j = 0; j < grad.length; j++) grad[j] = grad[j]! * inv;
  for (let k = 0; k < K; k++) {
    for (let f = 0; f < F; f++) {
      const j = k * D + 1 + f;
      loss += 0.5 * l2 * theta[j]! * theta[j]!;
      grad[j] = grad[j]! + l2 * theta[j]!;
    }
  }
  return loss;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Fits a softmax regression with L-BFGS (memory 10, Armijo backtracking). Deterministic. */
export function fitSoftmax(X: Float64Array, y: Int32Array, n: number, F: number, K: number, opts: { l2: number; iterations: number }): SoftmaxFit {
  const P = K * (F + 1);
  let theta = new Float64Array(P);
  let g = new Float64Array(P);
  let loss = lossAndGradient(theta, X, y, n, F, K, opts.l2, g);
  const m = 10;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let iter = 0;
  const gNew = new Float64Array(P);
  for (; iter < opts.iterations; iter++) {
    if (Math.sqrt(dot(g, g)) < 1e-6) break;
    // Two-loop recursion: d = -H g.
    const q = Float64Array.from(g);
    const alpha: number[] = [];
    for (let j = S.length - 1; j >= 0; j--) {
      const a = rho[j]! * dot(S[j]!, q);
      alpha[j] = a;
      const yj = Y[j]!;
      for (let t = 0; t < P; t++) q[t] = q[t]! - a * yj[t]!;
    }
    const gamma = S.length ? dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let t = 0; t < P; t++) q[t] = q[t]! * gamma;
    for (let j = 0; j < S.length; j++) {
      const b = rho[j]! * dot(Y[j]!, q);
      const sj = S[j]!;
      for (let t = 0; t < P; t++) q[t] = q[t]! + sj[t]! * (alpha[j]! - b);
    }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction: restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let t = 0; t < P; t++) d[t] = -g[t]!;
      slope = dot(g, d);
    }
    let step = 1;
    let next = new Float64Array(P);
    let nextLoss = Infinity;
    for (let ls = 0; ls < 30; ls++) {
      for (let t = 0; t < P; t++) next[t] = theta[t]! + step * d[t]!;
      nextLoss = lossAndGradient(next, X, y, n, F, K, opts.l2, gNew);
      if (nextLoss <= loss + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(nextLoss < loss)) break;
    const s = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let t = 0; t < P; t++) {
      s[t] = next[t]! - theta[t]!;
      yv[t] = gNew[t]! - g[t]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
      if (S.length > m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    const improvement = loss - nextLoss;
    theta = next;
    next = new Float64Array(P);
    g = Float64Array.from(gNew);
    loss = nextLoss;
    if (improvement < 1e-10 * Math.max(1, Math.abs(loss))) {
      iter++;
      break;
    }
  }
  const D = F + 1;
  const weights = new Float64Array(K * F);
  const intercepts = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    intercepts[k] = theta[k * D]!;
    for (let f = 0; f < F; f++) weights[k * F + f] = theta[k * D + 1 + f]!;
  }
  return { weights, intercepts, iterations: iter, loss };
}

function argmaxRow(fit: SoftmaxFit, X: Float64Array, r: number, F: number, K: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let k = 0; k < K; k++) {
    let a = fit.intercepts[k]!;
    for (let f = 0; f < F; f++) a += fit.weights[k * F + f]! * X[r * F + f]!;
    if (a > bestV) {
      bestV = a;
      best = k;
    }
  }
  return best;
}

/** Rejects labels that are not types of the lens, naming the closest type. */
export function checkLabels(lens: LensDefinition, labels: readonly string[]): void {
  const types = lens.types.map((t) => t.name);
  const known = new Set(types);
  const bad = new Map<string, number>();
  for (const l of labels) if (!known.has(l)) bad.set(l, (bad.get(l) ?? 0) + 1);
  if (bad.size === 0) return;
  const list = [...bad].map(([l, n]) => {
    const hint = suggest(l, types);
    return `'${l}' (${n}x)${hint ? ` — did you mean '${hint}'?` : ''}`;
  });
  throw new ValidationError(`labels that are not types of lens '${lens.lens}': ${list.join(', ')}; types are ${types.join(', ')}`, { unknown: [...bad.keys()] }, 'invalid_labels');
}

/**
 * Trains a model for `lens` from labelled rows: k-fold CV report, then the final fit on all rows.
 * The result has no version yet (the model store assigns it).
 */
export function trainLensModel(lens: LensDefinition, rows: readonly LabelledRow[], opts: TrainOptions): Omit<LearnedLensModel, 'version'> {
  checkLabels(lens, rows.map((r) => r.label));
  const present = new Set(rows.map((r) => r.label));
  const labels = lens.types.map((t) => t.name).filter((t) => present.has(t));
  if (labels.length < 2) throw new ValidationError(`need labelled customers of at least two types of lens '${lens.lens}', got ${labels.length}`, undefined, 'invalid_labels');
  const folds = Math.max(2, Math.min(opts.folds ?? 5, rows.length));
  const l2 = opts.l2 ?? 0.01;
  const iterations = opts.iterations ?? 200;
  const seed = opts.seed ?? 1;
  const features = selectFeatures(lens, rows, opts.allIndicators ?? true);
  const F = features.length;
  const K = labels.length;
  const index = new Map(labels.map((l, i) => [l, i]));
  const y = Int32Array.from(rows, (r) => index.get(r.label)!);
  const raw = rawMatrix(rows, features);
  const truth = rows.map((r) => r.label);
  const predicted = new Array<string>(rows.length);
  const split = stratifiedFolds(truth, folds, seed);
  const total = folds + 1;
  split.forEach((test, fi) => {
    const inTest = new Set(test);
    const train = rows.map((_, i) => i).filter((i) => !inTest.has(i));
    const { means, sds } = moments(raw, F, train);
    const Xtr = standardise(raw, F, train, means, sds);
    const fit = fitSoftmax(Xtr, Int32Array.from(train, (i) => y[i]!), train.length, F, K, { l2, iterations });
    const Xte = standardise(raw, F, test, means, sds);
    test.forEach((i, r) => (predicted[i] = labels[argmaxRow(fit, Xte, r, F, K)]!));
    opts.onProgress?.(fi + 1, total);
  });
  const cv: EvaluationReport = evaluate(truth, predicted, labels);
  const all = rows.map((_, i) => i);
  const { means, sds } = moments(raw, F, all);
  const fit = fitSoftmax(standardise(raw, F, all, means, sds), y, rows.length, F, K, { l2, iterations });
  opts.onProgress?.(total, total);
  const classCounts: Record<string, number> = {};
  for (const l of truth) classCounts[l] = (classCounts[l] ?? 0) + 1;
  const round = (v: number) => Math.round(v * 1e8) / 1e8;
  return {
    format: 'rapport.lens-model/1',
    lens: lens.lens,
    createdAt: opts.createdAt,
    labels,
    features,
    means: [...means].map(round),
    sds: [...sds].map(round),
    weights: labels.map((_, k) => [...fit.weights.subarray(k * F, (k + 1) * F)].map(round)),
    intercepts: [...fit.intercepts].map(round),
    l2,
    iterations: fit.iterations,
    trainingSize: rows.length,
    classCounts,
    cv,
    folds,
  };
}

/** One weight in a model explanation. */
export interface WeightExplanation {
  readonly feature: string;
  readonly weight: number;
}

/** The strongest positive and negative weights per type: what the model learned. */
export function explainModel(model: LearnedLensModel | Omit<LearnedLensModel, 'version'>, topN = 5): { type: string; positive: WeightExplanation[]; negative: WeightExplanation[] }[] {
  return model.labels.map((type, k) => {
    const ws = model.features.map((f, j) => ({ feature: f.name, weight: model.weights[k]![j]! }));
    const positive = ws.filter((w) => w.weight > 0).sort((a, b) => b.weight - a.weight || a.feature.localeCompare(b.feature)).slice(0, topN);
    const negative = ws.filter((w) => w.weight < 0).sort((a, b) => a.weight - b.weight || a.feature.localeCompare(b.feature)).slice(0, topN);
    return { type, positive, negative };
  });
}

/** Class probabilities of a model alone (without the YAML part), by label. */
export function predictWithModel(model: Omit<LearnedLensModel, 'version'>, indicators: Indicators, traits: Readonly<Record<string, unknown>>): Record<string, number> {
  const z = model.features.map((spec, f) => {
    const v = featureValue(spec, indicators, traits);
    const sd = model.sds[f]!;
    return v === v && sd > 0 ? (v - model.means[f]!) / sd : 0;
  });
  const logits = model.labels.map((_, k) => model.intercepts[k]! + z.reduce((a, zf, f) => a + model.weights[k]![f]! * zf, 0));
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const s = e.reduce((a, b) => a + b, 0);
  return Object.fromEntries(model.labels.map((l, k) => [l, e[k]! / s]));
}
