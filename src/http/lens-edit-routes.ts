import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listLensFiles, type LensRegistry, type LensRegistryOptions } from '../classify/lens-registry';
import { NotFoundError, RapportError, ValidationError } from '../domain/errors';
import { fileStem, validateLensText, type LensError } from '../domain/lens';
import { classify, compileLens, type CompiledLens } from '../domain/lens-classifier';
import type { PopulationSample } from '../ports/dashboard-queries';

export type { PopulationSample };

/** Largest population sample the preview reclassifies. */
export const PREVIEW_SAMPLE = 20_000;

/** Dependencies of {@link registerLensEditRoutes}. */
export interface LensEditDeps {
  /** A sample of at most `max` stored customers (`DashboardQueries.samplePopulation`). */
  sample: (max: number) => Promise<PopulationSample>;
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

/** Types of every sampled customer under one lens (no hysteresis). */
export function classifySample(lens: CompiledLens, sample: PopulationSample): string[] {
  return sample.rows.map((r) => classify(lens, r, undefined).classification.type);
}

/**
 * Reclassifies a sample of the stored population with `before` and `after`, from each customer's
 * stored indicator snapshot and traits, without hysteresis so both sides are comparable.
 * `beforeTypes` may pass the (cached) result of {@link classifySample} for `before`.
 */
export function previewLensChange(sample: PopulationSample, before: CompiledLens | undefined, after: CompiledLens, beforeTypes?: readonly string[]) {
  const beforeCounts: Counts = Object.fromEntries((before?.typeNames ?? []).map((t) => [t, 0]));
  const afterCounts: Counts = Object.fromEntries(after.typeNames.map((t) => [t, 0]));
  const was = before ? (beforeTypes ?? classifySample(before, sample)) : undefined;
  const moves = new Map<string, number>();
  let changed = 0;
  sample.rows.forEach((r, i) => {
    const a = classify(after, r, undefined).classification.type;
    afterCounts[a] = (afterCounts[a] ?? 0) + 1;
    const b = was?.[i];
    if (b === undefined) return;
    beforeCounts[b] = (beforeCounts[b] ?? 0) + 1;
    if (a !== b) {
      changed++;
      const k = `${b}\u0000${a}`;
      moves.set(k, (moves.get(k) ?? 0) + 1);
    }
  });
  return {
    population: sample.population,
    sampled: sample.rows.length,
    isSample: sample.rows.length < sample.population,
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

/** How long a sample is reused while someone edits (previews come in bursts). */
const SAMPLE_TTL_MS = 60_000;

/**
 * Lens editing for the dashboard: `GET /api/lenses/:lens/yaml` (the file text),
 * `POST /api/lenses/validate { yaml }` -> `{ ok, errors: [{ line, column, message }] }`,
 * `POST /api/lenses/:lens/preview { yaml }` -> distribution before/after over (a sample of) the
 * population (the sample is reused for a minute), `PUT /api/lenses/:lens { yaml }` -> saves `<data>/lenses/<lens>.yaml` and reloads.
 */
export function registerLensEditRoutes(server: FastifyInstance, deps: LensEditDeps): void {
  // The sample (and the current lens's types on it) is reused for a minute: an editor previews often.
  let cache: { at: number; sample: PopulationSample; before: WeakMap<CompiledLens, string[]> } | undefined;
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
    const now = Date.now();
    if (!cache || now - cache.at > SAMPLE_TTL_MS) cache = { at: now, sample: await deps.sample(PREVIEW_SAMPLE), before: new WeakMap() };
    let beforeTypes: string[] | undefined;
    if (before) {
      beforeTypes = cache.before.get(before) ?? classifySample(before, cache.sample);
      cache.before.set(before, beforeTypes);
    }
    return { lens, ...previewLensChange(cache.sample, before, compileLens(v.lens), beforeTypes) };
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
