import type { Indicators } from './indicator-catalogue';
import { SENTINEL_INDICATORS, type ConditionOp, type LensDefinition } from './lens';
import { featureValue, indicatorValue, traitNumber, type FeatureSpec, type LearnedLensModel } from './lens-learned';

/**
 * The explainable classifier. A lens is compiled once into flat typed arrays; `classify` then
 * scores one customer with no per-condition allocation:
 *
 *   logit_k = log(prior_k) + Σ_i w_i · m_i(x)        (m_i = soft membership in [0, 1])
 *   logit_k = (1-λ)·logit_k + λ·learned_k            (when a learned model is attached)
 *   p = softmax(logit / temperature)
 *
 * followed by hysteresis against the customer's previous state. Evidence and the probability
 * record are computed lazily from a small buffer kept with the result.
 */

const OP_ABOVE = 0;
const OP_BELOW = 1;
const OP_BETWEEN = 2;
const OP_EQUALS = 3;
const OP_EQUALS_TEXT = 4;
const OPS: Record<ConditionOp, number> = { above: OP_ABOVE, below: OP_BELOW, between: OP_BETWEEN, equals: OP_EQUALS };

/** A learned model compiled for scoring. */
interface CompiledModel {
  readonly model: LearnedLensModel;
  readonly features: readonly FeatureSpec[];
  readonly means: Float64Array;
  readonly invSds: Float64Array;
  /** For each lens type: row in the model, or -1 when the model never saw the type. */
  readonly rowOfType: Int32Array;
  readonly weights: Float64Array; // rows x features
  readonly intercepts: Float64Array;
  readonly lambda: number;
  /** Writes the transformed (not standardised) features into `out[off + f]`, NaN when missing. */
  readonly readFeatures: (indicators: Indicators, traits: Readonly<Record<string, unknown>>, out: Float64Array, off: number) => void;
}

/** A lens compiled for the hot path. Treat as opaque outside this module. */
export interface CompiledLens {
  readonly name: string;
  readonly definition: LensDefinition;
  readonly typeNames: readonly string[];
  readonly typeIndex: ReadonlyMap<string, number>;
  readonly logPrior: Float64Array;
  readonly invTemperature: number;
  readonly margin: number;
  readonly confirmations: number;
  /** Distinct inputs the conditions read. */
  readonly slotNames: readonly string[];
  readonly slotTrait: readonly (string | null)[];
  readonly condCount: number;
  readonly condType: Int32Array;
  readonly condSlot: Int32Array;
  readonly condOp: Uint8Array;
  readonly condLo: Float64Array;
  readonly condHi: Float64Array;
  readonly condInvSoft: Float64Array;
  readonly condWeight: Float64Array;
  readonly condText: readonly (string | undefined)[];
  /** Human form of each condition (`above 180`), for evidence. */
  readonly condDescription: readonly string[];
  /** Index of each type's first condition. */
  readonly typeCondStart: Int32Array;
  /** The learned model in use, if any. */
  readonly learned: CompiledModel | undefined;
  /** Scratch space reused across calls (single-threaded): logits [0, K), standardised features [K, K+F). */
  readonly scratch: Float64Array;
  /** Scratch: slot values [0, S), memberships [S, S+C), probabilities [S+C, S+C+K). */
  readonly buf: Float64Array;
  /** Generated straight-line scorer: writes the YAML logits (log prior + Σ w·m) to `out[0..K)`. */
  readonly scoreLogits: (indicators: Indicators, traits: Readonly<Record<string, unknown>>, out: Float64Array) => void;
  /** Reads every slot into `out[0..S)` (NaN = missing); generated so each read is a named property load. */
  readonly readSlots: (indicators: Indicators, traits: Readonly<Record<string, unknown>>, out: Float64Array) => void;
}

/** Per customer and lens: the little state hysteresis needs. Serialisable. */
export interface LensState {
  /** Current type. */
  readonly type: string;
  /** Time (epoch ms) the customer entered it. */
  readonly since: number;
  /** A challenger that has beaten the current type by the margin `count` times in a row. */
  readonly pending?: { readonly type: string; readonly count: number };
}

/** Input of one classification. */
export interface ClassifyInput {
  readonly indicators: Indicators;
  readonly traits: Readonly<Record<string, unknown>>;
}

