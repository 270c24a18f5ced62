import type { AutomationStore } from '../ports/automation-store';
import type { CustomerDirectory } from '../automation/types';
import { openAppStore, type AppStoreSettings } from './app-store';
import { engineCustomerDirectory } from './automation-extension';
import { buildEngine } from './build-engine';

/**
 * The current population of a store as the automation sees it (types, indicators, policies), with the
 * automation store next to it, for CLI commands such as `rapport playbooks dry-run`: the SQLite file in
 * `dataDir`, or PostgreSQL when `databaseUrl` is given. Call `close()` when done.
 */
export async function openCustomerDirectory(
  where: AppStoreSettings,
): Promise<{ customers: CustomerDirectory; automation: AutomationStore; close(): Promise<void> }> {
  const engine = buildEngine({ dataDir: where.dataDir, statements: false, value: false });
  const store = await openAppStore(where);
  return { customers: engineCustomerDirectory(engine, store.engineFeed), automation: store.automationStore, close: () => store.close() };
}
