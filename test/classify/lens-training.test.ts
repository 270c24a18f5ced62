import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createInMemoryIndicatorReadModel } from '../../src/classify/in-memory-indicator-read-model';
import { parseLabels } from '../../src/classify/labels';
import { listLensModelVersions, loadLensModel, saveLensModel } from '../../src/classify/lens-model-store';
import { createLensRegistry } from '../../src/classify/lens-registry';
import { explainModel, predictWithModel, trainLensModel, type LabelledRow } from '../../src/classify/lens-training';
import { runTrain } from '../../src/cli/commands/train';
import { RapportError } from '../../src/domain/errors';
import { parseLens } from '../../src/domain/lens';
import { classify, compileLens } from '../../src/domain/lens-classifier';
import { createRng } from '../../src/domain/random';
import type { IndicatorRow } from '../../src/ports/indicator-read-model';

const LENS = `lens: trio
title: Three types
learned_weight: 0.7
types:
  heavy:
    label: Heavy
    description: Buys a lot.
    prior: 0.34
    conditions: [{ indicator: frequency_90d, above: 6, weight: 2 }]
    policy: {}
  unhappy:
    label: Unhappy
    description: Low NPS.
    prior: 0.33
    conditions: [{ indicator: nps, below: 5, weight: 2 }]
    policy: {}
  reader:
    label: Reader
    description: Reads every e-mail (the YAML does not know this yet).
    prior: 0.33
    conditions: [{ indicator: frequency_90d, between: [2, 6], weight: 0.5 }]
    policy: {}
`;
const lens = parseLens(LENS, 'trio.yaml');

