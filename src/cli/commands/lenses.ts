import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { RapportError } from '../../domain/errors';
import { formatLensError, type LensDefinition, type LensError } from '../../domain/lens';
import type { LearnedLensModel } from '../../domain/lens-learned';
import { loadLensModel, lensModelsRoot } from '../../classify/lens-model-store';
import { BUILTIN_LENS_DIR, createLensRegistry, listLensFiles, readLensFile, type LensFile, type LensRegistry } from '../../classify/lens-registry';
import { dataOption, jsonOption, printResult, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** Where lens commands look for lens files and models. */
export interface LensSources {
  readonly builtinDir: string;
  readonly userDirs: readonly string[];
  readonly modelsDir?: string;
}

/** The lens folders for a data directory: built-ins, `<data>/lenses`, then extra folders. */
export function lensSources(dataDir: string, extraDirs: readonly string[] = [], builtinDir = BUILTIN_LENS_DIR): LensSources {
  return { builtinDir, userDirs: [join(dataDir, 'lenses'), ...extraDirs], modelsDir: lensModelsRoot(dataDir) };
}

/** Opens the registry for CLI use; fails with every lens error when the lens set is invalid. */
export function openLensRegistry(src: LensSources): LensRegistry {
  const registry = createLensRegistry(src);
  const errors = registry.lastErrors();
  if (errors.length > 0) throw new LensFilesError(errors);
  return registry;
}

/** Lens files are invalid; `errors` carry file:line:column. */
export class LensFilesError extends RapportError {
  readonly errors: readonly LensError[];
  constructor(errors: readonly LensError[]) {
    super('invalid_lens', errors.map(formatLensError).join('\n'), errors);
    this.errors = errors;
  }
}

/** One row of `rapport lenses list`. */
export interface LensListEntry {
  readonly name: string;
  readonly title: string;
  readonly types: readonly string[];
  readonly file: string;
  readonly origin: LensFile['origin'];
  /** Another file with the same lens name that this one overrides. */
  readonly overrides: string | null;
  readonly model: { readonly version: number; readonly macroF1: number; readonly trainingSize: number } | null;
}

/** Result of `rapport lenses list`. */
export interface LensListResult {
  readonly lenses: readonly LensListEntry[];
  readonly errors: readonly LensError[];
}

function modelInfo(src: LensSources, name: string, errors: LensError[]): LearnedLensModel | undefined {
  if (!src.modelsDir) return undefined;
  try {
    return loadLensModel(src.modelsDir, name);
  } catch (err) {
    errors.push({ file: join(src.modelsDir, name, 'latest'), line: 1, column: 1, path: '', message: (err as Error).message });
    return undefined;
  }
}

/** Lists the lenses in effect (user files override built-ins of the same name) and any invalid file. */
export function runLensesList(src: LensSources): LensListResult {
  const errors: LensError[] = [];
  const byName = new Map<string, { def: LensDefinition; file: LensFile; overrides: string | null }>();
  for (const file of listLensFiles(src)) {
    const r = readLensFile(file.path);
    errors.push(...r.errors);
    if (!r.lens) continue;
    const before = byName.get(r.lens.lens);
    byName.set(r.lens.lens, { def: r.lens, file, overrides: before ? before.file.path : null });
  }
  const lenses = [...byName.values()].map(({ def, file, overrides }) => {
    const m = modelInfo(src, def.lens, errors);
    return {
      name: def.lens,
      title: def.title,
      types: def.types.map((t) => t.name),
      file: file.path,
      origin: file.origin,
      overrides,
      model: m ? { version: m.version, macroF1: m.cv.macroF1, trainingSize: m.trainingSize } : null,
    };
  });
  return { lenses, errors };
}

/** Result of validating lens files. */
export interface LensValidateResult {
  readonly ok: boolean;
  readonly files: readonly { readonly file: string; readonly ok: boolean; readonly lens: string | null; readonly types: number; readonly errors: readonly LensError[] }[];
  readonly errors: readonly LensError[];
}

/** Validates the given lens files, or every lens file in the folders when none is given. */
export function runLensesValidate(args: { files: readonly string[] }, src: LensSources): LensValidateResult {
  const paths = args.files.length > 0 ? [...args.files] : listLensFiles(src).map((f) => f.path);
  const files = paths.map((file) => {
    const r = readLensFile(file);
    return { file, ok: r.errors.length === 0, lens: r.lens?.lens ?? null, types: r.lens?.types.length ?? 0, errors: r.errors };
  });
  const errors = files.flatMap((f) => f.errors);
  return { ok: errors.length === 0, files, errors };
}

/** Result of `rapport lenses show`: the lens as validated, plus its learned model summary. */
export interface LensShowResult {
  readonly lens: LensDefinition;
  readonly model: { readonly version: number; readonly createdAt: number; readonly macroF1: number; readonly accuracy: number; readonly trainingSize: number; readonly learnedWeight: number } | null;
}

/** Shows one lens; unknown names fail with code 'unknown_lens'. */
export function runLensesShow(args: { name: string }, src: LensSources): LensShowResult {
  const registry = openLensRegistry(src);
  const compiled = registry.get(args.name);
  const m = compiled.learned?.model;
  return {
    lens: compiled.definition,
    model: m
      ? { version: m.version, createdAt: m.createdAt, macroF1: m.cv.macroF1, accuracy: m.cv.accuracy, trainingSize: m.trainingSize, learnedWeight: compiled.definition.learnedWeight }
      : null,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function formatCondition(c: LensDefinition['types'][number]['conditions'][number]): string {
  const cmp =
    c.op === 'between' ? `between ${c.threshold} and ${c.upper}` : c.op === 'equals' ? `equals ${c.equalsText ?? c.threshold}` : `${c.op} ${c.threshold}`;
  const w = c.weight >= 0 ? `+${c.weight}` : String(c.weight);
  return `${w.padStart(6)}  ${c.indicator} ${cmp}${c.note ? `  (${c.note})` : ''}`;
}

/** Human form of `lenses show`. */
export function formatLensShow(r: LensShowResult): string {
  const l = r.lens;
  const lines = [`${l.lens} — ${l.title}`, l.description, '', `temperature ${l.temperature}, hysteresis margin ${l.hysteresis.margin} x${l.hysteresis.confirmations}`];
  if (r.model) {
    lines.push(`learned model v${r.model.version}: macro-F1 ${pct(r.model.macroF1)}, accuracy ${pct(r.model.accuracy)}, n=${r.model.trainingSize}, blended with weight ${r.model.learnedWeight}`);
  } else lines.push('no learned model (train one with: rapport train --lens ' + l.lens + ' --labels FILE)');
  if (l.intended) lines.push(`intended mix: ${Object.entries(l.intended).map(([t, s]) => `${t} ${pct(s)}`).join(', ')}`);
  for (const t of l.types) {
    lines.push('', `${t.name} — ${t.label} (prior ${pct(t.prior)})`, `  ${t.description}`, '  conditions:');
    for (const c of t.conditions) lines.push(`    ${formatCondition(c)}`);
    const p = t.policy;
    const caps = Object.entries(p.caps)
      .map(([ch, cap]) => `${ch} ${cap!.max}/${Math.round(cap!.per / 86_400_000)}d`)
      .join(', ');
    lines.push(
      `  policy: channels ${p.channels.join(', ')}; caps ${caps || 'none'}; quiet ${p.quiet_hours ? `${p.quiet_hours.start}-${p.quiet_hours.end}` : 'none'}; send ${p.send_time.strategy} (${p.send_time.fallback_hour}h); tone ${p.tone}; selling <= ${pct(p.max_selling_share)}`,
    );
    if (p.treatment) lines.push(`  treatment: ${p.treatment}`);
  }
  return lines.join('\n');
}

/** `--lenses-dir DIR`: an extra folder of user lens files (after `<data>/lenses`). */
export function lensesDirOption(): Option {
  return new Option('--lenses-dir <dir>', 'extra folder of lens YAML files (overrides built-ins and <data>/lenses)').env('RAPPORT_LENSES_DIR');
}

function reportErrors(io: CliIo, errors: readonly LensError[]): void {
  for (const e of errors) io.stderr(formatLensError(e) + '\n');
}

/** `rapport lenses list|validate|show`. */
export const registerLensesCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const lenses = program
    .command('lenses')
    .description('relationship lenses (YAML taxonomies): list, validate, show. Drop a <name>.yaml into <data>/lenses to add or override one');
  const sources = (opts: { data: string; lensesDir?: string }) => lensSources(opts.data, opts.lensesDir ? [opts.lensesDir] : []);
  lenses
    .command('list')
    .description('list the lenses in effect, their types and learned models')
    .addOption(dataOption())
    .addOption(lensesDirOption())
    .addOption(jsonOption())
    .action((opts: { data: string; lensesDir?: string; json?: boolean }) => {
      const r = runLensesList(sources(opts));
      printResult(io, opts.json, r, () =>
        r.lenses
          .map(
            (l) =>
              `${l.name.padEnd(12)} ${String(l.types.length).padStart(2)} types  ${l.title}  [${l.origin}${l.overrides ? ', overrides built-in' : ''}]${l.model ? `  model v${l.model.version} (macro-F1 ${pct(l.model.macroF1)})` : ''}\n${''.padEnd(13)}${l.file}`,
          )
          .join('\n'),
      );
      if (r.errors.length > 0) {
        reportErrors(io, r.errors);
        throw new RapportError('invalid_lens', `${r.errors.length} problem(s) in lens files; fix them (rapport lenses validate)`);
      }
    });
  lenses
    .command('validate')
    .description('validate lens files (all lens folders when no file is given); errors as file:line:column')
    .argument('[files...]', 'lens YAML files')
    .addOption(dataOption())
    .addOption(lensesDirOption())
    .addOption(jsonOption())
    .action((files: string[], opts: { data: string; lensesDir?: string; json?: boolean }) => {
      const r = runLensesValidate({ files }, sources(opts));
      printResult(io, opts.json, r, () => r.files.map((f) => (f.ok ? `ok  ${f.file} (${f.lens}, ${f.types} types)` : `BAD ${f.file}`)).join('\n'));
      if (!r.ok) {
        reportErrors(io, r.errors);
        throw new RapportError('invalid_lens', `${r.errors.length} error(s) in ${r.files.filter((f) => !f.ok).length} lens file(s)`);
      }
    });
  lenses
    .command('show')
    .description('show one lens: types, priors, weighted conditions, contact policies, learned model')
    .argument('<name>', 'lens name')
    .addOption(dataOption())
    .addOption(lensesDirOption())
    .addOption(jsonOption())
    .action((name: string, opts: { data: string; lensesDir?: string; json?: boolean }) => {
      try {
        const r = runLensesShow({ name }, sources(opts));
        printResult(io, opts.json, r, () => formatLensShow(r));
      } catch (err) {
        if (err instanceof LensFilesError) {
          reportErrors(io, err.errors);
          throw new RapportError('invalid_lens', `${err.errors.length} error(s) in lens files`);
        }
        throw err;
      }
    });
  for (const c of lenses.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
};
