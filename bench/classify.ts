/**
 * Classifier micro-benchmark: classifications per second for each built-in lens on random
 * indicator vectors, carrying the hysteresis state like the processor does. Also measures the
 * blend with a learned model and the cost of reading evidence. Reference: reading the same
 * indicators from the input record (a floor for any classifier on this input form).
 * Last line: one JSON object with the figures.
 */
import { BUILTIN_LENS_DIR, createLensRegistry } from '../src/classify/lens-registry';
import { INDICATOR_CATALOGUE, type Indicators } from '../src/domain/indicator-catalogue';
import { classify, compileLens, type CompiledLens, type LensState } from '../src/domain/lens-classifier';
import { featureSpec, type LearnedLensModel } from '../src/domain/lens-learned';
import { createRng } from '../src/domain/random';
import { evaluate } from '../src/classify/evaluation';

const rng = createRng(2024);
const POOL = Number(process.env.BENCH_POOL ?? 256);
const CALLS = Number(process.env.BENCH_CALLS ?? 500_000);
const TARGET_NS = 2000;

function randomIndicators(): Indicators {
  const x: Indicators = {};
  for (const s of INDICATOR_CATALOGUE) {
    const u = rng.next();
    if (s.unit.startsWith('ratio') || s.unit === 'probability') x[s.name] = u;
    else if (s.unit === '0/1') x[s.name] = u < 0.2 ? 1 : 0;
    else if (s.unit.startsWith('score -1')) x[s.name] = u * 2 - 1;
    else if (s.unit === 'score') x[s.name] = u - 0.5;
    else if (s.unit.startsWith('score 0..10')) x[s.name] = u < 0.3 ? -1 : Math.round(u * 10);
    else if (s.unit === 'days') x[s.name] = Math.round(u * u * 1500);
    else if (s.unit === 'currency') x[s.name] = Math.round(u * u * 2000);
    else if (s.unit.startsWith('hour')) x[s.name] = Math.floor(u * 24);
    else x[s.name] = Math.round(u * u * 12 * 10) / 10; // counts and weighted counts
  }
  return x;
}
const pool = Array.from({ length: POOL }, () => ({ indicators: randomIndicators(), traits: { customer_type: rng.next() < 0.1 ? 'business' : 'consumer', social_sharing: rng.next() < 0.5 } }));

const ROUNDS = 5;

/** Best (lowest) ns per call over several rounds: the machine is shared, so the minimum is the stable figure. */
function best(fn: (calls: number) => number, calls: number): number {
  fn(Math.min(calls, 50_000)); // warm-up
  let min = Infinity;
  for (let r = 0; r < ROUNDS; r++) min = Math.min(min, fn(Math.ceil(calls / ROUNDS)));
  return min;
}

function timeLens(lens: CompiledLens, calls: number, withEvidence = false): number {
  const states: (LensState | undefined)[] = new Array(POOL).fill(undefined);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const j = i & (POOL - 1);
    const out = classify(lens, pool[j]!, states[j], i);
    states[j] = out.state;
    if (withEvidence) sink += out.classification.evidence.length;
    else sink += out.classification.probability;
  }
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  if (sink === -1) console.log(sink);
  return ns;
}

/** The processor's pattern: one fresh indicator record per event, classified in every lens. */
function timeAllLenses(lenses: readonly CompiledLens[], events: number): number {
  const states: (LensState | undefined)[][] = lenses.map(() => new Array(POOL).fill(undefined));
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < events; i++) {
    const j = i & (POOL - 1);
    const input = pool[j]!;
    for (let l = 0; l < lenses.length; l++) {
      const out = classify(lenses[l]!, input, states[l]![j], i);
      states[l]![j] = out.state;
      sink += out.classification.probability;
    }
  }
  const ns = Number(process.hrtime.bigint() - t0) / events;
  if (sink === -1) console.log(sink);
  return ns;
}

