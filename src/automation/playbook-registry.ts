import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Playbook } from '../domain/playbook';
import { parsePlaybookYaml, type PlaybookError } from '../domain/playbook-parse';

/** Result of a reload: ok with the new set, or the errors (and the previous set stays active). */
export interface ReloadResult {
  readonly ok: boolean;
  readonly errors: PlaybookError[];
  readonly count: number;
}

/** The set of active playbooks, reloadable from YAML files. */
export interface PlaybookRegistry {
  /** All playbooks of the last valid load, in id order. */
  current(): readonly Playbook[];
  get(id: string): Playbook | undefined;
  /** Re-reads every `*.yaml` in the directories (a later directory overrides an id of an earlier one); on any error keeps the last valid set. */
  reload(): ReloadResult;
  /** Errors of the last reload (empty when it succeeded). */
  lastErrors(): readonly PlaybookError[];
}

/** Creates a registry over directories of playbook YAML files and loads them once. */
export function createPlaybookRegistry(opts: { dirs: readonly string[] }): PlaybookRegistry {
  let active: Playbook[] = [];
  let byId = new Map<string, Playbook>();
  let errors: PlaybookError[] = [];
  const reg: PlaybookRegistry = {
    current: () => active,
    get: (id) => byId.get(id),
    lastErrors: () => errors,
    reload() {
      const found: Playbook[] = [];
      const errs: PlaybookError[] = [];
      const byIdFound = new Map<string, Playbook>();
      for (const dir of opts.dirs) {
        if (!existsSync(dir)) continue;
        // A later folder (the user's) overrides a playbook of the same id from an earlier one (the examples).
        const inDir = new Map<string, string>();
        for (const f of readdirSync(dir).sort()) {
          if (!/\.ya?ml$/.test(f)) continue;
          const file = join(dir, f);
          const r = parsePlaybookYaml(readFileSync(file, 'utf8'), file);
          if (!r.ok) {
            errs.push(...r.errors);
            continue;
          }
          const prev = inDir.get(r.playbook.id);
          if (prev) {
            errs.push({ file, line: 1, column: 1, message: `playbook id '${r.playbook.id}' is already used by ${prev}; ids must be unique` });
            continue;
          }
          inDir.set(r.playbook.id, file);
          byIdFound.set(r.playbook.id, r.playbook);
        }
      }
      found.push(...byIdFound.values());
      errors = errs;
      if (errs.length > 0) return { ok: false, errors: errs, count: active.length };
      active = found.sort((a, b) => a.id.localeCompare(b.id));
      byId = new Map(active.map((p) => [p.id, p]));
      return { ok: true, errors: [], count: active.length };
    },
  };
  reg.reload();
  return reg;
}

/** A registry built from already parsed playbooks (tests, benchmarks). */
export function staticPlaybookRegistry(playbooks: readonly Playbook[]): PlaybookRegistry {
  const byId = new Map(playbooks.map((p) => [p.id, p]));
  return { current: () => playbooks, get: (id) => byId.get(id), reload: () => ({ ok: true, errors: [], count: playbooks.length }), lastErrors: () => [] };
}

/**
 * Watches the directories and reloads (debounced) on change; `onChange` gets each reload result.
 * Returns a function that stops watching.
 */
export function watchPlaybooks(registry: PlaybookRegistry, dirs: readonly string[], onChange: (r: ReloadResult) => void, debounceMs = 200): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  const fire = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange(registry.reload());
    }, debounceMs);
  };
  for (const d of dirs) if (existsSync(d)) watchers.push(watch(d, fire));
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
