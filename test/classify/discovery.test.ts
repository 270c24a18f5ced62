import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareIntended, discover, kMeans, type DiscoveryRow } from '../../src/classify/discovery';
import { createInMemoryIndicatorReadModel } from '../../src/classify/in-memory-indicator-read-model';
import { BUILTIN_LENS_DIR, createLensRegistry } from '../../src/classify/lens-registry';
import { runDiscover } from '../../src/cli/commands/discover';
import { createRng } from '../../src/domain/random';

/** Three planted groups on four indicators; group 2's assigned types are mixed (no type explains it). */
function planted(perGroup: number, seed: number): DiscoveryRow[] {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
  const centres = [
    { purchase_regularity: 0.9, sentiment_ewma: 0.6, email_open_rate: 0.7, discount_share: 0.1 },
    { purchase_regularity: 0.2, sentiment_ewma: -0.5, email_open_rate: 0.1, discount_share: 0.2 },
    { purchase_regularity: 0.3, sentiment_ewma: 0.1, email_open_rate: 0.3, discount_share: 0.9 },
  ];
  const rows: DiscoveryRow[] = [];
  centres.forEach((c, g) => {
    for (let i = 0; i < perGroup; i++) {
      const indicators = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v + gauss() * 0.05]));
      const type = g === 0 ? (i % 10 === 0 ? 'y' : 'x') : g === 1 ? (i % 10 === 0 ? 'x' : 'y') : ['x', 'y', 'z'][i % 3]!;
      rows.push({ customerId: `g${g}-${i}`, indicators, traits: {}, type });
    }
  });
  return rows;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('discovery', () => {
  const rows = planted(80, 5);
  const result = discover(rows, { seed: 11, maxK: 6 });

  it('chooses the planted number of clusters by silhouette and recovers the groups', () => {
    expect(result.chosenBy).toBe('silhouette');
    expect(result.silhouette.map((s) => s.k)).toEqual([2, 3, 4, 5, 6]);
    const best = [...result.silhouette].sort((a, b) => b.score - a.score)[0]!;
    expect(best.k).toBe(3);
    expect(result.k).toBe(3);
    expect(result.clusters.map((c) => c.size).sort()).toEqual([80, 80, 80]);
    // Every planted group lands in exactly one cluster.
    for (let g = 0; g < 3; g++) {
      const labels = new Set(result.assignments.slice(g * 80, g * 80 + 80));
      expect(labels.size).toBe(1);
    }
  });

  it('describes clusters by their most distinctive indicators', () => {
    const discounted = result.clusters[result.assignments[160]!]!;
    expect(discounted.distinctive[0]!.indicator).toBe('discount_share');
    expect(discounted.distinctive[0]!.smd).toBeGreaterThan(1);
    expect(discounted.distinctive[0]!.clusterMean).toBeCloseTo(0.9, 1);
    const unhappy = result.clusters[result.assignments[80]!]!;
    expect(unhappy.distinctive.find((d) => d.indicator === 'sentiment_ewma')!.smd).toBeLessThan(-1);
  });

  it('cross-tabulates with assigned types and flags the cluster no type explains', () => {
    expect(result.types).toEqual(['x', 'y', 'z']);
    expect(result.crossTab.flat().reduce((a, b) => a + b, 0)).toBe(240);
    const mixed = result.assignments[160]!;
    expect(result.unexplainedClusters).toEqual([mixed]);
    expect(result.clusters[mixed]!.topShare).toBeCloseTo(1 / 3, 1);
    const loyal = result.clusters[result.assignments[0]!]!;
    expect(loyal).toMatchObject({ topType: 'x', unexplained: false });
    expect(loyal.topShare).toBeCloseTo(0.9, 5);
    // A lower bar explains everything.
    expect(discover(rows, { seed: 11, k: 3, minShare: 0.3 }).unexplainedClusters).toEqual([]);
  });

  it('takes a given k and is deterministic', () => {
    const a = discover(rows, { seed: 2, k: 4 });
    const b = discover(rows, { seed: 2, k: 4 });
    expect(a).toEqual(b);
    expect(a).toMatchObject({ k: 4, chosenBy: 'given', silhouette: [] });
  });

  it('k-means++ handles duplicates and k = n', () => {
    const X = Float64Array.from([0, 0, 0, 0, 5, 5]);
    const r = kMeans(X, 3, 2, 3, createRng(1));
    expect(new Set(r.labels).size).toBeGreaterThanOrEqual(2);
    expect(r.inertia).toBe(0);
  });

  it('compares the intended mix with the measured one', () => {
    const cmp = compareIntended({ a: 2, b: 1, c: 1 }, { a: 10, b: 30 }, ['a', 'b', 'c']);
    expect(cmp).toEqual([
      { type: 'a', intended: 0.5, measured: 0.25, difference: -0.25 },
      { type: 'b', intended: 0.25, measured: 0.75, difference: 0.5 },
      { type: 'c', intended: 0.25, measured: 0, difference: -0.25 },
    ]);
  });

  it('rapport discover: clusters the read model, uses stored types or classifies on the fly, compares with intended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-discover-'));
    dirs.push(dir);
    const lensDir = join(dir, 'lenses');
    mkdirSync(lensDir);
    writeFileSync(
      join(lensDir, 'mood.yaml'),
      `lens: mood
title: Mood
intended: { happy: 0.8, grumpy: 0.2 }
types:
  happy: { label: Happy, description: Positive., prior: 0.5, conditions: [{ indicator: sentiment_ewma, above: 0, weight: 2 }], policy: {} }
  grumpy: { label: Grumpy, description: Negative., prior: 0.5, conditions: [{ indicator: sentiment_ewma, below: 0, weight: 2 }], policy: {} }
`,
    );
    const registry = createLensRegistry({ builtinDir: lensDir });
    const readModel = createInMemoryIndicatorReadModel(
      rows.map((r, i) => ({ customerId: r.customerId, indicators: r.indicators, traits: {}, types: (i < 10 ? { mood: 'grumpy' } : {}) as Record<string, string> })),
    );
    const r = await runDiscover({ lens: 'mood', seed: 11, maxK: 5 }, { readModel, registry });
    expect(r.k).toBe(3);
    expect(r.classifiedOnTheFly).toBe(230);
    const grumpy = 10 + rows.slice(10).filter((x) => x.indicators.sentiment_ewma! < 0).length;
    expect(r.typeCounts).toEqual({ grumpy, happy: 240 - grumpy });
    expect(r.intended.map((i) => i.type)).toEqual(['happy', 'grumpy']);
    expect(r.intended[1]!.measured).toBeCloseTo(grumpy / 240);
    expect(r.intended[1]!.difference).toBeCloseTo(grumpy / 240 - 0.2);
    expect(JSON.parse(JSON.stringify(r))).not.toHaveProperty('assignments');
    await expect(runDiscover({ lens: 'mood', features: ['sentiment_ewmaa'] }, { readModel, registry })).rejects.toThrow(/did you mean 'sentiment_ewma'/);
    const builtin = createLensRegistry({ builtinDir: BUILTIN_LENS_DIR });
    const life = await runDiscover({ lens: 'lifecycle', k: 3 }, { readModel, registry: builtin });
    expect(life.intended).toHaveLength(5);
  });
});
