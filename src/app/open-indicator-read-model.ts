import { SqliteIndicatorReadModel } from '../adapters/sqlite/sqlite-indicator-read-model';
import type { IndicatorReadModel } from '../ports/indicator-read-model';
import { openStore } from './open-event-log';

/**
 * Opens the indicator read model over the engine's store in `dataDir` (for `rapport train` and
 * `rapport discover`). Labels may name customers by id, userId or anonymousId. Call `close()` when done.
 */
export async function openIndicatorReadModel(dataDir: string): Promise<IndicatorReadModel> {
  const store = openStore(dataDir);
  return new SqliteIndicatorReadModel(store.db, () => store.close());
}
