import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SqliteDatabase } from '../adapters/sqlite/open-database';
import { listLensFiles, type LensRegistry, type LensRegistryOptions } from '../classify/lens-registry';
import { NotFoundError, RapportError, ValidationError } from '../domain/errors';
import { fileStem, validateLensText, type LensError } from '../domain/lens';
import { classify, compileLens, type CompiledLens } from '../domain/lens-classifier';

/** Largest population sample the preview reclassifies. */
export const PREVIEW_SAMPLE = 20_000;

/** Dependencies of {@link registerLensEditRoutes}. */
export interface LensEditDeps {
  db: SqliteDatabase;
  /** Folders the lenses come from; saved lenses go to `userDir`. */
  files: LensRegistryOptions;
  /** `<data>/lenses`: where PUT writes `<lens>.yaml`. */
  userDir: string;
  /** The registry the engine classifies with; reloaded after a save. */
  registry: () => LensRegistry;
  /** True when `registry()` is the engine's own (a reload takes effect at once). */
  live: boolean;
}

const yamlBody = z.object({ yaml: z.string().max(512 * 1024) });

function parseYamlBody(body: unknown): string {
  const b = yamlBody.safeParse(body);
  if (!b.success) throw new ValidationError('body must be { "yaml": "<lens file text>" } (at most 512 KB)');
  return b.data.yaml;
}

const errorView = (e: LensError) => ({ line: e.line, column: e.column, path: e.path, message: e.message });

/** The file currently defining a lens (user folders override built-ins), or undefined. */
export function lensFileOf(files: LensRegistryOptions, lens: string): { path: string; origin: 'builtin' | 'user' } | undefined {
  let found: { path: string; origin: 'builtin' | 'user' } | undefined;
  for (const f of listLensFiles(files)) if (fileStem(basename(f.path)) === lens) found = f;
  return found;
}

/** Counts of types, in the lens's type order. */
type Counts = Record<string, number>;

/**
 * Reclassifies a deterministic sample of the stored population (every k-th customer by rowid,
 * at most `max`) with `before` and `after`, from each customer's stored indicator snapshot and
 * traits, without hysteresis so both sides are comparable.
 */
export function previewLensChange(db: SqliteDatabase, before: CompiledLens | undefined, after: CompiledLens, max = PREVIEW_SAMPLE) {
  const bounds = db.prepare('SELECT COUNT(*) AS n, COALESCE(MAX(rowid), 0) AS hi, COALESCE(MIN(rowid), 0) AS lo FROM customers').get() as { n: number; hi: number; lo: number };
  const rows: Array<{ indicators: string; traits: string }> = [];
  if (bounds.n <= max) {
    rows.push(...(db.prepare('SELECT indicators, traits FROM customers').all() as Array<{ indicators: string; traits: string }>));
  } else {
    // Evenly spaced rowids: a few thousand point lookups instead of a scan of the whole table.
    const one = db.prepare('SELECT indicators, traits FROM customers WHERE rowid >= ? ORDER BY rowid LIMIT 1');
    const step = (bounds.hi - bounds.lo + 1) / max;
    for (let i = 0; i < max; i++) {
      const r = one.get(Math.floor(bounds.lo + i * step)) as { indicators: string; traits: string } | undefined;
      if (r) rows.push(r);
    }
  }
  const beforeCounts: Counts = Object.fromEntries((before?.typeNames ?? []).map((t) => [t, 0]));
  const afterCounts: Counts = Object.fromEntries(after.typeNames.map((t) => [t, 0]));
  const moves = new Map<string, number>();
  let changed = 0;
  for (const r of rows) {
    const indicators = JSON.parse(r.indicators) as Record<string, number>;
    const traits = JSON.parse(r.traits) as Record<string, unknown>;
    const a = classify(after, { indicators, traits }, undefined).classification.type;
    afterCounts[a] = (afterCounts[a] ?? 0) + 1;
    if (before) {
      const b = classify(before, { indicators, traits }, undefined).classification.type;
      beforeCounts[b] = (beforeCounts[b] ?? 0) + 1;
      if (a !== b) {
        changed++;
        const k = `${b}\u0000${a}`;
        moves.set(k, (moves.get(k) ?? 0) + 1);
      }
    }
  }
  return {
    population: bounds.n,
    sampled: rows.length,
    isSample: rows.length < bounds.n,
    before: beforeCounts,
    after: afterCounts,
    changed,
    moves: [...moves.entries()]
      .map(([k, count]) => {
        const [from, to] = k.split('\u0000') as [string, string];
        return { from, to, count };
      })
      .sort((x, y) => y.count - x.count)
      .slice(0, 20),
  };
}

