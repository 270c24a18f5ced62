import { INDICATOR_CATALOGUE, type Indicators } from '../domain/indicator-catalogue';
import { featureSpec, featureValue, type FeatureSpec } from '../domain/lens-learned';
import { createRng, type Rng } from '../domain/random';

/**
 * Discovery: clusters customers on standardised indicators (seeded k-means++, k chosen by the
 * silhouette on a sample unless given), describes each cluster by its most distinctive
 * indicators, cross-tabulates clusters with the types a lens assigned and flags clusters no type
 * explains. Also compares the company's intended type mix with the measured one.
 */

/** One customer for discovery. */
export interface DiscoveryRow {
  readonly customerId: string;
  readonly indicators: Indicators;
  readonly traits: Readonly<Record<string, unknown>>;
  /** Assigned type in the lens being checked, when any. */
  readonly type?: string;
}

/** Discovery options. */
export interface DiscoveryOptions {
  /** Fixed number of clusters; otherwise chosen from minK..maxK by silhouette. */
  readonly k?: number;
  readonly minK?: number;
  readonly maxK?: number;
  readonly seed?: number;
  /** Customers used to choose k (silhouette is quadratic), default 2,000. */
  readonly sample?: number;
  /** A cluster is "unexplained" when no type has at least this share of it (default 0.5). */
  readonly minShare?: number;
  /** Indicator names to cluster on (default: every catalogue indicator that varies). */
  readonly features?: readonly string[];
  /** k-means restarts per k (best inertia wins), default 3. */
  readonly restarts?: number;
  /** Distinctive indicators listed per cluster, default 5. */
  readonly topFeatures?: number;
  /** Column order of the cross-tab (e.g. the lens's type order); other types follow, sorted. */
  readonly typeOrder?: readonly string[];
  readonly onProgress?: (done: number, total: number) => void;
}

/** An indicator that sets a cluster apart. */
export interface DistinctiveIndicator {
  readonly indicator: string;
  /** Standardised mean difference: cluster mean minus overall mean, in overall standard deviations. */
  readonly smd: number;
  /** Mean of the (untransformed) indicator in the cluster and overall. */
  readonly clusterMean: number;
  readonly overallMean: number;
}

/** One discovered cluster. */
export interface ClusterDescription {
  readonly cluster: number;
  readonly size: number;
  readonly share: number;
  readonly distinctive: readonly DistinctiveIndicator[];
  /** Customers per assigned type in this cluster. */
  readonly types: Readonly<Record<string, number>>;
  readonly topType: string | null;
  readonly topShare: number;
  /** No type covers at least `minShare` of the cluster: a relationship no lens type describes. */
  readonly unexplained: boolean;
}

/** Intended versus measured share of one type. */
export interface IntendedComparison {
  readonly type: string;
  readonly intended: number;
  readonly measured: number;
  /** measured - intended. */
  readonly difference: number;
}

/** Result of discovery. */
export interface DiscoveryResult {
  readonly n: number;
  readonly k: number;
  readonly chosenBy: 'given' | 'silhouette';
  /** Mean silhouette per candidate k (on the sample). */
  readonly silhouette: readonly { readonly k: number; readonly score: number }[];
  readonly features: readonly string[];
  readonly clusters: readonly ClusterDescription[];
  /** Types in column order of the cross-tab. */
  readonly types: readonly string[];
  /** crossTab[c][t]: customers of cluster c with type types[t]. */
  readonly crossTab: readonly (readonly number[])[];
  readonly unexplainedClusters: readonly number[];
  /** Cluster of each row, in input order. */
  readonly assignments: readonly number[];
}

/** Result of one k-means run. */
export interface KMeansResult {
  readonly labels: Int32Array;
  readonly centroids: Float64Array;
  readonly inertia: number;
}

function sqDist(X: Float64Array, i: number, C: Float64Array, c: number, d: number): number {
  let s = 0;
  const a = i * d;
  const b = c * d;
  for (let j = 0; j < d; j++) {
    const t = X[a + j]! - C[b + j]!;
    s += t * t;
  }
  return s;
}

/** k-means with k-means++ seeding (Lloyd iterations until stable or `maxIterations`). */
export function kMeans(X: Float64Array, n: number, d: number, k: number, rng: Rng, maxIterations = 100): KMeansResult {
  const C = new Float64Array(k * d);
  const first = Math.floor(rng.next() * n);
  C.set(X.subarray(first * d, first * d + d), 0);
  const dist = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = sqDist(X, i, C, c - 1, d);
      if (v < dist[i]!) dist[i] = v;
      total += dist[i]!;
    }
    let pick = n - 1;
    let r = rng.next() * total;
    for (let i = 0; i < n; i++) {
      r -= dist[i]!;
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    C.set(X.subarray(pick * d, pick * d + d), c * d);
  }
  const labels = new Int32Array(n).fill(-1);
  const counts = new Int32Array(k);
  let inertia = 0;
  for (let it = 0; it < maxIterations; it++) {
    let moved = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const v = sqDist(X, i, C, c, d);
        if (v < bestD) {
          bestD = v;
          best = c;
        }
      }
      dist[i] = bestD;
      inertia += bestD;
      if (labels[i] !== best) {
        labels[i] = best;
        moved++;
      }
    }
    if (moved === 0 && it > 0) break;
    C.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      counts[c]!++;
      for (let j = 0; j < d; j++) C[c * d + j] = C[c * d + j]! + X[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        // Empty cluster: restart it at the point farthest from its centre.
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i]! > dist[far]!) far = i;
        C.set(X.subarray(far * d, far * d + d), c * d);
        dist[far] = 0;
        continue;
      }
      for (let j = 0; j < d; j++) C[c * d + j] = C[c * d + j]! / counts[c]!;
    }
  }
  return { labels, centroids: C, inertia };
}