function timeReference(lens: CompiledLens, calls: number): number {
  const names = lens.slotNames.filter((n) => !n.startsWith('traits.'));
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const x = pool[i & (POOL - 1)]!.indicators;
    for (let k = 0; k < names.length; k++) sink += x[names[k]!] ?? 0;
  }
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  if (sink === -1) console.log(sink);
  return ns;
}

/** A synthetic learned model over every catalogue indicator (the worst case for the blend). */
function syntheticModel(lens: CompiledLens): LearnedLensModel {
  const features = INDICATOR_CATALOGUE.map((s) => featureSpec(s.name));
  return {
    format: 'rapport.lens-model/1',
    lens: lens.name,
    version: 1,
    createdAt: 0,
    labels: lens.typeNames,
    features,
    means: features.map(() => 0.5),
    sds: features.map(() => 1),
    weights: lens.typeNames.map(() => features.map(() => rng.next() - 0.5)),
    intercepts: lens.typeNames.map(() => 0),
    l2: 0.01,
    iterations: 1,
    trainingSize: 0,
    classCounts: {},
    cv: evaluate([], []),
    folds: 2,
  };
}

const registry = createLensRegistry({ builtinDir: BUILTIN_LENS_DIR });
const figures: Record<string, unknown> = {};
const perLens: Record<string, { nsPerCall: number; perSecond: number; conditions: number; types: number }> = {};
let totalNs = 0;
for (const lens of registry.current()) {
  const ns = best((c) => timeLens(lens, c), CALLS);
  totalNs += ns;
  perLens[lens.name] = { nsPerCall: Math.round(ns), perSecond: Math.round(1e9 / ns), conditions: lens.condCount, types: lens.typeNames.length };
  console.log(`${lens.name.padEnd(10)} ${String(lens.typeNames.length).padStart(2)} types ${String(lens.condCount).padStart(3)} conditions  ${ns.toFixed(0).padStart(5)} ns/call  ${Math.round(1e9 / ns).toLocaleString('en').padStart(11)} classifications/s`);
}
const meanNs = totalNs / registry.current().length;
const life = registry.get('lifecycle');
const refNs = best((c) => timeReference(life, c), CALLS);
const blended = compileLens(life.definition, syntheticModel(life));
const blendNs = best((c) => timeLens(blended, c), CALLS);
const fournier = registry.get('fournier');
const evidenceNs = best((c) => timeLens(fournier, c, true), CALLS / 4);
const allNs = best((c) => timeAllLenses(registry.current(), c), CALLS / 2);
console.log(`mean over the four lenses: ${meanNs.toFixed(0)} ns per lens per call (target < ${TARGET_NS} ns: ${(TARGET_NS / meanNs).toFixed(1)}x headroom)`);
console.log(`processor pattern (one record, all four lenses): ${allNs.toFixed(0)} ns per event = ${(allNs / 4).toFixed(0)} ns per lens call`);
console.log(`lifecycle blended with a learned model on all ${INDICATOR_CATALOGUE.length} indicators: ${blendNs.toFixed(0)} ns/call`);
console.log(`fournier with evidence read (top 5, lazy): ${evidenceNs.toFixed(0)} ns/call`);
console.log(`reference: reading lifecycle's indicators from the record: ${refNs.toFixed(0)} ns/call (classify is ${(perLens.lifecycle!.nsPerCall / refNs).toFixed(1)}x that)`);
Object.assign(figures, {
  bench: 'classify',
  calls: CALLS,
  lenses: perLens,
  meanNsPerLensCall: Math.round(meanNs),
  targetNs: TARGET_NS,
  ratioToTarget: Number((meanNs / TARGET_NS).toFixed(3)),
  allLensesPerEventNs: Math.round(allNs),
  blendedLifecycleNs: Math.round(blendNs),
  fournierWithEvidenceNs: Math.round(evidenceNs),
  referenceReadNs: Number(refNs.toFixed(1)),
  ratioToReference: Number((perLens.lifecycle!.nsPerCall / refNs).toFixed(2)),
});
console.log(JSON.stringify(figures));
