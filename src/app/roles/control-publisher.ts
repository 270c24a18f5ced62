import type { PartitionStream } from '../../adapters/nats/partition-stream';
import type { PostgresPool } from '../../adapters/postgres/open-pool';
import { PostgresEngineStore } from '../../adapters/postgres/postgres-engine-store';
import { PostgresCustomerQueries } from '../../adapters/postgres/postgres-customer-queries';
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
 * partition's: they all applied the same refit events) and every buyer's purchase summary — or, with
 * `maxBuyers` and more customers than that, a uniform sample of about that many buyers (the api role's value
 * summary: its memory stays bounded at 100M customers). A refit starts from the full state.
 */
export async function restoreValueFromPostgres(pool: PostgresPool, engine: ValueEngine, opts: { maxBuyers?: number } = {}): Promise<void> {
  const store = new PostgresEngineStore(pool);
  const customers = opts.maxBuyers === undefined ? 0 : await new PostgresCustomerQueries(pool).countCustomers();
  // Buyers are at most the customers: sampling that share keeps the sample under maxBuyers.
  const share = opts.maxBuyers !== undefined && customers > opts.maxBuyers ? opts.maxBuyers / customers : 1;
  const [purchases, models] = await Promise.all([
    share < 1 ? store.samplePurchases(share) : store.loadValueState().then((v) => v.purchases),
    new PostgresEngineStore(pool, { partition: 0 }).loadValueModels(),
  ]);
  engine.restore(models as ValueEngineSnapshot | null, purchases, share);
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