/** Mean silhouette of a labelling given a full distance matrix (m x m). */
export function silhouette(D: Float64Array, m: number, labels: Int32Array, k: number): number {
  const sums = new Float64Array(k);
  const sizes = new Int32Array(k);
  for (let i = 0; i < m; i++) sizes[labels[i]!]!++;
  let total = 0;
  for (let i = 0; i < m; i++) {
    sums.fill(0);
    for (let j = 0; j < m; j++) if (j !== i) sums[labels[j]!] = sums[labels[j]!]! + D[i * m + j]!;
    const own = labels[i]!;
    if (sizes[own]! <= 1) continue; // singleton: s = 0
    const a = sums[own]! / (sizes[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sums[c]! / sizes[c]!);
    if (b === Infinity) continue;
    const den = Math.max(a, b);
    total += den > 0 ? (b - a) / den : 0;
  }
  return m ? total / m : 0;
}

function bestOf(X: Float64Array, n: number, d: number, k: number, rng: Rng, restarts: number): KMeansResult {
  let best: KMeansResult | undefined;
  for (let r = 0; r < restarts; r++) {
    const res = kMeans(X, n, d, Math.min(k, n), rng);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}

/** Standardised feature matrix (missing = 0, i.e. the mean), the specs used, and raw means. */
export function standardiseRows(rows: readonly DiscoveryRow[], names?: readonly string[]): { X: Float64Array; features: FeatureSpec[]; d: number } {
  const candidates = (names ?? INDICATOR_CATALOGUE.map((s) => s.name)).map(featureSpec);
  const n = rows.length;
  const cols: { spec: FeatureSpec; values: Float64Array; mean: number; sd: number }[] = [];
  for (const spec of candidates) {
    const values = Float64Array.from(rows, (r) => featureValue(spec, r.indicators, r.traits));
    let cnt = 0;
    let s = 0;
    for (const v of values) if (v === v) (cnt++, (s += v));
    if (cnt < 2) continue;
    const mean = s / cnt;
    let ss = 0;
    for (const v of values) if (v === v) ss += (v - mean) * (v - mean);
    const sd = Math.sqrt(ss / cnt);
    if (sd > 1e-12) cols.push({ spec, values, mean, sd });
  }
  const d = cols.length;
  const X = new Float64Array(n * d);
  cols.forEach((c, j) => {
    for (let i = 0; i < n; i++) {
      const v = c.values[i]!;
      X[i * d + j] = v === v ? (v - c.mean) / c.sd : 0;
    }
  });
  return { X, features: cols.map((c) => c.spec), d };
}

/** Runs discovery over the rows. Deterministic for a given seed. */
export function discover(rows: readonly DiscoveryRow[], opts: DiscoveryOptions = {}): DiscoveryResult {
  const n = rows.length;
  const rng = createRng(opts.seed ?? 1);
  const restarts = opts.restarts ?? 3;
  const minShare = opts.minShare ?? 0.5;
  const { X, features, d } = standardiseRows(rows, opts.features);
  const minK = Math.max(2, opts.minK ?? 2);
  const maxK = Math.max(minK, Math.min(opts.maxK ?? 10, n - 1));
  const candidates: number[] = [];
  if (opts.k === undefined) for (let k = minK; k <= maxK; k++) candidates.push(k);
  const total = candidates.length + 1;
  const silhouettes: { k: number; score: number }[] = [];
  let k = opts.k ?? minK;
  let reuse: KMeansResult | undefined;
  if (candidates.length > 0 && n >= 3) {
    const m = Math.min(n, opts.sample ?? 2000);
    // A seeded sample without replacement (partial Fisher-Yates).
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rng.next() * (n - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const sample = idx.slice(0, m).sort((a, b) => a - b);
    const S = new Float64Array(m * d);
    sample.forEach((i, r) => S.set(X.subarray(i * d, i * d + d), r * d));
    const D = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) {
          const v = S[i * d + t]! - S[j * d + t]!;
          s += v * v;
        }
        D[i * m + j] = D[j * m + i] = Math.sqrt(s);
      }
    }
    let bestScore = -Infinity;
    candidates.forEach((kk, step) => {
      const res = bestOf(S, m, d, kk, rng, restarts);
      const score = silhouette(D, m, res.labels, kk);
      silhouettes.push({ k: kk, score });
      if (score > bestScore + 1e-12) {
        bestScore = score;
        k = kk;
        if (m === n) reuse = res;
      }
      opts.onProgress?.(step + 1, total);
    });
  }
  k = Math.max(1, Math.min(k, n));
  const final = reuse ?? bestOf(X, n, d, k, rng, restarts);
  opts.onProgress?.(total, total);
  return describeClusters(rows, X, d, features, final.labels, k, {
    chosenBy: opts.k === undefined ? 'silhouette' : 'given',
    silhouettes,
    minShare,
    topFeatures: opts.topFeatures ?? 5,
    typeOrder: opts.typeOrder ?? [],
  });
}