/** One reason behind a classification. */
export interface Evidence {
  /** `condition`: a YAML condition; `model`: a learned-model feature. */
  readonly source: 'condition' | 'model';
  readonly indicator: string;
  /** Value seen (null when missing). */
  readonly value: number | string | null;
  /** Human form of the condition, e.g. `above 180` or `model weight`. */
  readonly condition: string;
  readonly op?: ConditionOp;
  readonly threshold?: number;
  readonly upper?: number;
  readonly weight: number;
  /** Soft membership 0..1 (conditions) or standardised value (model). */
  readonly membership: number;
  /** Contribution to the chosen type's logit. */
  readonly contribution: number;
  readonly note?: string;
}

/**
 * A customer's classification in one lens. `probabilities` and `evidence` are computed on first
 * access (read them, or call toJSON, before mutating the input's indicators/traits objects).
 */
export interface Classification {
  readonly lens: string;
  readonly type: string;
  readonly probabilities: Readonly<Record<string, number>>;
  /** Top contributing conditions for the chosen type, strongest first. */
  readonly evidence: readonly Evidence[];
  readonly changed: boolean;
  readonly previousType: string | null;
  /** When the customer entered `type`. */
  readonly since: number;
  /** Probability of the chosen type. */
  readonly probability: number;
  /** Evidence for any type of the lens. */
  evidenceFor(type: string, topK?: number): Evidence[];
  toJSON(): unknown;
}

/** Result of `classify`: the classification and the state to keep for the next call. */
export interface ClassifyOutcome {
  readonly classification: Classification;
  readonly state: LensState;
}

/** A recorded change of type (the processor stores these with the causing event). */
export interface TypeChange {
  readonly lens: string;
  readonly at: number;
  readonly from: string | null;
  readonly to: string;
  readonly probability: number;
  /** Id of the event whose processing caused the change. */
  readonly eventId: string | null;
}

/** Builds the history record for a classification that changed. */
export function typeChange(c: Classification, at: number, eventId: string | null): TypeChange {
  return { lens: c.lens, at, from: c.previousType, to: c.type, probability: c.probability, eventId };
}

/** Compiles a validated lens (and optionally a learned model for it) for fast classification. */
export function compileLens(def: LensDefinition, model?: LearnedLensModel): CompiledLens {
  const typeNames = def.types.map((t) => t.name);
  const typeIndex = new Map(typeNames.map((n, i) => [n, i]));
  const slotNames: string[] = [];
  const slotTrait: (string | null)[] = [];
  const slotOf = new Map<string, number>();
  const conds = def.types.flatMap((t, k) => t.conditions.map((c) => ({ c, k })));
  const n = conds.length;
  const condType = new Int32Array(n);
  const condSlot = new Int32Array(n);
  const condOp = new Uint8Array(n);
  const condLo = new Float64Array(n);
  const condHi = new Float64Array(n);
  const condInvSoft = new Float64Array(n);
  const condWeight = new Float64Array(n);
  const condText: (string | undefined)[] = [];
  conds.forEach(({ c, k }, i) => {
    let slot = slotOf.get(c.indicator);
    if (slot === undefined) {
      slot = slotNames.length;
      slotOf.set(c.indicator, slot);
      slotNames.push(c.indicator);
      slotTrait.push(c.indicator.startsWith('traits.') ? c.indicator.slice(7) : null);
    }
    condType[i] = k;
    condSlot[i] = slot;
    condOp[i] = c.equalsText !== undefined ? OP_EQUALS_TEXT : OPS[c.op];
    condLo[i] = c.threshold;
    condHi[i] = c.upper ?? c.threshold;
    condInvSoft[i] = c.softness > 0 ? 1 / c.softness : Infinity;
    condWeight[i] = c.weight;
    condText.push(c.equalsText);
  });
  const K = typeNames.length;
  const logPrior = new Float64Array(K);
  def.types.forEach((t, k) => (logPrior[k] = Math.log(t.prior)));
  let learned: CompiledModel | undefined;
  if (model && model.labels.some((l) => typeIndex.has(l))) {
    const F = model.features.length;
    const rowOfType = new Int32Array(K).fill(-1);
    model.labels.forEach((l, r) => {
      const k = typeIndex.get(l);
      if (k !== undefined) rowOfType[k] = r;
    });
    const weights = new Float64Array(model.labels.length * F);
    model.weights.forEach((row, r) => row.forEach((w, f) => (weights[r * F + f] = w)));
    learned = {
      model,
      features: model.features,
      means: Float64Array.from(model.means),
      invSds: Float64Array.from(model.sds, (s) => (s > 0 ? 1 / s : 0)),
      rowOfType,
      weights,
      intercepts: Float64Array.from(model.intercepts),
      lambda: def.learnedWeight,
      readFeatures: featureReader(model.features),
    };
  }
  return {
    name: def.lens,
    definition: def,
    typeNames,
    typeIndex,
    logPrior,
    invTemperature: 1 / def.temperature,
    margin: def.hysteresis.margin,
    confirmations: def.hysteresis.confirmations,
    slotNames,
    slotTrait,
    condCount: n,
    condType,
    condSlot,
    condOp,
    condLo,
    condHi,
    condInvSoft,
    condWeight,
    condText,
    condDescription: conds.map(({ c }) => describeCondition(c.op, c.threshold, c.upper ?? c.threshold, c.equalsText)),
    typeCondStart: Int32Array.from(def.types, (_, k) => conds.findIndex((x) => x.k >= k)).map((v) => (v < 0 ? n : v)),
    learned,
    scratch: new Float64Array(K + (learned?.features.length ?? 0)),
    buf: new Float64Array(slotNames.length + n + K),
    readSlots: slotReader(slotNames),
    scoreLogits: logitScorer(slotNames, conds.map(({ c, k }) => ({ c, k, slot: slotOf.get(c.indicator)! })), logPrior),
  };
}

