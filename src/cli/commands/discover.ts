import { Option, type Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { openIndicatorReadModel } from '../../app/open-indicator-read-model';
import { INDICATOR_NAMES } from '../../domain/indicator-catalogue';
import { suggest } from '../../domain/lens';
import { classify } from '../../domain/lens-classifier';
import { compareIntended, discover, type DiscoveryResult, type DiscoveryRow, type IntendedComparison } from '../../classify/discovery';
import type { LensRegistry } from '../../classify/lens-registry';
import type { IndicatorReadModel } from '../../ports/indicator-read-model';
import { dataOption, databaseUrlOption, jsonOption, parsePositiveInt, printResult, UsageError, type CliIo } from '../cli-context';
import { lensesDirOption, lensSources, openLensRegistry } from './lenses';
import type { RegisterCommand } from './index';

/** Arguments of `rapport discover`. */
export interface DiscoverArgs {
  /** Lens whose assigned types are cross-tabulated with the clusters (default: the first lens). */
  readonly lens?: string;
  /** Fixed number of clusters; otherwise chosen by silhouette in minK..maxK. */
  readonly k?: number;
  readonly minK?: number;
  readonly maxK?: number;
  readonly seed?: number;
  readonly sample?: number;
  /** A cluster is flagged when no type has at least this share of it (default 0.5). */
  readonly minShare?: number;
  /** Indicators to cluster on (default: every catalogue indicator that varies). */
  readonly features?: readonly string[];
}

/** What `runDiscover` needs. */
export interface DiscoverDeps {
  readonly readModel: IndicatorReadModel;
  readonly registry: LensRegistry;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Result of `rapport discover`. */
export interface DiscoverResult extends Omit<DiscoveryResult, 'assignments'> {
  readonly lens: string;
  /** Customers whose type was computed on the fly because the store had none for the lens. */
  readonly classifiedOnTheFly: number;
  /** Intended (the lens's `intended:` self-image) versus measured shares; empty when not configured. */
  readonly intended: readonly IntendedComparison[];
  /** Customers per assigned type. */
  readonly typeCounts: Readonly<Record<string, number>>;
}

/** Clusters the customers, describes the clusters and checks them against a lens and its intended mix. */
export async function runDiscover(args: DiscoverArgs, deps: DiscoverDeps): Promise<DiscoverResult> {
  const lensName = args.lens ?? deps.registry.names()[0];
  if (!lensName) throw new UsageError('no lens available: pass --lens NAME');
  const lens = deps.registry.get(lensName);
  for (const f of args.features ?? []) {
    if (!INDICATOR_NAMES.has(f)) {
      const hint = suggest(f, INDICATOR_NAMES);
      throw new UsageError(`unknown indicator '${f}' in --features${hint ? ` — did you mean '${hint}'?` : ''}`);
    }
  }
  const rows: DiscoveryRow[] = [];
  let onTheFly = 0;
  for await (const r of deps.readModel.iterate()) {
    let type = r.types[lensName];
    if (type === undefined) {
      type = classify(lens, { indicators: r.indicators, traits: r.traits }, undefined).classification.type;
      onTheFly++;
    }
    rows.push({ customerId: r.customerId, indicators: r.indicators, traits: r.traits, type });
  }
  if (rows.length < 3) throw new UsageError(`discovery needs at least 3 customers, found ${rows.length}`);
  const { assignments: _assignments, ...result } = discover(rows, {
    ...(args.k !== undefined ? { k: args.k } : {}),
    ...(args.minK !== undefined ? { minK: args.minK } : {}),
    ...(args.maxK !== undefined ? { maxK: args.maxK } : {}),
    seed: args.seed ?? 1,
    ...(args.sample !== undefined ? { sample: args.sample } : {}),
    minShare: args.minShare ?? 0.5,
    ...(args.features ? { features: args.features } : {}),
    typeOrder: lens.typeNames,
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const typeCounts: Record<string, number> = {};
  for (const r of rows) typeCounts[r.type!] = (typeCounts[r.type!] ?? 0) + 1;
  const intended = lens.definition.intended ? compareIntended(lens.definition.intended, typeCounts, lens.typeNames) : [];
  return { lens: lensName, classifiedOnTheFly: onTheFly, ...result, intended, typeCounts };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Human form of a discovery result. */
export function formatDiscoverResult(r: DiscoverResult): string {
  const lines = [
    `${r.n} customers, ${r.features.length} indicators, k = ${r.k} (${r.chosenBy === 'given' ? 'given' : 'chosen by silhouette'})`,
  ];
  if (r.silhouette.length) lines.push(`silhouette: ${r.silhouette.map((s) => `k=${s.k} ${s.score.toFixed(3)}`).join('  ')}`);
  for (const c of r.clusters) {
    lines.push(
      '',
      `cluster ${c.cluster}: ${c.size} customers (${pct(c.share)})${c.unexplained ? '  ** no type explains this cluster **' : ''}`,
      `  most common ${r.lens} type: ${c.topType ?? '-'} (${pct(c.topShare)})`,
      `  distinctive: ${c.distinctive.map((d) => `${d.indicator} ${d.smd >= 0 ? '+' : ''}${d.smd.toFixed(2)} sd (mean ${fmt(d.clusterMean)} vs ${fmt(d.overallMean)})`).join('; ')}`,
    );
  }
  const width = Math.max(8, ...r.types.map((t) => t.length));
  lines.push('', `clusters x ${r.lens} types:`, `${'type'.padEnd(width)}  ${r.clusters.map((c) => `c${c.cluster}`.padStart(7)).join('')}`);
  r.types.forEach((t, j) => lines.push(`${t.padEnd(width)}  ${r.crossTab.map((row) => String(row[j]).padStart(7)).join('')}`));
  if (r.unexplainedClusters.length) lines.push('', `clusters no ${r.lens} type explains: ${r.unexplainedClusters.map((c) => `c${c}`).join(', ')} — consider a new type or revised conditions`);
  if (r.intended.length) {
    lines.push('', `intended vs measured (${r.lens}):`, `${'type'.padEnd(width)}  intended  measured  difference`);
    for (const i of r.intended) lines.push(`${i.type.padEnd(width)}  ${pct(i.intended).padStart(8)}  ${pct(i.measured).padStart(8)}  ${((i.difference >= 0 ? '+' : '') + (i.difference * 100).toFixed(1) + ' pp').padStart(10)}`);
  }
  return lines.join('\n');
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3);
}

const parseShare = (v: string) => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new UsageError(`--min-share must be in (0, 1], got '${v}'`);
  return n;
};

/** `rapport discover`. */
export const registerDiscoverCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('discover')
    .description('cluster customers on their indicators, describe the clusters, flag those no lens type explains, compare with the intended mix')
    .option('--lens <name>', 'lens to cross-tabulate and compare with its intended mix (default: the first lens)')
    .option('--k <n>', 'number of clusters (default: chosen by silhouette)', parsePositiveInt('--k'))
    .option('--min-k <n>', 'smallest k tried', parsePositiveInt('--min-k'), 2)
    .option('--max-k <n>', 'largest k tried', parsePositiveInt('--max-k'), 10)
    .option('--seed <n>', 'seed for k-means++ and sampling', parsePositiveInt('--seed'), 1)
    .option('--sample <n>', 'customers sampled to choose k', parsePositiveInt('--sample'), 2000)
    .option('--min-share <x>', 'flag clusters where no type has at least this share', parseShare, 0.5)
    .addOption(new Option('--features <list>', 'comma-separated indicators to cluster on'))
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(lensesDirOption())
    .addOption(jsonOption())
    .action(async (opts: { lens?: string; k?: number; minK: number; maxK: number; seed: number; sample: number; minShare: number; features?: string; data: string; databaseUrl?: string; lensesDir?: string; json?: boolean }) => {
      if (opts.k !== undefined && opts.k < 2) throw new UsageError('--k must be at least 2');
      if (opts.minK > opts.maxK) throw new UsageError('--min-k must not exceed --max-k');
      const registry = openLensRegistry(lensSources(opts.data, opts.lensesDir ? [opts.lensesDir] : []));
      if (opts.lens) registry.get(opts.lens);
      const readModel = await openIndicatorReadModel({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'discover [{bar}] {value}/{total}', stream: process.stderr }, Presets.shades_classic) : null;
      let started = false;
      try {
        const r = await runDiscover(
          {
            ...(opts.lens ? { lens: opts.lens } : {}),
            ...(opts.k !== undefined ? { k: opts.k } : {}),
            minK: opts.minK,
            maxK: opts.maxK,
            seed: opts.seed,
            sample: opts.sample,
            minShare: opts.minShare,
            ...(opts.features ? { features: opts.features.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          },
          {
            readModel,
            registry,
            onProgress: (done, total) => {
              if (!bar) return;
              if (!started) bar.start(total, 0);
              started = true;
              bar.update(done);
            },
          },
        );
        if (started) bar?.stop();
        started = false;
        printResult(io, opts.json, r, () => formatDiscoverResult(r));
      } finally {
        if (started) bar?.stop();
        await readModel.close?.();
      }
    });
};