/**
 * Lens editing for the dashboard: `GET /api/lenses/:lens/yaml` (the file text),
 * `POST /api/lenses/validate { yaml }` -> `{ ok, errors: [{ line, column, message }] }`,
 * `POST /api/lenses/:lens/preview { yaml }` -> distribution before/after over (a sample of) the
 * population, `PUT /api/lenses/:lens { yaml }` -> saves `<data>/lenses/<lens>.yaml` and reloads.
 */
export function registerLensEditRoutes(server: FastifyInstance, deps: LensEditDeps): void {
  const validate = (lens: string | undefined, yaml: string) => {
    // The stem must equal `lens:`; validate under the name the file would get.
    const guess = lens ?? /^\s*lens:\s*["']?([A-Za-z0-9_-]+)/m.exec(yaml)?.[1] ?? 'lens';
    return validateLensText(yaml, `${guess}.yaml`);
  };

  server.get('/api/lenses/:lens/yaml', async (request) => {
    const { lens } = request.params as { lens: string };
    const file = lensFileOf(deps.files, lens);
    if (!file) throw new NotFoundError('lens', lens);
    return { lens, origin: file.origin, file: file.path, yaml: readFileSync(file.path, 'utf8') };
  });

  server.post('/api/lenses/validate', async (request) => {
    const v = validate(undefined, parseYamlBody(request.body));
    return v.ok ? { ok: true, lens: v.lens.lens, types: v.lens.types.map((t) => t.name), errors: [] } : { ok: false, errors: v.errors.map(errorView) };
  });

  server.post('/api/lenses/:lens/preview', async (request, reply) => {
    const { lens } = request.params as { lens: string };
    const v = validate(lens, parseYamlBody(request.body));
    if (!v.ok) return reply.code(400).send({ code: 'invalid_lens', message: 'the lens has errors: fix them before previewing', errors: v.errors.map(errorView) });
    const registry = deps.registry();
    const before = registry.has(lens) ? registry.get(lens) : undefined;
    return { lens, ...previewLensChange(deps.db, before, compileLens(v.lens)) };
  });

  server.put('/api/lenses/:lens', async (request, reply) => {
    const { lens } = request.params as { lens: string };
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(lens)) throw new ValidationError('lens names are lower-case letters, digits, - and _');
    const yaml = parseYamlBody(request.body);
    const v = validate(lens, yaml);
    if (!v.ok) return reply.code(400).send({ code: 'invalid_lens', message: 'the lens has errors: nothing was saved', errors: v.errors.map(errorView) });
    mkdirSync(deps.userDir, { recursive: true });
    const path = join(deps.userDir, `${lens}.yaml`);
    const previous = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    // Write-then-rename: the engine never reads a half-written lens.
    writeFileSync(`${path}.tmp`, yaml);
    renameSync(`${path}.tmp`, path);
    const r = deps.registry().reload();
    if (!r.ok) {
      // Put the old file back so the next start loads what ran before.
      if (previous === undefined) rmSync(path);
      else writeFileSync(path, previous);
      deps.registry().reload();
      throw new RapportError('invalid_lens', `the lens set does not load with this file: ${r.errors.map((e) => e.message).join('; ')}`, r.errors.map(errorView));
    }
    return reply.code(deps.live ? 200 : 202).send({
      saved: path,
      lens,
      applied: deps.live,
      note: deps.live ? 'the engine classifies with the new lens from the next event on' : 'saved; the engine picks the lens up when it restarts (rapport start)',
    });
  });
}
