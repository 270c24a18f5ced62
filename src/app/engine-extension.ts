import type { TypeChange } from '../ports/engine-store';
import { CLOCK_TICK_EVENT, Processor, VALUE_REFIT_EVENT } from '../engine/processor';
import { controlEvent } from '../engine/control-event';
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../domain/errors';
import type { BuiltEngine } from './build-engine';
import { registerCustomerRoutes } from '../http/customer-routes';
import { registerLensRoutes } from '../http/lens-routes';
import { registerStreamRoutes } from '../http/stream-routes';
import { registerValueRoutes } from '../http/value-routes';
import { effectiveUnitCosts, registerCostSettingsRoutes } from '../http/settings-routes';
import type { App, AppExtension } from './create-app';
import { sqliteHandle } from './app-store';
import type { ProcessLock } from '../adapters/shared/process-lock';
import { SqliteWalCheckpointer } from '../adapters/sqlite/sqlite-wal-checkpointer';

/** The engine as plugged into the app: the processor and its read side. */
export interface EngineExtension extends AppExtension {
  /** Available after the app is built; throws in read-only mode (no processor in this process). */
  processor(): Processor;
  /** Runs `listener` after each batch the engine committed (polled in read-only mode); returns an unsubscribe function. */
  onProcessed(listener: () => void): () => void;
}

/**
 * Read-only mode (the scaled-out API role): partition workers process the stream; this process serves
 * the read side and forwards control events.
 */
export interface EngineReadOnlyMode {
  /** Carries out a control event (e.g. publishes it to every partition); resolves to a log position, or 0 when it has none. */
  control(event: typeof VALUE_REFIT_EVENT | typeof CLOCK_TICK_EVENT, at?: number): Promise<number>;
  /** Highest log position every partition has processed: type changes up to it are final. */
  processed(): Promise<number>;
  /** How often to look for newly processed changes (live stream), default 1000 ms. */
  pollMs?: number;
}

/** Options of {@link engineExtension}. */
export interface EngineExtensionOptions {
  engine: BuiltEngine;
  batchSize?: number;
  /** Append a clock tick this often (wall clock); off when absent or 0. */
  tickEveryMs?: number;
  readOnly?: EngineReadOnlyMode;
}

/**
 * Plugs the relationship engine into the server: the processor tails the event log (woken by each
 * ingest commit), and the customer, lens and stream routes read its state. In read-only mode there is
 * no processor: the routes read what the partition workers committed.
 */
export function engineExtension(opts: EngineExtensionOptions): EngineExtension {
  let processor: Processor | undefined;
  const subscribers = new Set<(changes: readonly TypeChange[]) => void>();
  const processedListeners = new Set<() => void>();
  let unsubscribeCommit: (() => void) | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let poller: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  let appRef: App | undefined;
  let checkpointer: SqliteWalCheckpointer | undefined;
  let processingLock: ProcessLock | undefined;
  let unsubscribeCheckpoints: (() => void) | undefined;
  const readOnly = opts.readOnly;
  /** Appends a control event at the wall clock's time; the processor carries it out in log order. */
  const control = async (event: typeof VALUE_REFIT_EVENT | typeof CLOCK_TICK_EVENT, at?: number): Promise<number> => {
    if (readOnly) return readOnly.control(event, at);
    const a = appRef as App;
    const now = a.clock.now();
    const [out] = await a.ingest.submit([controlEvent(event, `rapport-control-${randomUUID()}`, at ?? now, now)]);
    return out && 'seq' in out ? out.seq : 0;
  };
  const notify = (changes: readonly TypeChange[]): void => {
    if (changes.length > 0) for (const s of subscribers) s(changes);
    for (const l of processedListeners) l();
  };
  return {
    name: 'engine',
    processor() {
      if (readOnly) throw new Error('the engine runs read-only in this process (partition workers process the events)');
      if (!processor) throw new Error('engine extension not built yet');
      return processor;
    },
    onProcessed(listener) {
      processedListeners.add(listener);
      return () => processedListeners.delete(listener);
    },
    async routes(server, app: App) {
      appRef = app;
      if (!readOnly && (await app.store.usedByPartitionWorkers())) {
        throw new ConfigError(
          'this database is used by scaled-out partition workers: a single-process server would process their events a second time. ' +
            'Serve the admin API and dashboard with `rapport start --role api` instead.',
          undefined,
          'scaled_out_database',
        );
      }
      // One processor per store: a second server (or a replay) on the same data would apply every event again.
      if (!readOnly) processingLock = await app.store.claimProcessing();
      const queries = app.store.customerQueries;
      if (!readOnly) processor = new Processor({
        eventLog: app.eventLog,
        store: app.store.engineStore,
        modules: opts.engine.modules,
        ...(opts.engine.value ? { value: opts.engine.value } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        onError: (err) => app.logger.error({ err }, 'event processing failed; retrying'),
      });
      processor?.onBatch((b) => notify(b.typeChanges));
      const lensModule = opts.engine.modules.lenses;
      registerCustomerRoutes(server, {
        queries,
        lenses: opts.engine.lensDescriptions,
        // With the lenses loaded now: a type decided before a lens was edited is explained by the edited lens.
        explain: (lens, type, indicators, traits) =>
          lensModule.names().includes(lens) ? lensModule.explain(lens, indicators, traits, { type, since: 0 }) : null,
      });
      registerLensRoutes(server, { queries, lenses: opts.engine.lensDescriptions, now: () => app.clock.now() });
      const latestEventTime = () => app.store.latestEventTime();
      const settings = app.store.settingsStore;
      registerCostSettingsRoutes(server, { store: settings, configured: opts.engine.costs, now: () => app.clock.now() });
      registerValueRoutes(server, {
        queries: app.store.valueQueries,
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
    async start(app) {
      if (readOnly) {
        // Type changes committed by the workers reach the live stream by polling the safe position.
        let last = await readOnly.processed();
        poller = setInterval(() => {
          polling = polling
            .then(async () => {
              const upto = await readOnly.processed();
              if (upto <= last) return;
              const changes = await app.store.engineFeed.typeChangesBetween(last, upto);
              last = upto;
              notify(changes);
            })
            .catch((err: unknown) => app.logger.error({ err }, 'could not read processed type changes'));
        }, readOnly.pollMs ?? 1000);
        poller.unref();
        return;
      }
      const p = processor as Processor;
      if (app.store.kind === 'sqlite') {
        // The WAL is copied back on a worker thread, not inside a processor commit on this thread.
        const cp = await SqliteWalCheckpointer.start(sqliteHandle(app), { onError: (err) => app.logger.error({ err }, 'WAL checkpoint failed') });
        checkpointer = cp;
        unsubscribeCheckpoints = p.onBatch(() => cp.request());
      }
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
      if (poller) clearInterval(poller);
      await polling;
      unsubscribeCommit?.();
      // The write queue is flushed before extensions stop: catch up so a clean shutdown leaves nothing unprocessed.
      await processor?.stop();
      await processor?.drain();
      unsubscribeCheckpoints?.();
      await checkpointer?.stop();
      await processingLock?.release();
    },
  };
}
