import type { RapportConfig } from './config';
import type { AppExtension } from './create-app';
import { automationExtension, EXAMPLE_PLAYBOOK_DIR, userPlaybookDir, type AutomationExtension } from './automation-extension';
import { buildEngineFromConfig, engineSectionSchema, type BuiltEngine } from './build-engine';
import { parseConfigSection } from './config-section';
import { engineExtension, type EngineExtension, type EngineReadOnlyMode } from './engine-extension';
import { dashboardExtension } from '../http/dashboard-routes';

/** The extensions of a full server, with handles tests and the demo use. */
export interface DefaultExtensions {
  readonly list: AppExtension[];
  readonly engine: BuiltEngine;
  readonly engineExtension: EngineExtension;
  readonly automationExtension: AutomationExtension;
}

/** Options beyond the config file. */
export interface DefaultExtensionOptions {
  /** Also load the example playbooks shipped in `playbooks/` (the demo does). */
  readonly examplePlaybooks?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /** Dispatch due actions in the background (default true). */
  readonly dispatch?: boolean;
  /** Plan after every processed batch (default true); when false, `automationExtension.settle()` plans on demand. */
  readonly planning?: boolean;
  /**
   * The scaled-out API role: no processor, no clock ticks, no automation planning or dispatch (workers and
   * dispatchers do those); the routes read what they committed.
   */
  readonly readOnly?: EngineReadOnlyMode;
}

/**
 * The extensions `rapport start` runs: the relationship engine (processor, customer/lens/value/stream
 * routes), marketing automation on top of it, and the web dashboard. Validates their configuration first (fail fast).
 */
export function defaultExtensions(config: RapportConfig, opts: DefaultExtensionOptions = {}): DefaultExtensions {
  const engine = buildEngineFromConfig(config);
  const { tickEveryHours } = parseConfigSection(config, 'engine', engineSectionSchema);
  const engineExt = opts.readOnly
    ? engineExtension({ engine, readOnly: opts.readOnly })
    : engineExtension({ engine, tickEveryMs: tickEveryHours * 3_600_000 });
  const playbookDirs = [...(opts.examplePlaybooks ? [EXAMPLE_PLAYBOOK_DIR] : []), userPlaybookDir(config.dataDir)];
  const automationExt = automationExtension({
    engine,
    engineExtension: engineExt,
    playbookDirs,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.dispatch !== undefined ? { dispatch: opts.dispatch } : {}),
    ...(opts.planning !== undefined ? { planning: opts.planning } : {}),
    ...(opts.readOnly ? { dispatch: false, planning: false } : {}),
  });
  const dashboard = dashboardExtension({ lensRegistry: () => engine.lenses });
  return { list: [engineExt, automationExt, dashboard], engine, engineExtension: engineExt, automationExtension: automationExt };
}
