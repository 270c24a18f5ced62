import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RapportError } from '../domain/errors';
import type { LearnedLensModel } from '../domain/lens-learned';

/**
 * Versioned learned lens models on disk: `<data>/models/lenses/<lens>/v<N>.json` plus a
 * `latest` file naming the version in use (`v3`). Versions are never overwritten.
 */

/** The models root for a data directory. */
export function lensModelsRoot(dataDir: string): string {
  return join(dataDir, 'models', 'lenses');
}

/** Versions saved for a lens, ascending. */
export function listLensModelVersions(root: string, lens: string): number[] {
  const dir = join(root, lens);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^v(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Saves a model as the next version and points `latest` at it. Returns the saved model and its path. */
export function saveLensModel(root: string, model: Omit<LearnedLensModel, 'version'>): { model: LearnedLensModel; path: string } {
  const dir = join(root, model.lens);
  mkdirSync(dir, { recursive: true });
  const version = (listLensModelVersions(root, model.lens).pop() ?? 0) + 1;
  const saved: LearnedLensModel = { ...model, version };
  const path = join(dir, `v${version}.json`);
  writeFileSync(path, JSON.stringify(saved, null, 2) + '\n', { flag: 'wx' });
  // Write-then-rename so a reader never sees a half-written pointer.
  writeFileSync(join(dir, 'latest.tmp'), `v${version}\n`);
  renameSync(join(dir, 'latest.tmp'), join(dir, 'latest'));
  return { model: saved, path };
}

/** Loads a lens model (the `latest` one unless a version is given); undefined when none exists. */
export function loadLensModel(root: string, lens: string, version?: number): LearnedLensModel | undefined {
  const dir = join(root, lens);
  let v = version;
  if (v === undefined) {
    const pointer = join(dir, 'latest');
    if (!existsSync(pointer)) return undefined;
    const m = /^v(\d+)\s*$/.exec(readFileSync(pointer, 'utf8'));
    if (!m) throw new RapportError('invalid_model', `${pointer}: expected a version like 'v3'`);
    v = Number(m[1]);
  }
  const path = join(dir, `v${v}.json`);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RapportError('invalid_model', `${path}: not valid JSON (${(err as Error).message})`);
  }
  const model = parsed as Partial<LearnedLensModel>;
  if (model.format !== 'rapport.lens-model/1' || model.lens !== lens || !Array.isArray(model.weights) || !Array.isArray(model.features)) {
    throw new RapportError('invalid_model', `${path}: not a rapport.lens-model/1 file for lens '${lens}'`);
  }
  return model as LearnedLensModel;
}
