import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createAutomation, type Automation } from '../automation/automation';
import { createDefaultChannels } from '../automation/channels';
import { automationConfigFromEnv } from '../automation/config';
import { createPlaybookRegistry, watchPlaybooks, type PlaybookRegistry } from '../automation/playbook-registry';
import type { CustomerDirectory, CustomerView, EmittedMessage } from '../automation/types';
import { createFeedPlanner, feedbackEvents, type FeedPlanner } from '../automation/feed-planner';
import { DEFAULT_CONTACT_POLICY, type ContactPolicy } from '../domain/contact-policy';
import { ConfigError } from '../domain/errors';
import { registerPlaybookEditRoutes } from '../http/playbook-edit-routes';
import type { EngineFeed } from '../ports/engine-feed';
import type { CustomerRecord } from '../ports/engine-store';
import type { BuiltEngine } from './build-engine';
import { wireChannelSettings } from './channel-settings-wiring';
import type { AppExtension } from './create-app';
import type { EngineExtension } from './engine-extension';

/** Example playbooks and templates shipped with Rapport. */
export const EXAMPLE_PLAYBOOK_DIR = fileURLToPath(new URL('../../playbooks/', import.meta.url));
export const BUILTIN_TEMPLATE_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

/** Folder where users put their playbooks. */
export function userPlaybookDir(dataDir: string): string {
  return join(dataDir, 'playbooks');
}

/** Options of the automation extension. */
export interface AutomationExtensionOptions {
  readonly engine: BuiltEngine;
  readonly engineExtension: EngineExtension;
  /** Playbook folders (default: `<data>/playbooks`). */
  readonly playbookDirs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Poll for due actions (tests drive `dispatchDue` themselves when false). */
  readonly dispatch?: boolean;
  /**
   * Turn processed changes into playbook signals (default true). Off in the scaled-out API role, where
   * dispatchers plan under a lease; the routes (playbooks, tasks, tracking, preferences) still work.
   */
  readonly planning?: boolean;
}

/** The automation extension with a handle on the engine it wires. */
export interface AutomationExtension extends AppExtension {
  automation(): Automation;
  playbooks(): PlaybookRegistry;
  /** Waits until every event processed so far has been turned into signals and handled. */
  settle(): Promise<void>;
}

/** The customer view the automation engine reads, built from the engine's state and the lenses' policies. */
export function customerView(engine: BuiltEngine, c: CustomerRecord): CustomerView {
  const types: Record<string, string> = {};
  const policies: Record<string, ContactPolicy> = {};
  for (const [lens, cl] of Object.entries(c.classifications)) {
    types[lens] = cl.type;
    if (!engine.lenses.has(lens)) continue;
    const t = engine.lenses.get(lens).definition.types.find((x) => x.name === cl.type);
    policies[lens] = t?.policy ?? DEFAULT_CONTACT_POLICY;
  }
  const tz = c.traits['timezone'] ?? c.traits['time_zone'];
  return {
    customerId: c.id,
    userId: c.userId ?? c.id,
    ...(c.email ? { email: c.email } : {}),
    ...(typeof tz === 'string' ? { timezone: tz } : {}),
    traits: c.traits,
    indicators: c.indicators,
    types,
    policies,
  };
}

/** The automation's customer directory over the engine's state. */
export function engineCustomerDirectory(engine: BuiltEngine, feed: EngineFeed): CustomerDirectory {
  return {
    async get(id) {
      const [c] = await feed.customers([id]);
      return c ? customerView(engine, c) : null;
    },
    async *iterate() {
      let after = '';
      for (;;) {
        const page = await feed.page(after, 1000);
        if (page.length === 0) return;
        for (const c of page) yield customerView(engine, c);
        after = page[page.length - 1]!.id;
      }
    },
  };
}

/**
 * Plugs marketing automation into the server: after every committed batch of the processor, its type
 * changes, indicator crossings and events become signals for the playbooks; feedback (deliveries, opens,
 * clicks, unsubscribes, task completions) goes back into the event log through the ingest writer, so it
 * updates the indicators and the classification like any other event.
 */
export function automationExtension(opts: AutomationExtensionOptions): AutomationExtension {
  let automation: Automation | undefined;
  let playbooks: PlaybookRegistry | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopWatch: (() => void) | undefined;
  let chain: Promise<void> = Promise.resolve();
  let planner: FeedPlanner | undefined;
  const catchUp = async (): Promise<void> => {
    await (planner as FeedPlanner).catchUp();
  };

  return {
    name: 'automation',
    automation() {
      if (!automation) throw new Error('automation extension not built yet');
      return automation;
    },
    playbooks() {
      if (!playbooks) throw new Error('automation extension not built yet');
      return playbooks;
    },
    async routes(server, app) {
      const env = opts.env ?? process.env;
      const dirs = opts.playbookDirs ?? [userPlaybookDir(app.config.dataDir)];
      playbooks = createPlaybookRegistry({ dirs });
      const errors = playbooks.lastErrors();
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new ConfigError(`${errors.length} playbook error(s):\n${errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n')}`, first, 'invalid_playbook');
      }
      const store = app.store.automationStore;
      const feed = app.store.engineFeed;
      const base = automationConfigFromEnv(app.config.dataDir, env);
      const emit = async (messages: readonly EmittedMessage[]) => {
        const events = feedbackEvents(messages, app.clock.now(), (message, result) => app.logger.error({ message, result }, 'feedback event rejected'));
        if (events.length > 0) await app.ingest.submit(events);
      };
      const templateDirs = [join(app.config.dataDir, 'templates'), BUILTIN_TEMPLATE_DIR];
      // Saved playbooks go to the user folder; when the folders were overridden, to the last one (it wins).
      const own = userPlaybookDir(app.config.dataDir);
      const channelSettings = wireChannelSettings(server, { store: app.store.settingsStore, env, publicUrl: base.publicUrl, signingSecret: base.signingSecret, now: () => app.clock.now() });
      registerPlaybookEditRoutes(server, { dirs, userDir: dirs.includes(own) ? own : (dirs[dirs.length - 1] ?? own), templateDirs, registry: () => playbooks as PlaybookRegistry });
      automation = createAutomation({
        clock: app.clock,
        store,
        customers: engineCustomerDirectory(opts.engine, feed),
        channels: createDefaultChannels({ store, signingSecret: base.signingSecret, env, settings: channelSettings }),
        emit,
        playbooks,
        config: {
          ...base,
          templateDirs,
          verifyWriteKey: async (k) => (await app.keyStore.verifyWriteKey(k)) !== null,
        },
        logger: app.logger,
      });
      await automation.routes(server);
      planner = createFeedPlanner({ feed, automation, playbooks });
      stopWatch = watchPlaybooks(playbooks, dirs, (r) => {
        if (r.ok) app.logger.info({ playbooks: playbooks?.current().length }, 'playbooks reloaded');
        else app.logger.error({ errors: playbooks?.lastErrors() }, 'playbook reload failed; keeping the last valid set');
      });
    },
    start(app) {
      const a = automation as Automation;
      const run = () => {
        chain = chain.then(catchUp).catch((err: unknown) => app.logger.error({ err }, 'automation could not handle processed events'));
      };
      if (opts.planning !== false) {
        unsubscribe = opts.engineExtension.onProcessed(run);
        run();
      }
      if (opts.dispatch !== false) a.start();
    },
    async stop() {
      unsubscribe?.();
      stopWatch?.();
      await chain;
      await automation?.stop();
    },
    /** For tests: waits until everything processed so far has been handled. */
    async settle() {
      await chain;
      chain = chain.then(catchUp);
      await chain;
    },
  };
}