/** JS source for a number constant (round-trips exactly; Infinity and NaN included). */
const num = (x: number): string => (Object.is(x, -0) ? '-0' : String(x));

/**
 * Generates the hot-path scorer of a lens: one straight-line function with the thresholds,
 * ramps and weights as constants and one local per type. It computes exactly what the generic
 * loop in `score` computes (same operations in the same order), which the tests check.
 */
function logitScorer(slotNames: readonly string[], conds: readonly { c: LensDefinition['types'][number]['conditions'][number]; k: number; slot: number }[], logPrior: Float64Array): CompiledLens['scoreLogits'] {
  const out: string[] = ['let v, m, z;'];
  slotNames.forEach((name, i) => {
    if (name.startsWith('traits.')) out.push(`const s${i} = traitNumber(t[${JSON.stringify(name.slice(7))}]);`);
    else {
      const guard = SENTINEL_INDICATORS.has(name) ? ' && v >= 0' : '';
      out.push(`v = x[${JSON.stringify(name)}]; const s${i} = typeof v === 'number' && v - v === 0${guard} ? v : NaN;`);
    }
  });
  logPrior.forEach((p, k) => out.push(`let l${k} = ${num(p)};`));
  for (const { c, k, slot } of conds) {
    const a = c.softness > 0 ? 1 / c.softness : Infinity;
    const x = `s${slot}`;
    const lo = num(c.threshold);
    let m: string;
    if (c.equalsText !== undefined) {
      const key = JSON.stringify(c.indicator.slice(7));
      out.push(`v = t[${key}]; m = v !== undefined && v !== null && String(v).toLowerCase() === ${JSON.stringify(c.equalsText)} ? 1 : 0; l${k} = l${k} + ${num(c.weight)} * m;`);
      continue;
    }
    if (c.op === 'above' || c.op === 'below') {
      const zExpr = c.op === 'above' ? `(${x} - ${lo}) * ${num(a)}` : `(${lo} - ${x}) * ${num(a)}`;
      m = `z = ${zExpr}; m = z > 30 ? 1 : z < -30 ? 0 : z === z ? 1 / (1 + Math.exp(-z)) : 0.5;`;
    } else if (c.op === 'between') {
      m = `m = ramp(${x} - ${lo}, ${num(a)}) * ramp(${num(c.upper ?? c.threshold)} - ${x}, ${num(a)});`;
    } else {
      m = `m = Math.abs(${x} - ${lo}) <= 1e-9 ? 1 : ${a === Infinity ? '0' : `Math.exp(-Math.abs(${x} - ${lo}) * ${num(a)})`};`;
    }
    // Missing value: m = 0, and l + w·0 = l, so skipping the update is exact.
    out.push(`if (${x} === ${x}) { ${m} l${k} = l${k} + ${num(c.weight)} * m; }`);
  }
  logPrior.forEach((_, k) => out.push(`o[${k}] = l${k};`));
  const body = `return function scoreLogits(x, t, o) { ${out.join('\n')} };`;
  return new Function('traitNumber', 'ramp', body)(traitNumber, ramp) as CompiledLens['scoreLogits'];
}

