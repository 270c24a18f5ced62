import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { evaluate, stratifiedFolds, type EvaluationReport } from '../../classify/evaluation';
import { ValidationError } from '../../domain/errors';
import { wordsForModel } from './text-tokens';

/** Learning algorithm of a statement model. */
export type StatementAlgorithm = 'logreg' | 'nb';

/** Training options. Defaults are what `rapport train-statements` uses. */
export interface StatementTrainOptions {
  /** `logreg` (multinomial logistic regression, default) or `nb` (complement naive Bayes). */
  readonly algorithm?: StatementAlgorithm;
  /** Add character 3-5-grams inside words (helps German compounds and inflection). Default true. */
  readonly charNgrams?: boolean;
  /** Full-batch gradient-descent iterations for logreg. Default 120 (converged on the fixture; more changes macro-F1 by < 0.01). */
  readonly iterations?: number;
  /** L2 penalty for logreg (on the mean loss). Default 1e-4. */
  readonly l2?: number;
  /** Additive smoothing for naive Bayes. Default 0.3. */
  readonly alpha?: number;
}

/** The saved model format (`<data>/models/statements/<timestamp>.json`). */
export interface StatementModelJson {
  readonly version: 1;
  /** ISO time, from the injected clock. */
  readonly createdAt: string;
  readonly algorithm: StatementAlgorithm;
  readonly labels: string[];
  /** Feature keys: `w:word`, `b:word word`, `c:<n-gram>`; index = column of `weights`. */
  readonly vocabulary: string[];
  readonly idf: number[];
  /** weights[label][feature]. */
  readonly weights: number[][];
  readonly bias: number[];
  readonly options: { readonly charNgrams: boolean };
  /** Cross-validation report of the training run, or null when none was run. */
  readonly cv: EvaluationReport | null;
  /** Number of training statements. */
  readonly n: number;
}

/** A prediction: best label and the probability of every label. */
export interface StatementPrediction {
  readonly label: string;
  readonly probabilities: Record<string, number>;
}

/** A usable model. */
export interface StatementModel {
  readonly json: StatementModelJson;
  predict(text: string): StatementPrediction;
}

/** Where statement models live inside a data directory. */
export function statementModelDir(dataDir: string): string {
  return join(dataDir, 'models', 'statements');
}

/** Raw feature keys with counts for one text. */
function featureCounts(text: string, charNgrams: boolean): Map<string, number> {
  const words = wordsForModel(text);
  const counts = new Map<string, number>();
  const add = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    add(`w:${w}`);
    if (i + 1 < words.length) add(`b:${w} ${words[i + 1]}`);
    if (charNgrams && w.length >= 3) {
      const padded = `^${w}$`;
      for (let n = 3; n <= 5; n++) for (let k = 0; k + n <= padded.length; k++) add(`c:${padded.slice(k, k + n)}`);
    }
  }
  return counts;
}

interface SparseRow {
  idx: number[];
  val: number[];
}

/** TF-IDF (sublinear tf, smooth idf), L2-normalised, over a fixed vocabulary. */
function vectorize(counts: Map<string, number>, index: ReadonlyMap<string, number>, idf: readonly number[]): SparseRow {
  const idx: number[] = [];
  const val: number[] = [];
  let norm = 0;
  for (const [k, c] of counts) {
    const j = index.get(k);
    if (j === undefined) continue;
    const v = (1 + Math.log(c)) * idf[j]!;
    idx.push(j);
    val.push(v);
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < val.length; i++) val[i]! /= norm;
  return { idx, val };
}

function softmaxInPlace(z: number[]): void {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    z[i] = Math.exp(z[i]! - max);
    sum += z[i]!;
  }
  for (let i = 0; i < z.length; i++) z[i]! /= sum;
}

function scores(row: SparseRow, weights: readonly number[][], bias: readonly number[]): number[] {
  const z = bias.slice();
  for (let c = 0; c < weights.length; c++) {
    const w = weights[c]!;
    let s = z[c]!;
    for (let i = 0; i < row.idx.length; i++) s += w[row.idx[i]!]! * row.val[i]!;
    z[c] = s;
  }
  return z;
}