function describeClusters(
  rows: readonly DiscoveryRow[],
  X: Float64Array,
  d: number,
  features: readonly FeatureSpec[],
  labels: Int32Array,
  k: number,
  o: { chosenBy: 'given' | 'silhouette'; silhouettes: { k: number; score: number }[]; minShare: number; topFeatures: number; typeOrder: readonly string[] },
): DiscoveryResult {
  const n = rows.length;
  const present = new Set(rows.map((r) => r.type).filter((t): t is string => typeof t === 'string'));
  const typeNames = [...o.typeOrder.filter((t) => present.has(t)), ...[...present].filter((t) => !o.typeOrder.includes(t)).sort()];
  const tIndex = new Map(typeNames.map((t, i) => [t, i]));
  const crossTab = Array.from({ length: k }, () => typeNames.map(() => 0));
  const sizes = new Array<number>(k).fill(0);
  const zSum = Array.from({ length: k }, () => new Float64Array(d));
  const rawMean = (spec: FeatureSpec, members: number[] | null) => {
    let s = 0;
    let c = 0;
    const list = members ?? rows.map((_, i) => i);
    for (const i of list) {
      const v = featureValue({ name: spec.name, log: false }, rows[i]!.indicators, rows[i]!.traits);
      if (v === v) (s += v), c++;
    }
    return c ? s / c : Number.NaN;
  };
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    sizes[c]!++;
    members[c]!.push(i);
    for (let j = 0; j < d; j++) zSum[c]![j] = zSum[c]![j]! + X[i * d + j]!;
    const t = rows[i]!.type;
    if (t !== undefined) crossTab[c]![tIndex.get(t)!]!++;
  }
  const overall = features.map((f) => rawMean(f, null));
  const clusters: ClusterDescription[] = [];
  for (let c = 0; c < k; c++) {
    const size = sizes[c]!;
    const smd = features.map((f, j) => ({ j, f, smd: size ? zSum[c]![j]! / size : 0 }));
    smd.sort((a, b) => Math.abs(b.smd) - Math.abs(a.smd) || a.f.name.localeCompare(b.f.name));
    const distinctive = smd.slice(0, o.topFeatures).map(({ j, f, smd: s }) => ({
      indicator: f.name,
      smd: s,
      clusterMean: rawMean(f, members[c]!),
      overallMean: overall[j]!,
    }));
    const typed = crossTab[c]!.reduce((a, b) => a + b, 0);
    let topType: string | null = null;
    let top = 0;
    crossTab[c]!.forEach((v, t) => {
      if (v > top) {
        top = v;
        topType = typeNames[t]!;
      }
    });
    const topShare = typed ? top / typed : 0;
    const types: Record<string, number> = {};
    crossTab[c]!.forEach((v, t) => {
      if (v > 0) types[typeNames[t]!] = v;
    });
    clusters.push({ cluster: c, size, share: n ? size / n : 0, distinctive, types, topType, topShare, unexplained: typed > 0 && topShare < o.minShare });
  }
  return {
    n,
    k,
    chosenBy: o.chosenBy,
    silhouette: o.silhouettes,
    features: features.map((f) => f.name),
    clusters,
    types: typeNames,
    crossTab,
    unexplainedClusters: clusters.filter((c) => c.unexplained).map((c) => c.cluster),
    assignments: [...labels],
  };
}

/**
 * Compares the intended type mix (the company's self-image) with the measured one.
 * `counts` are customers per assigned type; both sides are normalised to shares.
 */
export function compareIntended(intended: Readonly<Record<string, number>>, counts: Readonly<Record<string, number>>, typeOrder?: readonly string[]): IntendedComparison[] {
  const iTotal = Object.values(intended).reduce((a, b) => a + b, 0);
  const mTotal = Object.values(counts).reduce((a, b) => a + b, 0);
  const types = typeOrder ? [...typeOrder] : [...new Set([...Object.keys(intended), ...Object.keys(counts)])].sort();
  return types.map((type) => {
    const i = iTotal ? (intended[type] ?? 0) / iTotal : 0;
    const m = mTotal ? (counts[type] ?? 0) / mTotal : 0;
    return { type, intended: i, measured: m, difference: m - i };
  });
}
