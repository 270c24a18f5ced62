import { SqliteEngineFeed } from '../adapters/sqlite/sqlite-engine-feed';
import type { CustomerDirectory } from '../automation/types';
import { engineCustomerDirectory } from './automation-extension';
import { buildEngine } from './build-engine';
import { openStore } from './open-event-log';

/**
 * The current population of a data directory as the automation sees it (types, indicators, policies),
 * for CLI commands such as `rapport playbooks dry-run`. Call `close()` when done.
 */
export function openCustomerDirectory(dataDir: string): { customers: CustomerDirectory; close(): void } {
  const engine = buildEngine({ dataDir, statements: false, value: false });
  const store = openStore(dataDir);
  return { customers: engineCustomerDirectory(engine, new SqliteEngineFeed(store.db)), close: store.close };
}
