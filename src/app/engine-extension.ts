import { SqliteCustomerQueries } from '../adapters/sqlite/sqlite-customer-queries';
import { SqliteEngineStore } from '../adapters/sqlite/sqlite-engine-store';
import type { TypeChange } from '../ports/engine-store';
import { CLOCK_TICK_EVENT, Processor, RAPPORT_SOURCE, VALUE_REFIT_EVENT } from '../engine/processor';
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '../domain/event';
import type { BuiltEngine } from './build-engine';
import { registerCustomerRoutes } from '../http/customer-routes';
import { registerLensRoutes } from '../http/lens-routes';
import { registerStreamRoutes } from '../http/stream-routes';
import { registerValueRoutes } from '../http/value-routes';
import { effectiveUnitCosts, registerCostSettingsRoutes } from '../http/settings-routes';
import { createSqliteSettingsStore } from '../adapters/sqlite/sqlite-settings-store';
import { SqliteValueQueries } from '../adapters/sqlite/sqlite-value-queries';
import type { App, AppExtension } from './create-app';

/** The engine as plugged into the app: the processor and its read side. */
export interface EngineExtension extends AppExtension {
  /** Available after the app is built. */
  processor(): Processor;
}

/**
 * Plugs the relationship engine into the server: the processor tails the event log (woken by each
 * ingest commit), and the customer, lens and stream routes read its state.
 */
export function engineExtension(opts: { engine: BuiltEngine; batchSize?: number; tickEveryMs?: number }): EngineExtension {
  let processor: Processor | undefined;
  const subscribers = new Set<(changes: readonly TypeChange[]) => void>();
  let unsubscribeCommit: (() => void) | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let appRef: App | undefined;
  /** Appends a control event at the wall clock's time; the processor carries it out in log order. */
  const control = async (event: string, at?: number): Promise<number> => {
    const a = appRef as App;
    const now = a.clock.now();
    const [out] = await a.ingest.submit([controlEvent(event, at ?? now, now)]);
    return out && 'seq' in out ? out.seq : 0;
  };
  return {
    name: 'engine',
    processor() {
      if (!processor) throw new Error('engine extension not built yet');
      return processor;
    },
    routes(server, app: App) {
      appRef = app;
      const store = new SqliteEngineStore(app.db);
      const queries = new SqliteCustomerQueries(app.db);
      processor = new Processor({
        eventLog: app.eventLog,
        store,
        modules: opts.engine.modules,
        ...(opts.engine.value ? { value: opts.engine.value } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        onError: (err) => app.logger.error({ err }, 'event processing failed; retrying'),
      });
      processor.onBatch((b) => {
        if (b.typeChanges.length === 0) return;
        for (const s of subscribers) s(b.typeChanges);
      });
      registerCustomerRoutes(server, { queries, lenses: opts.engine.lensDescriptions });
      registerLensRoutes(server, { queries, lenses: opts.engine.lensDescriptions, now: () => app.clock.now() });
      const latestEventTime = async () => (app.db.prepare('SELECT MAX(last_seen) AS t FROM customers').get() as { t: number | null }).t ?? 0;
      const settings = createSqliteSettingsStore(app.db);
      registerCostSettingsRoutes(server, { store: settings, configured: opts.engine.costs, now: () => app.clock.now() });
      registerValueRoutes(server, {
        queries: new SqliteValueQueries(app.db),
        value: opts.engine.value,
        lenses: opts.engine.lensDescriptions,
        costs: opts.engine.costs,
        effectiveCosts: async () => (await effectiveUnitCosts(settings, opts.engine.costs)).costs,
        heavyUserShare: opts.engine.valueOptions.heavyUserShare,
        latestEventTime,
        now: () => app.clock.now(),
        // Event time, not the wall clock: the refit sees the customers as of the latest event.
        requestRefit: async () => control(VALUE_REFIT_EVENT, (await latestEventTime()) || undefined),
      });
      // Time passing is an event too: every customer is re-evaluated as of the tick (at risk, lapsed...).
      server.post('/api/engine/tick', async (_request, reply) => reply.code(202).send({ accepted: true, seq: await control(CLOCK_TICK_EVENT) }));
      registerStreamRoutes(server, {
        subscribe: (listener) => {
          subscribers.add(listener);
          return () => subscribers.delete(listener);
        },
      });
    },
    start(app) {
      const p = processor as Processor;
      unsubscribeCommit = app.ingest.onCommitted(() => p.wake());
      p.start();
      if (opts.tickEveryMs && opts.tickEveryMs > 0) {
        tickTimer = setInterval(() => {
          void control(CLOCK_TICK_EVENT).catch((err: unknown) => app.logger.error({ err }, 'clock tick not recorded'));
        }, opts.tickEveryMs);
        tickTimer.unref();
      }
    },
    async stop() {
      if (tickTimer) clearInterval(tickTimer);
      unsubscribeCommit?.();
      // The write queue is flushed before extensions stop: catch up so a clean shutdown leaves nothing unprocessed.
      await processor?.stop();
      await processor?.drain();
    },
  };
}

/** A control event (refit, clock tick) as the log stores it; it belongs to no customer. */
function controlEvent(event: string, at: number, now: number): StoredEvent {
  return {
    seq: 0,
    messageId: `rapport-control-${randomUUID()}`,
    type: 'track',
    userId: RAPPORT_SOURCE,
    anonymousId: null,
    event,
    name: null,
    groupId: null,
    previousId: null,
    properties: {},
    traits: {},
    context: {},
    integrations: {},
    timestamp: at,
    receivedAt: now,
    sentAt: null,
    sourceId: RAPPORT_SOURCE,
  };
}