/** Generated feature reader for a learned model (same transform as `featureValue`, see slotReader). */
function featureReader(features: readonly FeatureSpec[]): CompiledModel['readFeatures'] {
  const lines = features.map((spec, f) => {
    if (spec.name.startsWith('traits.')) return `out[off + ${f}] = featureValue(specs[${f}], x, t);`;
    const guard = SENTINEL_INDICATORS.has(spec.name) ? ' && v >= 0' : '';
    const value = spec.log ? 'Math.log1p(v > 0 ? v : 0)' : 'v';
    return `v = x[${JSON.stringify(spec.name)}]; out[off + ${f}] = typeof v === 'number' && v - v === 0${guard} ? ${value} : NaN;`;
  });
  const body = `return function readFeatures(x, t, out, off) { let v; ${lines.join(' ')} };`;
  return new Function('featureValue', 'specs', body)(featureValue, features) as CompiledModel['readFeatures'];
}

/**
 * Builds the slot reader. Generated code turns each indicator read into a constant-name property
 * load, which V8 caches per object shape (a dynamic `x[name]` loop costs ~15 ns per read instead).
 * Names are validated catalogue names or `traits.<[A-Za-z0-9_.-]+>` and are embedded as JSON strings.
 */
function slotReader(slotNames: readonly string[]): CompiledLens['readSlots'] {
  const lines = slotNames.map((name, i) => {
    if (name.startsWith('traits.')) return `out[${i}] = traitNumber(t[${JSON.stringify(name.slice(7))}]);`;
    const guard = SENTINEL_INDICATORS.has(name) ? ' && v >= 0' : '';
    return `v = x[${JSON.stringify(name)}]; out[${i}] = typeof v === 'number' && v - v === 0${guard} ? v : NaN;`;
  });
  const body = `return function readSlots(x, t, out) { let v; ${lines.join(' ')} };`;
  return new Function('traitNumber', body)(traitNumber) as CompiledLens['readSlots'];
}

/** Logistic ramp; exact step when the softness is 0. */
function ramp(d: number, invSoft: number): number {
  if (invSoft === Infinity) return d > 0 ? 1 : d < 0 ? 0 : 0.5;
  const z = d * invSoft;
  if (z > 30) return 1;
  if (z < -30) return 0;
  return 1 / (1 + Math.exp(-z));
}

/** Soft membership of condition `i` for slot value `x` (NaN = missing). */
function membership(lens: CompiledLens, i: number, x: number, input: ClassifyInput): number {
  const op = lens.condOp[i]!;
  if (op === OP_EQUALS_TEXT) {
    const v = input.traits[lens.slotTrait[lens.condSlot[i]!]!];
    return v !== undefined && v !== null && String(v).toLowerCase() === lens.condText[i] ? 1 : 0;
  }
  if (x !== x) return 0; // missing: no evidence either way
  const a = lens.condInvSoft[i]!;
  const lo = lens.condLo[i]!;
  if (op === OP_ABOVE || op === OP_BELOW) {
    const z = op === OP_ABOVE ? (x - lo) * a : (lo - x) * a;
    return z > 30 ? 1 : z < -30 ? 0 : z === z ? 1 / (1 + Math.exp(-z)) : 0.5; // NaN: a hard step exactly at the threshold
  }
  if (op === OP_BETWEEN) return ramp(x - lo, a) * ramp(lens.condHi[i]! - x, a);
  return Math.abs(x - lo) <= 1e-9 ? 1 : a === Infinity ? 0 : Math.exp(-Math.abs(x - lo) * a);
}

/** One slot's value read directly from the input (NaN = missing). */
function slotValue(lens: CompiledLens, slot: number, input: ClassifyInput): number {
  const trait = lens.slotTrait[slot];
  return trait != null ? traitNumber(input.traits[trait]) : indicatorValue(lens.slotNames[slot]!, input.indicators);
}

/**
 * Scores one customer: fills `buf` with slot values [0, S), memberships [S, S+C) and
 * probabilities [S+C, S+C+K). Returns the index of the most probable type.
 */
