import { join } from 'node:path';
import { BUILTIN_LENS_DIR, createLensRegistry, type LensRegistry } from '../classify/lens-registry';
import { formatLensError } from '../domain/lens';
import { ConfigError } from '../domain/errors';
import type { EngineModules } from '../engine/engine-modules';
import { DEFAULT_VALUE_OPTIONS, ValueEngine, type ValueEngineOptions } from '../engine/value-engine';
import { z } from 'zod';
import { DEFAULT_UNIT_COSTS, unitCostsSchema, type UnitCosts } from '../value/economics';
import type { LensDescriptions } from '../http/lens-routes';
import { emptyMapping, parseEventMapping, type CompiledMapping } from '../indicators/event-mapping';
import { createStatementAnalyser, type StatementAnalyser } from '../indicators/statements/statement-analyser';
import { loadBuiltinLexicon } from '../indicators/statements/statement-lexicon';
import { loadLatestStatementModel } from '../indicators/statements/statement-classifier';
import { createEngineModules } from './create-engine-modules';
import type { RapportConfig } from './config';
import { parseConfigSection } from './config-section';

/** Where the engine's configuration comes from. */
export interface EngineSettings {
  readonly dataDir: string;
  /** The `mapping:` section of rapport.config.yaml (user event names onto the vocabulary). */
  readonly mapping?: unknown;
  readonly configFile?: string | null;
  /** Extra lens folders (besides the built-ins and `<data>/lenses`). */
  readonly lensDirs?: readonly string[];
  /** Turn statement analysis off. */
  readonly statements?: boolean;
  /** Turn the value models off. */
  readonly value?: boolean;
  /** The `value:` section: heavy-user share, refit interval, CLV horizon and discount rate. */
  readonly valueOptions?: Partial<ValueEngineOptions>;
  /** The `costs:` section: unit costs per service contact and measure. */
  readonly costs?: UnitCosts;
}

/** Schema of the `value:` section of rapport.config.yaml. */
export const valueSectionSchema = z.strictObject({
  heavyUserShare: z.number().gt(0).max(1).optional(),
  refitEveryDays: z.number().int().min(1).max(365).optional(),
  horizonDays: z.number().int().min(1).max(3650).optional(),
  discountRate: z.number().min(0).max(1).optional(),
  maxFitCustomers: z.number().int().min(100).optional(),
});

/** Schema of the `engine:` section: how often time is re-evaluated for every customer (0 = never). */
export const engineSectionSchema = z.strictObject({
  tickEveryHours: z.number().min(0).max(24 * 31).default(24),
});

/** Schema of the `costs:` section of rapport.config.yaml. */
export { unitCostsSchema };

/** The engine's parts, built and validated at start-up. */
export interface BuiltEngine {
  readonly lenses: LensRegistry;
  readonly modules: EngineModules;
  readonly value: ValueEngine | undefined;
  readonly lensDescriptions: LensDescriptions;
  readonly mapping: CompiledMapping;
  readonly costs: UnitCosts;
  readonly valueOptions: ValueEngineOptions;
}

/** Folder where users drop their own lens files. */
export function userLensDir(dataDir: string): string {
  return join(dataDir, 'lenses');
}

/**
 * Builds the engine from settings: lens registry (built-ins + user lenses + learned models), event
 * mapping, statement analyser (with the latest trained statement model), value engine.
 * Fails fast with a ConfigError naming file:line:column when a lens or the mapping is invalid.
 */
export function buildEngine(settings: EngineSettings): BuiltEngine {
  const lenses = createLensRegistry({
    builtinDir: BUILTIN_LENS_DIR,
    userDirs: [userLensDir(settings.dataDir), ...(settings.lensDirs ?? [])],
    modelsDir: join(settings.dataDir, 'models', 'lenses'),
  });
  const errors = lenses.lastErrors();
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new ConfigError(
      `${errors.length} lens error(s):\n${errors.map(formatLensError).join('\n')}`,
      { file: first.file, line: first.line, column: first.column },
      'invalid_lens',
    );
  }
  const mapping =
    settings.mapping === undefined ? emptyMapping() : parseEventMapping(settings.mapping, { file: settings.configFile ?? 'rapport.config.yaml' });
  let analyser: StatementAnalyser | null = null;
  if (settings.statements !== false) {
    const model = loadLatestStatementModel(settings.dataDir);
    analyser = createStatementAnalyser({ lexicon: loadBuiltinLexicon(), ...(model ? { model } : {}) });
  }
  const modules = createEngineModules({ lenses, mapping, statements: analyser }) as EngineModules;
  const valueOptions: ValueEngineOptions = { ...DEFAULT_VALUE_OPTIONS };
  for (const [k, v] of Object.entries(settings.valueOptions ?? {})) if (v !== undefined) (valueOptions as unknown as Record<string, unknown>)[k] = v;
  const value = settings.value === false ? undefined : new ValueEngine(valueOptions);
  return { lenses, modules, value, lensDescriptions: describeLenses(lenses), mapping, costs: settings.costs ?? DEFAULT_UNIT_COSTS, valueOptions };
}

/** The lens routes' view of the registry. */
export function describeLenses(lenses: LensRegistry): LensDescriptions {
  return {
    names: () => lenses.names(),
    describe(name) {
      const l = lenses.get(name).definition;
      return {
        name: l.lens,
        title: l.title,
        description: l.description,
        intended: l.intended ?? null,
        hysteresis: l.hysteresis,
        learned: lenses.get(name).learned ? { version: lenses.get(name).learned!.model.version } : null,
        types: l.types.map((t) => ({
          name: t.name,
          label: t.label,
          description: t.description,
          prior: t.prior,
          conditions: t.conditions,
          policy: t.policy,
        })),
      };
    },
  };
}

/**
 * The engine the server runs for a validated config: its mapping, `value:` and `costs:` sections (so a
 * replay, a worker and the single-process server refit and classify alike).
 */
export function buildEngineFromConfig(config: RapportConfig, extra: Partial<EngineSettings> = {}): BuiltEngine {
  return buildEngine({
    dataDir: config.dataDir,
    mapping: config.file['mapping'],
    configFile: config.configFile,
    valueOptions: parseConfigSection(config, 'value', valueSectionSchema),
    costs: parseConfigSection(config, 'costs', unitCostsSchema),
    ...extra,
  });
}