/** Separable synthetic customers: each type has its own centre on a few indicators, plus noise. */
function synthetic(n: number, seed: number): (LabelledRow & { id: string })[] {
  const rng = createRng(seed);
  const gauss = () => {
    const u = Math.max(rng.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  };
  const types = ['heavy', 'unhappy', 'reader'] as const;
  return Array.from({ length: n }, (_, i) => {
    const label = types[i % 3]!;
    const freq = label === 'heavy' ? 10 : label === 'reader' ? 4 : 3;
    const indicators = {
      frequency_90d: Math.max(0, freq + gauss() * 1.2),
      nps: label === 'unhappy' ? Math.max(0, 2 + gauss()) : Math.min(10, 8 + gauss()),
      email_open_rate: Math.min(1, Math.max(0, (label === 'reader' ? 0.8 : 0.2) + gauss() * 0.08)),
      tenure_days: 300 + rng.next() * 500, // noise feature
    };
    return { id: `c${String(i).padStart(4, '0')}`, indicators, traits: {}, label };
  });
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'rapport-train-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('learning from labels', () => {
  const rows = synthetic(300, 7);
  const model = trainLensModel(lens, rows, { folds: 5, seed: 3, createdAt: 1_700_000_000_000 });

  it('recovers the labels of separable data with a high cross-validated macro-F1', () => {
    expect(model.cv.n).toBe(300);
    expect(model.cv.macroF1).toBeGreaterThan(0.95);
    expect(model.cv.labels).toEqual(['heavy', 'unhappy', 'reader']);
    expect(model.cv.confusion.flat().reduce((a, b) => a + b, 0)).toBe(300);
    expect(model.features.map((f) => f.name)).toEqual(expect.arrayContaining(['frequency_90d', 'nps', 'email_open_rate', 'tenure_days']));
    expect(model.features.find((f) => f.name === 'frequency_90d')!.log).toBe(true);
    expect(model.createdAt).toBe(1_700_000_000_000);
    expect(model.classCounts).toEqual({ heavy: 100, unhappy: 100, reader: 100 });
  });

  it('is deterministic', () => {
    const again = trainLensModel(lens, rows, { folds: 5, seed: 3, createdAt: 1_700_000_000_000 });
    expect(again).toEqual(model);
  });

  it('is explained by its weights', () => {
    const ex = explainModel(model, 3);
    const byType = Object.fromEntries(ex.map((e) => [e.type, e]));
    expect(byType.heavy!.positive[0]!.feature).toBe('frequency_90d');
    expect(byType.unhappy!.negative[0]!.feature).toBe('nps');
    expect(byType.reader!.positive[0]!.feature).toBe('email_open_rate');
    const p = predictWithModel(model, rows[2]!.indicators, {});
    expect(p.reader).toBeGreaterThan(0.5);
  });

  it('blends learned weights with the YAML prior and improves the classification', () => {
    const yamlOnly = compileLens(lens);
    const saved = { ...model, version: 1 };
    const blended = compileLens(lens, saved);
    const test = synthetic(150, 99);
    let yamlHits = 0;
    let blendHits = 0;
    for (const r of test) {
      const a = classify(yamlOnly, { indicators: r.indicators, traits: {} }, undefined).classification;
      const b = classify(blended, { indicators: r.indicators, traits: {} }, undefined).classification;
      if (a.type === r.label) yamlHits++;
      if (b.type === r.label) blendHits++;
    }
    expect(blendHits / test.length).toBeGreaterThan(0.9);
    expect(blendHits).toBeGreaterThan(yamlHits);
    const x = test[0]!;
    const pa = classify(yamlOnly, { indicators: x.indicators, traits: {} }, undefined).classification.probabilities;
    const pb = classify(blended, { indicators: x.indicators, traits: {} }, undefined).classification;
    expect(pb.probabilities.heavy).not.toBeCloseTo(pa.heavy!, 3);
    expect(pb.evidence.some((e) => e.source === 'model')).toBe(true);
    // λ = 0 gives back the YAML probabilities exactly.
    const off = compileLens({ ...lens, learnedWeight: 0 }, saved);
    const po = classify(off, { indicators: x.indicators, traits: {} }, undefined).classification.probabilities;
    expect(po.heavy).toBeCloseTo(pa.heavy!, 12);
  });

  it('scores the model at classification exactly as training does (λ = 1 equals the model alone)', () => {
    const full = compileLens({ ...lens, learnedWeight: 1 }, { ...model, version: 1 });
    for (const r of synthetic(30, 5)) {
      const withTraits = { ...r.indicators, nps: r.label === 'reader' ? -1 : r.indicators.nps! };
      const got = classify(full, { indicators: withTraits, traits: {} }, undefined).classification.probabilities;
      const want = predictWithModel(model, withTraits, {});
      for (const t of ['heavy', 'unhappy', 'reader']) expect(got[t]).toBeCloseTo(want[t]!, 10);
    }
  });

  it('rejects labels that are not types of the lens, suggesting the closest', () => {
    const bad = rows.slice(0, 10).map((r, i) => (i === 0 ? { ...r, label: 'heavvy' } : r));
    try {
      trainLensModel(lens, bad, { createdAt: 0 });
      expect.unreachable();
    } catch (err) {
      expect((err as RapportError).code).toBe('invalid_labels');
      expect((err as Error).message).toContain("'heavvy' (1x) — did you mean 'heavy'?");
    }
  });

  it('versions models on disk with a latest pointer', () => {
    const root = tempDir();
    const a = saveLensModel(root, model);
    const b = saveLensModel(root, model);
    expect([a.model.version, b.model.version]).toEqual([1, 2]);
    expect(listLensModelVersions(root, 'trio')).toEqual([1, 2]);
    expect(readFileSync(join(root, 'trio', 'latest'), 'utf8').trim()).toBe('v2');
    expect(loadLensModel(root, 'trio')!.version).toBe(2);
    expect(loadLensModel(root, 'trio', 1)!.version).toBe(1);
    expect(loadLensModel(root, 'other')).toBeUndefined();
  });

  it('parses CSV and NDJSON label files', () => {
    const csv = parseLabels('id;x\n', 'l.csv', { id: 'id', label: 'x' });
    expect(csv.labels.size).toBe(0);
    const set = parseLabels('customer_id,label\nc1,Heavy\nc2, one-night stand \nc3,\nc1,unhappy\n', 'labels.csv');
    expect([...set.labels]).toEqual([
      ['c1', 'unhappy'],
      ['c2', 'one_night_stand'],
    ]);
    expect(set).toMatchObject({ skipped: 1, duplicates: 1 });
    const nd = parseLabels('{"user":"c1","type":"reader"}\n\n{"user":"c2","type":"heavy"}\n', 'labels.ndjson', { id: 'user', label: 'type' });
    expect(Object.fromEntries(nd.labels)).toEqual({ c1: 'reader', c2: 'heavy' });
    expect(() => parseLabels('customer,label\nc1,a\n', 'labels.csv')).toThrow(/no column 'customer_id'/);
    expect(() => parseLabels('{"a":1}\nnot json\n', 'x.ndjson')).toThrow(/x\.ndjson:2:1/);
  });

  it('rapport train: reads labels, trains, saves a version, and the registry then blends it', async () => {
    const dir = tempDir();
    const lensDir = join(dir, 'lenses');
    const modelsDir = join(dir, 'models', 'lenses');
    mkdirSync(lensDir, { recursive: true });
    writeFileSync(join(lensDir, 'trio.yaml'), LENS);
    const customers: IndicatorRow[] = rows.map((r) => ({ customerId: r.id, indicators: r.indicators, traits: {}, types: {} }));
    const readModel = createInMemoryIndicatorReadModel(customers);
    const labelsFile = join(dir, 'labels.csv');
    writeFileSync(labelsFile, 'customer_id,label\n' + rows.map((r) => `${r.id},${r.label}`).join('\n') + '\nunknown-id,heavy\n');
    const registry = createLensRegistry({ builtinDir: lensDir, modelsDir });
    expect(registry.get('trio').learned).toBeUndefined();
    const progress: number[] = [];
    const result = await runTrain({ lens: 'trio', labels: labelsFile, folds: 4 }, { readModel, registry, modelsDir, now: () => 42, onProgress: (d) => progress.push(d) });
    expect(result).toMatchObject({ lens: 'trio', version: 1, trainingSize: 300, missingCustomers: 1, folds: 4, learnedWeight: 0.7 });
    expect(result.cv.macroF1).toBeGreaterThan(0.95);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    expect(existsSync(result.path)).toBe(true);
    expect(loadLensModel(modelsDir, 'trio')!.createdAt).toBe(42);
    expect(registry.reload().ok).toBe(true);
    expect(registry.get('trio').learned?.model.version).toBe(1);

    // Labels from the survey trait when no file is given.
    const surveyed = createInMemoryIndicatorReadModel(customers.map((c, i) => ({ ...c, traits: { relationship: rows[i]!.label } })));
    const fromTrait = await runTrain({ lens: 'trio' }, { readModel: surveyed, registry, modelsDir, now: () => 43 });
    expect(fromTrait).toMatchObject({ version: 2, trainingSize: 300, labelSource: 'trait relationship_trio / relationship' });
    await expect(runTrain({ lens: 'nope' }, { readModel, registry, modelsDir, now: () => 0 })).rejects.toMatchObject({ code: 'unknown_lens' });
    await expect(runTrain({ lens: 'trio' }, { readModel, registry, modelsDir, now: () => 0 })).rejects.toMatchObject({ code: 'invalid_labels' });
  });
});