function score(lens: CompiledLens, input: ClassifyInput, buf: Float64Array): number {
  const S = lens.slotNames.length;
  const C = lens.condCount;
  const K = lens.typeNames.length;
  lens.readSlots(input.indicators, input.traits, buf);
  const logits = lens.scratch;
  for (let k = 0; k < K; k++) logits[k] = lens.logPrior[k]!;
  const { condSlot, condWeight, condType } = lens;
  for (let i = 0; i < C; i++) {
    const m = membership(lens, i, buf[condSlot[i]!]!, input);
    buf[S + i] = m;
    const t = condType[i]!;
    logits[t] = logits[t]! + condWeight[i]! * m;
  }
  return finishLogits(lens, input, buf, S + C);
}

/**
 * Blends in the learned model (if any), applies the temperature and the softmax: reads the YAML
 * logits from `lens.scratch[0..K)`, writes probabilities to `out[off..off+K)`, returns the argmax.
 */
function finishLogits(lens: CompiledLens, input: ClassifyInput, out: Float64Array | number[], off: number): number {
  const K = lens.typeNames.length;
  const logits = lens.scratch;
  const L = lens.learned;
  if (L) {
    const F = L.features.length;
    const z = lens.scratch; // z[K + f]: standardised feature f
    L.readFeatures(input.indicators, input.traits, z, K);
    for (let f = 0; f < F; f++) {
      const v = z[K + f]!;
      z[K + f] = v === v ? (v - L.means[f]!) * L.invSds[f]! : 0;
    }
    const lam = L.lambda;
    for (let k = 0; k < K; k++) {
      const r = L.rowOfType[k]!;
      if (r < 0) continue; // type unseen in training: keep its YAML logit
      let a = L.intercepts[r]!;
      const off = r * F;
      for (let f = 0; f < F; f++) a += L.weights[off + f]! * z[K + f]!;
      logits[k] = (1 - lam) * logits[k]! + lam * a;
    }
  }
  let max = -Infinity;
  let best = 0;
  const it = lens.invTemperature;
  for (let k = 0; k < K; k++) {
    const v = logits[k]! * it;
    logits[k] = v;
    if (v > max) {
      max = v;
      best = k;
    }
  }
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const e = Math.exp(logits[k]! - max);
    logits[k] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let k = 0; k < K; k++) out[off + k] = logits[k]! * inv;
  return best;
}

/** Probabilities by the generic (interpreted) scorer: the reference the generated scorer must match. */
export function referenceProbabilities(lens: CompiledLens, input: ClassifyInput): number[] {
  const P = lens.slotNames.length + lens.condCount;
  score(lens, input, lens.buf);
  return Array.from(lens.buf.subarray(P, P + lens.typeNames.length));
}

function describeCondition(op: ConditionOp, lo: number, hi: number, text: string | undefined): string {
  if (op === 'between') return `between ${lo} and ${hi}`;
  if (op === 'equals') return `equals ${text ?? lo}`;
  return `${op} ${lo}`;
}

