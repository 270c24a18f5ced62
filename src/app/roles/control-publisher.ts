import type { PartitionStream } from '../../adapters/nats/partition-stream';
import type { PostgresPool } from '../../adapters/postgres/open-pool';
import { PostgresEngineStore } from '../../adapters/postgres/postgres-engine-store';
import type { JsonObject } from '../../domain/event';
import { controlEvent } from '../../engine/control-event';
import { CLOCK_TICK_EVENT, VALUE_REFIT_EVENT } from '../../engine/processor';
import { FITTED_MODELS_PROPERTY, ValueEngine, type FittedValueModels, type ValueEngineOptions, type ValueEngineSnapshot } from '../../engine/value-engine';

/**
 * Control events of the scaled-out mode: published to every partition of the stream, so each
 * partition's processor carries them out at its own position (replay-deterministic: the log alone
 * determines the result).
 */

/**
 * Fits the value models once, globally, from PostgreSQL state: every buyer's purchase summary (kept
 * by the partition processors) as of event time `at`, starting from the models the partitions hold
 * now (as the embedded refit does). The result travels in the refit event.
 */
export async function fitValueModelsFromPostgres(pool: PostgresPool, options: ValueEngineOptions, at: number): Promise<FittedValueModels> {
  const engine = new ValueEngine(options);
  await restoreValueFromPostgres(pool, engine);
  const ok = engine.refit(at);
  return engine.fitted(ok);
}

/**
 * Loads the scaled-out mode's value state into `engine`: the models every partition applied (any
 * partition's: they all applied the same refit events) and every buyer's purchase summary. The api role
 * reads the value summary from it; a refit starts from it.
 */
export async function restoreValueFromPostgres(pool: PostgresPool, engine: ValueEngine): Promise<void> {
  const [all, models] = await Promise.all([
    new PostgresEngineStore(pool).loadValueState(),
    new PostgresEngineStore(pool, { partition: 0 }).loadValueModels(),
  ]);
  engine.restore(models as ValueEngineSnapshot | null, all.purchases);
}

/** Publishes a clock tick at wall-clock time `now` to every partition. */
export async function publishClockTick(stream: PartitionStream, id: string, now: number): Promise<void> {
  await stream.publishToAll(controlEvent(CLOCK_TICK_EVENT, id, now, now));
}

/**
 * Fits the value models from PostgreSQL as of event time `at` and publishes the refit, with the
 * fitted models, to every partition. Returns what was published.
 */
export async function publishValueRefit(
  stream: PartitionStream,
  pool: PostgresPool,
  opts: { id: string; at: number; now: number; valueOptions: ValueEngineOptions },
): Promise<FittedValueModels> {
  const fitted = await fitValueModelsFromPostgres(pool, opts.valueOptions, opts.at);
  await stream.publishToAll(controlEvent(VALUE_REFIT_EVENT, opts.id, opts.at, opts.now, { [FITTED_MODELS_PROPERTY]: fitted as unknown as JsonObject }));
  return fitted;
}