/** Multinomial logistic regression, full-batch gradient descent with momentum: deterministic. */
function trainLogreg(rows: SparseRow[], y: number[], k: number, v: number, iterations: number, l2: number) {
  const n = rows.length;
  const weights = Array.from({ length: k }, () => new Array<number>(v).fill(0));
  const bias = new Array<number>(k).fill(0);
  const velW = Array.from({ length: k }, () => new Float64Array(v));
  const velB = new Float64Array(k);
  const grad = Array.from({ length: k }, () => new Float64Array(v));
  const gradB = new Float64Array(k);
  const lr = 2;
  const momentum = 0.9;
  for (let it = 0; it < iterations; it++) {
    for (const g of grad) g.fill(0);
    gradB.fill(0);
    for (let r = 0; r < n; r++) {
      const row = rows[r]!;
      const p = scores(row, weights, bias);
      softmaxInPlace(p);
      for (let c = 0; c < k; c++) {
        const d = (p[c]! - (y[r] === c ? 1 : 0)) / n;
        gradB[c]! += d;
        const g = grad[c]!;
        for (let i = 0; i < row.idx.length; i++) g[row.idx[i]!]! += d * row.val[i]!;
      }
    }
    for (let c = 0; c < k; c++) {
      const w = weights[c]!;
      const g = grad[c]!;
      const vel = velW[c]!;
      for (let j = 0; j < v; j++) {
        vel[j] = momentum * vel[j]! - lr * (g[j]! + l2 * w[j]!);
        w[j]! += vel[j]!;
      }
      velB[c] = momentum * velB[c]! - lr * gradB[c]!;
      bias[c]! += velB[c]!;
    }
  }
  return { weights, bias };
}

/** Complement naive Bayes with weight normalisation (Rennie et al. 2003). */
function trainComplementNb(rows: SparseRow[], y: number[], k: number, v: number, alpha: number) {
  const perClass = Array.from({ length: k }, () => new Float64Array(v));
  const total = new Float64Array(v);
  rows.forEach((row, r) => {
    const fc = perClass[y[r]!]!;
    for (let i = 0; i < row.idx.length; i++) {
      fc[row.idx[i]!]! += row.val[i]!;
      total[row.idx[i]!]! += row.val[i]!;
    }
  });
  const weights: number[][] = [];
  for (let c = 0; c < k; c++) {
    const comp = new Float64Array(v);
    let sum = 0;
    for (let j = 0; j < v; j++) {
      comp[j] = total[j]! - perClass[c]![j]! + alpha;
      sum += comp[j]!;
    }
    const logs = new Array<number>(v);
    let abs = 0;
    for (let j = 0; j < v; j++) {
      logs[j] = Math.log(comp[j]! / sum);
      abs += Math.abs(logs[j]!);
    }
    // Negated, normalised complement log-probabilities: a larger score means "more like class c".
    weights.push(logs.map((l) => (-l / abs) * v));
  }
  return { weights, bias: new Array<number>(k).fill(0) };
}

/** Turns a saved model into a predictor. Validates dimensions. */
export function createStatementModel(json: StatementModelJson): StatementModel {
  const index = new Map(json.vocabulary.map((f, i) => [f, i]));
  if (json.idf.length !== json.vocabulary.length || json.weights.length !== json.labels.length || json.bias.length !== json.labels.length) {
    throw new ValidationError('statement model dimensions do not match (labels/vocabulary/idf/weights/bias)', undefined, 'invalid_model');
  }
  return {
    json,
    predict(text: string): StatementPrediction {
      const row = vectorize(featureCounts(text, json.options.charNgrams), index, json.idf);
      const p = scores(row, json.weights, json.bias);
      softmaxInPlace(p);
      let best = 0;
      for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
      const probabilities: Record<string, number> = {};
      json.labels.forEach((l, c) => (probabilities[l] = Math.round(p[c]! * 1e6) / 1e6));
      return { label: json.labels[best]!, probabilities };
    },
  };
}

/**
 * Trains a statement model on texts and labels (pure apart from the `createdAt` time you pass).
 * Vocabulary: word 1-2-grams (and char 3-5-grams seen at least twice) of the training texts.
 */