class LensClassification implements Classification {
  private probRecord: Record<string, number> | undefined;
  private ev: Evidence[] | undefined;
  constructor(
    private readonly compiled: CompiledLens,
    private readonly probs: number[],
    private readonly input: ClassifyInput,
    private readonly typeIdx: number,
    readonly changed: boolean,
    readonly previousType: string | null,
    readonly since: number,
  ) {}
  get lens(): string {
    return this.compiled.name;
  }
  get type(): string {
    return this.compiled.typeNames[this.typeIdx]!;
  }
  get probability(): number {
    return this.probs[this.typeIdx]!;
  }
  get probabilities(): Record<string, number> {
    if (!this.probRecord) {
      const out: Record<string, number> = {};
      this.compiled.typeNames.forEach((t, k) => (out[t] = this.probs[k]!));
      this.probRecord = out;
    }
    return this.probRecord;
  }
  get evidence(): Evidence[] {
    this.ev ??= this.evidenceFor(this.type, 5);
    return this.ev;
  }
  evidenceFor(type: string, topK = 5): Evidence[] {
    const L = this.compiled;
    const k = L.typeIndex.get(type);
    if (k === undefined) return [];
    // Memberships are not kept per call (that would cost an allocation on the hot path):
    // recompute them for this type's conditions only.
    const lam = L.learned && L.learned.rowOfType[k]! >= 0 ? L.learned.lambda : 0;
    const out: Evidence[] = [];
    const conds = L.definition.types[k]!.conditions;
    const i0 = L.typeCondStart[k]!;
    conds.forEach((c, j) => {
      const i = i0 + j;
      const slot = L.condSlot[i]!;
      const v = slotValue(L, slot, this.input);
      const m = membership(L, i, v, this.input);
      const contribution = (1 - lam) * c.weight * m * L.invTemperature;
      if (Math.abs(contribution) < 1e-6) return;
      const trait = L.slotTrait[slot];
      const raw = trait != null ? this.input.traits[trait] : undefined;
      const value = c.equalsText !== undefined ? (raw === undefined || raw === null ? null : String(raw)) : v === v ? v : null;
      out.push({
        source: 'condition',
        indicator: c.indicator,
        value,
        condition: L.condDescription[i]!,
        op: c.op,
        threshold: c.threshold,
        ...(c.upper !== undefined ? { upper: c.upper } : {}),
        weight: c.weight,
        membership: m,
        contribution,
        ...(c.note !== undefined ? { note: c.note } : {}),
      });
    });
    const M = L.learned;
    if (M && lam > 0) {
      const r = M.rowOfType[k]!;
      const F = M.features.length;
      for (let f = 0; f < F; f++) {
        const spec = M.features[f]!;
        const v = featureValue(spec, this.input.indicators, this.input.traits);
        const z = v === v ? (v - M.means[f]!) * M.invSds[f]! : 0;
        const w = M.weights[r * F + f]!;
        const contribution = lam * w * z * L.invTemperature;
        if (Math.abs(contribution) < 1e-6) continue;
        const rawV = spec.name.startsWith('traits.') ? v : indicatorValue(spec.name, this.input.indicators);
        out.push({
          source: 'model',
          indicator: spec.name,
          value: rawV === rawV ? rawV : null,
          condition: `learned weight (v${M.model.version})`,
          weight: w,
          membership: z,
          contribution,
        });
      }
    }
    out.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.indicator.localeCompare(b.indicator));
    return out.slice(0, topK);
  }
  toJSON() {
    return {
      lens: this.lens,
      type: this.type,
      probability: this.probability,
      probabilities: this.probabilities,
      evidence: this.evidence,
      changed: this.changed,
      previousType: this.previousType,
      since: this.since,
    };
  }
}

/**
 * Hysteresis: the state after an evaluation whose probabilities are `p[off..off+K)` and whose most
 * probable type is `best`. Returns `previous` itself when nothing changed (no allocation).
 */
function nextState(lens: CompiledLens, p: ArrayLike<number>, off: number, best: number, previous: LensState | undefined, at: number): LensState {
  const prevIdx = previous ? lens.typeIndex.get(previous.type) : undefined;
  // First classification, or the previous type no longer exists in the edited lens.
  if (previous === undefined || prevIdx === undefined) return { type: lens.typeNames[best]!, since: at };
  if (best !== prevIdx && p[off + best]! - p[off + prevIdx]! >= lens.margin) {
    const name = lens.typeNames[best]!;
    const count = previous.pending && previous.pending.type === name ? previous.pending.count + 1 : 1;
    if (count >= lens.confirmations) return { type: name, since: at };
    return { type: previous.type, since: previous.since, pending: { type: name, count } };
  }
  return previous.pending ? { type: previous.type, since: previous.since } : previous;
}

/**
 * Classifies one customer in one lens, applying hysteresis against `previous`.
 * Pure and deterministic; `at` (epoch ms, event time) stamps a type change.
 */
export function classify(lens: CompiledLens, input: ClassifyInput, previous: LensState | undefined, at = 0): ClassifyOutcome {
  const K = lens.typeNames.length;
  lens.scoreLogits(input.indicators, input.traits, lens.scratch);
  const probs = new Array<number>(K);
  const best = finishLogits(lens, input, probs, 0);
  const state = nextState(lens, probs, 0, best, previous, at);
  const chosen = lens.typeIndex.get(state.type)!;
  const changed = previous === undefined || state.type !== previous.type;
  const classification = new LensClassification(lens, probs, input, chosen, changed, previous?.type ?? null, state.since);
  return { classification, state };
}

/**
 * The hot-path form of {@link classify}: only the next hysteresis state (same result as
 * `classify(...).state`), with no allocation unless the state changes.
 */
export function classifyState(lens: CompiledLens, input: ClassifyInput, previous: LensState | undefined, at = 0): LensState {
  lens.scoreLogits(input.indicators, input.traits, lens.scratch);
  // Probabilities go to the tail of `buf` (single-threaded scratch, see CompiledLens.buf).
  const off = lens.slotNames.length + lens.condCount;
  const best = finishLogits(lens, input, lens.buf, off);
  return nextState(lens, lens.buf, off, best, previous, at);
}
