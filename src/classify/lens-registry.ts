import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RapportError } from '../domain/errors';
import { validateLensText, type LensDefinition, type LensError } from '../domain/lens';
import { compileLens, type CompiledLens } from '../domain/lens-classifier';
import type { LearnedLensModel } from '../domain/lens-learned';
import { loadLensModel } from './lens-model-store';

/** Directory of the built-in lens files shipped with Rapport. */
export const BUILTIN_LENS_DIR: string = fileURLToPath(new URL('../../lenses/', import.meta.url));

/** Where the registry reads lenses (and optionally learned models) from. */
export interface LensRegistryOptions {
  readonly builtinDir: string;
  /** User lens folders, later ones overriding earlier ones; missing folders are skipped. */
  readonly userDirs?: readonly string[];
  /** `<data>/models/lenses`: when given, each lens's latest learned model is blended in. */
  readonly modelsDir?: string;
}

/** Outcome of a reload. */
export interface LensReloadResult {
  readonly ok: boolean;
  readonly errors: readonly LensError[];
  /** Lens names now in use. */
  readonly lenses: readonly string[];
}

/** The set of lenses in use. Keeps the last valid set when a reload fails. */
export interface LensRegistry {
  /** Compiled lenses in use, ordered by name (built-ins first in their own order). */
  current(): readonly CompiledLens[];
  /** A lens by name; throws RapportError 'unknown_lens'. */
  get(name: string): CompiledLens;
  has(name: string): boolean;
  names(): readonly string[];
  /** Re-reads every folder; on any error keeps the previous set and reports the errors. */
  reload(): LensReloadResult;
  /** Errors of the last reload (empty when it succeeded). */
  lastErrors(): readonly LensError[];
}

/** One lens file found on disk. */
export interface LensFile {
  readonly path: string;
  readonly origin: 'builtin' | 'user';
}

/** Lists `*.yaml` / `*.yml` files of the folders, built-ins first, each folder sorted by name. */
export function listLensFiles(opts: LensRegistryOptions): LensFile[] {
  const out: LensFile[] = [];
  const scan = (dir: string, origin: LensFile['origin']) => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir).sort()) if (/\.ya?ml$/i.test(f)) out.push({ path: join(dir, f), origin });
  };
  scan(opts.builtinDir, 'builtin');
  for (const d of opts.userDirs ?? []) scan(d, 'user');
  return out;
}

/** Reads and validates one lens file; I/O problems become a LensError at 1:1. */
export function readLensFile(path: string): { lens?: LensDefinition; errors: readonly LensError[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { errors: [{ file: path, line: 1, column: 1, path: '', message: `cannot read the file: ${(err as Error).message}` }] };
  }
  const v = validateLensText(text, path);
  return v.ok ? { lens: v.lens, errors: [] } : { errors: v.errors };
}

/** Creates a registry and loads it once (check `lastErrors()` for problems on the first load). */
export function createLensRegistry(opts: LensRegistryOptions): LensRegistry {
  let lenses: CompiledLens[] = [];
  let byName = new Map<string, CompiledLens>();
  let names: readonly string[] = [];
  let errors: readonly LensError[] = [];

  const reload = (): LensReloadResult => {
    const found: LensError[] = [];
    const defs = new Map<string, LensDefinition>();
    const order: string[] = [];
    for (const file of listLensFiles(opts)) {
      const r = readLensFile(file.path);
      found.push(...r.errors);
      if (!r.lens) continue;
      if (!defs.has(r.lens.lens)) order.push(r.lens.lens);
      defs.set(r.lens.lens, r.lens); // later folders (user) override earlier ones
    }
    if (found.length === 0 && defs.size === 0) {
      found.push({ file: opts.builtinDir, line: 1, column: 1, path: '', message: 'no lens files found: add a <name>.yaml lens file' });
    }
    const next: CompiledLens[] = [];
    for (const name of order) {
      const def = defs.get(name)!;
      let model: LearnedLensModel | undefined;
      if (opts.modelsDir) {
        try {
          model = loadLensModel(opts.modelsDir, name);
        } catch (err) {
          found.push({ file: join(opts.modelsDir, name, 'latest'), line: 1, column: 1, path: '', message: `${(err as Error).message}: retrain with rapport train --lens ${name}` });
        }
      }
      next.push(compileLens(def, model));
    }
    if (found.length > 0) {
      errors = found;
      return { ok: false, errors: found, lenses: lenses.map((l) => l.name) };
    }
    lenses = next;
    byName = new Map(next.map((l) => [l.name, l]));
    names = next.map((l) => l.name);
    errors = [];
    return { ok: true, errors: [], lenses: lenses.map((l) => l.name) };
  };

  reload();
  return {
    current: () => lenses,
    get(name) {
      const l = byName.get(name);
      if (!l) throw new RapportError('unknown_lens', `unknown lens '${name}'; lenses: ${[...byName.keys()].join(', ') || '(none)'}`);
      return l;
    },
    has: (name) => byName.has(name),
    names: () => names,
    reload,
    lastErrors: () => errors,
  };
}