export function trainStatementModel(
  texts: readonly string[],
  labels: readonly string[],
  opts: StatementTrainOptions & { createdAt?: number; cv?: EvaluationReport | null } = {},
): StatementModel {
  if (texts.length !== labels.length) throw new ValidationError('texts and labels differ in length', undefined, 'invalid_input');
  if (texts.length === 0) throw new ValidationError('no training statements', undefined, 'invalid_input');
  const algorithm = opts.algorithm ?? 'logreg';
  const charNgrams = opts.charNgrams ?? true;
  const classes = [...new Set(labels)].sort();
  const counts = texts.map((t) => featureCounts(t, charNgrams));
  const df = new Map<string, number>();
  for (const c of counts) for (const k of c.keys()) df.set(k, (df.get(k) ?? 0) + 1);
  const vocabulary = [...df.entries()]
    .filter(([k, d]) => !k.startsWith('c:') || d >= 2)
    .map(([k]) => k)
    .sort();
  const n = texts.length;
  const idf = vocabulary.map((k) => Math.log((1 + n) / (1 + df.get(k)!)) + 1);
  const index = new Map(vocabulary.map((f, i) => [f, i]));
  const rows = counts.map((c) => vectorize(c, index, idf));
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const y = labels.map((l) => classIndex.get(l)!);
  const trained =
    algorithm === 'nb'
      ? trainComplementNb(rows, y, classes.length, vocabulary.length, opts.alpha ?? 0.3)
      : trainLogreg(rows, y, classes.length, vocabulary.length, opts.iterations ?? 120, opts.l2 ?? 1e-4);
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return createStatementModel({
    version: 1,
    createdAt: new Date(opts.createdAt ?? 0).toISOString(),
    algorithm,
    labels: classes,
    vocabulary,
    idf: idf.map(round),
    weights: trained.weights.map((w) => w.map(round)),
    bias: trained.bias.map(round),
    options: { charNgrams },
    cv: opts.cv ?? null,
    n,
  });
}

/**
 * Stratified k-fold cross-validation (folds from `stratifiedFolds`, report from `evaluate`).
 * `onFold` is called after each fold (progress).
 */
export function crossValidateStatements(
  texts: readonly string[],
  labels: readonly string[],
  opts: StatementTrainOptions & { folds: number; seed: number; onFold?: (done: number, total: number) => void },
): EvaluationReport {
  const folds = stratifiedFolds(labels, opts.folds, opts.seed);
  const predicted = new Array<string>(texts.length).fill('');
  folds.forEach((testIdx, f) => {
    const inTest = new Set(testIdx);
    const trainIdx = texts.map((_, i) => i).filter((i) => !inTest.has(i));
    if (trainIdx.length > 0 && testIdx.length > 0) {
      const model = trainStatementModel(
        trainIdx.map((i) => texts[i]!),
        trainIdx.map((i) => labels[i]!),
        opts,
      );
      for (const i of testIdx) predicted[i] = model.predict(texts[i]!).label;
    }
    opts.onFold?.(f + 1, folds.length);
  });
  return evaluate(labels, predicted, [...new Set(labels)].sort());
}

/** File name for a model created at `time` (epoch ms): `2026-01-31T12-00-00-000Z.json`. */
function modelFileName(time: number): string {
  return `${new Date(time).toISOString().replace(/[:.]/g, '-')}.json`;
}

/**
 * Saves the model as `<data>/models/statements/<createdAt>.json` and points `latest.json` at it.
 * Returns both paths.
 */
export function saveStatementModel(model: StatementModel, dataDir: string): { path: string; latestPath: string } {
  const dir = statementModelDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = modelFileName(Date.parse(model.json.createdAt));
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(model.json));
  const latestPath = join(dir, 'latest.json');
  writeFileSync(latestPath, JSON.stringify({ version: 1, latest: file }, null, 2) + '\n');
  return { path, latestPath };
}

const modelSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  algorithm: z.enum(['logreg', 'nb']),
  labels: z.array(z.string()).min(1),
  vocabulary: z.array(z.string()),
  idf: z.array(z.number()),
  weights: z.array(z.array(z.number())),
  bias: z.array(z.number()),
  options: z.object({ charNgrams: z.boolean() }),
  cv: z.unknown(),
  n: z.number(),
});
const pointerSchema = z.object({ version: z.literal(1), latest: z.string().min(1) });

/**
 * Loads a statement model from a model file or from a `latest.json` pointer (followed).
 * Throws ValidationError (code `invalid_model`) when the file is not a statement model.
 */
export function loadStatementModel(path: string): StatementModel {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ValidationError(`cannot read statement model ${path}: ${(err as Error).message}`, undefined, 'invalid_model');
  }
  const pointer = pointerSchema.safeParse(raw);
  if (pointer.success) return loadStatementModel(resolve(dirname(path), pointer.data.latest));
  const parsed = modelSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`${path} is not a statement model: ${issue.path.join('.') || 'file'}: ${issue.message}`, undefined, 'invalid_model');
  }
  return createStatementModel({ ...parsed.data, cv: (parsed.data.cv ?? null) as EvaluationReport | null });
}

/** Loads `<data>/models/statements/latest.json` when it exists, else undefined (the engine then runs without a model). */
export function loadLatestStatementModel(dataDir: string): StatementModel | undefined {
  const latest = join(statementModelDir(dataDir), 'latest.json');
  try {
    readFileSync(latest);
  } catch {
    return undefined;
  }
  return loadStatementModel(latest);
}
