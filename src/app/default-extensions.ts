import type { RapportConfig } from './config';
import type { AppExtension } from './create-app';
import { buildEngine, unitCostsSchema, valueSectionSchema, type BuiltEngine } from './build-engine';
import { parseConfigSection } from './config-section';
import { engineExtension, type EngineExtension } from './engine-extension';

/** The extensions of a full server, with handles tests and the demo use. */
export interface DefaultExtensions {
  readonly list: AppExtension[];
  readonly engine: BuiltEngine;
  readonly engineExtension: EngineExtension;
}

/**
 * The extensions `rapport start` runs: the relationship engine (processor, customer/lens/stream routes),
 * and the components that build on it. Validates their configuration first (fail fast).
 */
export function defaultExtensions(config: RapportConfig): DefaultExtensions {
  const engine = buildEngine({
    dataDir: config.dataDir,
    mapping: config.file['mapping'],
    configFile: config.configFile,
    valueOptions: parseConfigSection(config, 'value', valueSectionSchema),
    costs: parseConfigSection(config, 'costs', unitCostsSchema),
  });
  const engineExt = engineExtension({ engine });
  return { list: [engineExt], engine, engineExtension: engineExt };
}
