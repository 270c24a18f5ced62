import type { IndicatorReadModel } from '../ports/indicator-read-model';
import { openAppStore, type AppStoreSettings } from './app-store';

/**
 * Opens the indicator read model over the engine's store (for `rapport train` and `rapport discover`):
 * the SQLite file in a data directory, or PostgreSQL when `databaseUrl` is given. Labels may name
 * customers by id, userId or anonymousId. Call `close()` when done (it closes the store).
 */
export async function openIndicatorReadModel(where: string | AppStoreSettings): Promise<IndicatorReadModel> {
  const store = await openAppStore(typeof where === 'string' ? { dataDir: where } : where);
  const model = store.indicatorReadModel;
  return {
    iterate: () => model.iterate(),
    get: (ids) => model.get(ids),
    close: () => store.close(),
  };
}
