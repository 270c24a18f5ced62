import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { openIndicatorReadModel } from '../../app/open-indicator-read-model';
import { ValidationError } from '../../domain/errors';
import type { LearnedLensModel } from '../../domain/lens-learned';
import type { EvaluationReport } from '../../classify/evaluation';
import { formatReport } from '../../classify/evaluation';
import { parseLabels } from '../../classify/labels';
import { lensModelsRoot, saveLensModel } from '../../classify/lens-model-store';
import type { LensRegistry } from '../../classify/lens-registry';
import { explainModel, trainLensModel, type LabelledRow } from '../../classify/lens-training';
import type { IndicatorReadModel } from '../../ports/indicator-read-model';
import { systemClock } from '../../ports/clock';
import { dataOption, databaseUrlOption, jsonOption, parsePositiveInt, printResult, UsageError, type CliIo } from '../cli-context';
import { lensesDirOption, lensSources, openLensRegistry } from './lenses';
import type { RegisterCommand } from './index';

/** Arguments of `rapport train`. */
export interface TrainArgs {
  readonly lens: string;
  /** Labels file (CSV or NDJSON); without it labels come from the trait `labelTrait`. */
  readonly labels?: string;
  readonly idColumn?: string;
  readonly labelColumn?: string;
  /** Trait holding the self-reported relationship (survey answer), default `relationship_<lens>` then `relationship`. */
  readonly labelTrait?: string;
  readonly folds?: number;
  readonly seed?: number;
  readonly l2?: number;
  readonly iterations?: number;
  /** Use only the indicators the lens references. */
  readonly lensFeaturesOnly?: boolean;
}

