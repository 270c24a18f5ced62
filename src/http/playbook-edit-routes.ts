import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PlaybookRegistry } from '../automation/playbook-registry';
import { createTemplateRenderer } from '../automation/templates';
import { NotFoundError, RapportError, ValidationError } from '../domain/errors';
import type { Playbook } from '../domain/playbook';
import { parsePlaybookYaml, type PlaybookError } from '../domain/playbook-parse';

/** Dependencies of {@link registerPlaybookEditRoutes}. */
export interface PlaybookEditDeps {
  /** Folders the registry loads, in order (a later one overrides an id of an earlier one). */
  readonly dirs: readonly string[];
  /** `<data>/playbooks`: where PUT writes `<id>.yaml`. */
  readonly userDir: string;
  /** Template folders (first wins), to check that `send` steps name existing templates. */
  readonly templateDirs: readonly string[];
  /** The registry the automation runs with; reloaded after a save. */
  readonly registry: () => PlaybookRegistry;
}

const yamlBody = z.object({ yaml: z.string().max(256 * 1024) });

function parseYamlBody(body: unknown): string {
  const b = yamlBody.safeParse(body);
  if (!b.success) throw new ValidationError('body must be { "yaml": "<playbook file text>" } (at most 256 KB)');
  return b.data.yaml;
}

const errorView = (e: PlaybookError) => ({ line: e.line, column: e.column, message: e.message });

/** The file currently defining playbook `id` (the last folder wins), or undefined. */
export function playbookFileOf(dirs: readonly string[], id: string): string | undefined {
  let found: string | undefined;
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(f)) continue;
      const file = join(dir, f);
      const r = parsePlaybookYaml(readFileSync(file, 'utf8'), file);
      // A broken file is found by its name, so it can be opened and fixed.
      if (r.ok ? r.playbook.id === id : f.replace(/\.ya?ml$/, '') === id) found = file;
    }
  }
  return found;
}

/** Line (1-based) of the `template:` naming `name`, for an error pointing at it. */
function lineOfTemplate(yaml: string, name: string): { line: number; column: number } {
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const col = lines[i]!.indexOf(name);
    if (col >= 0 && /template/.test(lines[i]!)) return { line: i + 1, column: col + 1 };
  }
  return { line: 1, column: 1 };
}

/**
 * Parses a playbook text and checks that the templates its `send` steps name exist.
 * Errors carry line and column (1-based); `expectId` (when given) must equal the `id:`.
 */
export function validatePlaybookText(yaml: string, file: string, templateDirs: readonly string[], expectId?: string): { ok: true; playbook: Playbook } | { ok: false; errors: PlaybookError[] } {
  const r = parsePlaybookYaml(yaml, file);
  if (!r.ok) return r;
  const errors: PlaybookError[] = [];
  if (expectId !== undefined && r.playbook.id !== expectId) {
    errors.push({ file, line: Math.max(1, yaml.split('\n').findIndex((l) => /^id\s*:/.test(l)) + 1), column: 1, message: `id is '${r.playbook.id}' but the file is saved as '${expectId}'; make them equal` });
  }
  let has: (name: string) => boolean;
  try {
    const templates = createTemplateRenderer(templateDirs);
    has = (n) => templates.has(n);
  } catch (err) {
    errors.push({ file, line: 1, column: 1, message: `the templates do not load: ${err instanceof Error ? err.message : String(err)}` });
    return { ok: false, errors };
  }
  for (const s of r.playbook.steps) {
    if (!('send' in s)) continue;
    for (const t of typeof s.send.template === 'string' ? [s.send.template] : Object.values(s.send.template)) {
      if (!has(t)) errors.push({ file, ...lineOfTemplate(yaml, t), message: `step ${s.id}: template '${t}' not found; add templates/${t}.yaml or use an existing template` });
    }
  }
  return errors.length ? { ok: false, errors } : r;
}

/**
 * Playbook editing for the dashboard: `GET /api/playbooks/:id/yaml`, `POST /api/playbooks/validate { yaml }`
 * -> `{ ok, errors: [{ line, column, message }] }`, `PUT /api/playbooks/:id { yaml }` (create or replace)
 * -> writes `<data>/playbooks/<id>.yaml` and reloads the registry; when the set no longer loads the previous
 * file is put back (the last valid set stays active) and the answer is 400 with the errors.
 */
export function registerPlaybookEditRoutes(server: FastifyInstance, deps: PlaybookEditDeps): void {
  server.get('/api/playbooks/:id/yaml', async (request) => {
    const { id } = request.params as { id: string };
    const file = playbookFileOf(deps.dirs, id);
    if (!file) throw new NotFoundError('playbook', id);
    const origin = file.startsWith(deps.userDir) ? 'user' : 'example';
    return { id, origin, file, yaml: readFileSync(file, 'utf8') };
  });

  server.post('/api/playbooks/validate', async (request) => {
    const v = validatePlaybookText(parseYamlBody(request.body), 'playbook.yaml', deps.templateDirs);
    return v.ok ? { ok: true, id: v.playbook.id, errors: [] } : { ok: false, errors: v.errors.map(errorView) };
  });

  server.put('/api/playbooks/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!/^[a-z0-9][a-z0-9_-]{0,79}$/.test(id)) throw new ValidationError('playbook ids are lower-case letters, digits, - and _');
    const yaml = parseYamlBody(request.body);
    const v = validatePlaybookText(yaml, `${id}.yaml`, deps.templateDirs, id);
    if (!v.ok) return reply.code(400).send({ code: 'invalid_playbook', message: 'the playbook has errors: nothing was saved', errors: v.errors.map(errorView) });
    mkdirSync(deps.userDir, { recursive: true });
    const path = join(deps.userDir, `${id}.yaml`);
    const previous = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    // Write-then-rename: the registry (and its file watcher) never reads a half-written file.
    writeFileSync(`${path}.tmp`, yaml);
    renameSync(`${path}.tmp`, path);
    const r = deps.registry().reload();
    if (!r.ok) {
      // Put the old file back so the next start (and the watcher) loads what ran before.
      if (previous === undefined) rmSync(path);
      else writeFileSync(path, previous);
      deps.registry().reload();
      throw new RapportError('invalid_playbook', `the playbook set does not load with this file: ${r.errors.map((e) => `${basename(e.file)}:${e.line}:${e.column}: ${e.message}`).join('; ')}`, r.errors.map(errorView));
    }
    return reply.code(previous === undefined ? 201 : 200).send({ saved: path, id, created: previous === undefined, playbooks: r.count, note: 'the automation runs the new version from the next signal on' });
  });
}