/** What `runTrain` needs. */
export interface TrainDeps {
  readonly readModel: IndicatorReadModel;
  readonly registry: LensRegistry;
  /** `<data>/models/lenses`. */
  readonly modelsDir: string;
  readonly now: () => number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Result of `rapport train`. */
export interface TrainResult {
  readonly lens: string;
  readonly version: number;
  readonly path: string;
  readonly trainingSize: number;
  /** Labelled ids not found among the customers. */
  readonly missingCustomers: number;
  readonly labelSource: string;
  readonly features: readonly string[];
  readonly cv: EvaluationReport;
  readonly folds: number;
  readonly learnedWeight: number;
  readonly explanation: ReturnType<typeof explainModel>;
}

/** Trains, cross-validates, saves and explains a learned model for one lens. */
export async function runTrain(args: TrainArgs, deps: TrainDeps): Promise<TrainResult> {
  const compiled = deps.registry.get(args.lens);
  const lens = compiled.definition;
  const rows: LabelledRow[] = [];
  let missing = 0;
  let labelSource: string;
  if (args.labels) {
    let text: string;
    try {
      text = readFileSync(args.labels, 'utf8');
    } catch (err) {
      throw new ValidationError(`cannot read labels file ${args.labels}: ${(err as Error).message}`, undefined, 'invalid_labels');
    }
    const set = parseLabels(text, args.labels, { id: args.idColumn ?? 'customer_id', label: args.labelColumn ?? 'label' });
    labelSource = args.labels;
    const ids = [...set.labels.keys()];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const found = await deps.readModel.get(chunk);
      for (const id of chunk) {
        const r = found.get(id);
        if (!r) missing++;
        else rows.push({ indicators: r.indicators, traits: r.traits, label: set.labels.get(id)! });
      }
    }
  } else {
    const keys = args.labelTrait ? [args.labelTrait] : [`relationship_${lens.lens}`, 'relationship'];
    labelSource = `trait ${keys.join(' / ')}`;
    for await (const r of deps.readModel.iterate()) {
      const v = keys.map((k) => r.traits[k]).find((x) => typeof x === 'string' && x.trim() !== '');
      if (typeof v === 'string') rows.push({ indicators: r.indicators, traits: r.traits, label: v.trim().toLowerCase().replace(/[\s-]+/g, '_') });
    }
  }
  if (rows.length === 0) {
    throw new ValidationError(
      args.labels ? `no labelled customer of ${args.labels} is known (${missing} ids not found)` : `no customer has a self-reported relationship (${labelSource}); pass --labels FILE`,
      undefined,
      'invalid_labels',
    );
  }
  const trained = trainLensModel(lens, rows, {
    folds: args.folds ?? 5,
    seed: args.seed ?? 1,
    ...(args.l2 !== undefined ? { l2: args.l2 } : {}),
    ...(args.iterations !== undefined ? { iterations: args.iterations } : {}),
    allIndicators: !args.lensFeaturesOnly,
    createdAt: deps.now(),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const { model, path } = saveLensModel(deps.modelsDir, trained);
  return resultOf(model, path, missing, labelSource, lens.learnedWeight);
}

function resultOf(model: LearnedLensModel, path: string, missing: number, labelSource: string, learnedWeight: number): TrainResult {
  return {
    lens: model.lens,
    version: model.version,
    path,
    trainingSize: model.trainingSize,
    missingCustomers: missing,
    labelSource,
    features: model.features.map((f) => f.name),
    cv: model.cv,
    folds: model.folds,
    learnedWeight,
    explanation: explainModel(model, 5),
  };
}

/** Human form of a training result: CV report, then the strongest weights per type. */
export function formatTrainResult(r: TrainResult): string {
  const fmt = (w: number) => (w >= 0 ? '+' : '') + w.toFixed(2);
  const lines = [
    `lens ${r.lens}: model v${r.version} saved to ${r.path}`,
    `trained on ${r.trainingSize} labelled customers (${r.labelSource})${r.missingCustomers ? `, ${r.missingCustomers} labelled ids not found` : ''}; ${r.features.length} features`,
    `blended with the YAML weights as (1-λ)·yaml + λ·learned, λ = ${r.learnedWeight}`,
    '',
    `${r.folds}-fold cross-validation:`,
    formatReport(r.cv),
    '',
    'strongest weights per type (per standard deviation of the feature):',
  ];
  for (const e of r.explanation) {
    lines.push(`  ${e.type}`);
    lines.push(`    for:     ${e.positive.map((w) => `${w.feature} ${fmt(w.weight)}`).join(', ') || '-'}`);
    lines.push(`    against: ${e.negative.map((w) => `${w.feature} ${fmt(w.weight)}`).join(', ') || '-'}`);
  }
  return lines.join('\n');
}

const parseNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a non-negative number, got '${v}'`);
  return n;
};

/** `rapport train --lens X --labels FILE`. */
export const registerTrainCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('train')
    .description('learn lens weights from self-reported relationships (multinomial logistic regression, k-fold CV, versioned model)')
    .requiredOption('--lens <name>', 'lens to train')
    .option('--labels <file>', 'labels: CSV with header customer_id,label, or NDJSON (default: the survey trait relationship_<lens> / relationship)')
    .option('--id-column <name>', 'customer id column / key in the labels file', 'customer_id')
    .option('--label-column <name>', 'label column / key in the labels file', 'label')
    .option('--label-trait <key>', 'trait holding the self-reported type when no --labels file is given')
    .option('--folds <k>', 'cross-validation folds', parsePositiveInt('--folds'), 5)
    .option('--seed <n>', 'seed for the fold split', parsePositiveInt('--seed'), 1)
    .option('--l2 <x>', 'L2 penalty on standardised weights', parseNumber('--l2'), 0.01)
    .option('--iterations <n>', 'maximum optimiser iterations', parsePositiveInt('--iterations'), 200)
    .addOption(new Option('--lens-features-only', 'use only the indicators the lens references'))
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(lensesDirOption())
    .addOption(jsonOption())
    .action(async (opts: { lens: string; labels?: string; idColumn: string; labelColumn: string; labelTrait?: string; folds: number; seed: number; l2: number; iterations: number; lensFeaturesOnly?: boolean; data: string; databaseUrl?: string; lensesDir?: string; json?: boolean }) => {
      if (opts.folds < 2) throw new UsageError('--folds must be at least 2');
      const src = lensSources(opts.data, opts.lensesDir ? [opts.lensesDir] : []);
      const registry = openLensRegistry(src);
      registry.get(opts.lens); // fail early on an unknown lens, before opening the store
      const readModel = await openIndicatorReadModel({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'train [{bar}] {value}/{total} fits', stream: process.stderr }, Presets.shades_classic) : null;
      let started = false;
      try {
        const r = await runTrain(
          {
            lens: opts.lens,
            ...(opts.labels ? { labels: opts.labels } : {}),
            idColumn: opts.idColumn,
            labelColumn: opts.labelColumn,
            ...(opts.labelTrait ? { labelTrait: opts.labelTrait } : {}),
            folds: opts.folds,
            seed: opts.seed,
            l2: opts.l2,
            iterations: opts.iterations,
            lensFeaturesOnly: opts.lensFeaturesOnly === true,
          },
          {
            readModel,
            registry,
            modelsDir: lensModelsRoot(opts.data),
            now: () => systemClock.now(),
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
        printResult(io, opts.json, r, () => formatTrainResult(r));
      } finally {
        if (started) bar?.stop();
        await readModel.close?.();
      }
    });
};
