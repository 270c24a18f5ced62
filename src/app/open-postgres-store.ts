import { openPostgresPool, type OpenPoolOptions, type PostgresPool } from '../adapters/postgres/open-pool';
import { createPostgresAutomationStore } from '../adapters/postgres/postgres-automation-store';
import { PostgresCustomerQueries } from '../adapters/postgres/postgres-customer-queries';
import { PostgresEngineFeed } from '../adapters/postgres/postgres-engine-feed';
import { PostgresIndicatorReadModel } from '../adapters/postgres/postgres-indicator-read-model';
import { PostgresValueQueries } from '../adapters/postgres/postgres-value-queries';
import { PostgresEngineStore } from '../adapters/postgres/postgres-engine-store';
import { PostgresEventLog } from '../adapters/postgres/postgres-event-log';
import { PostgresKeyStore } from '../adapters/postgres/postgres-key-store';
import { createPostgresUserStore } from '../adapters/postgres/postgres-user-store';
import { PostgresDashboardQueries } from '../adapters/postgres/postgres-dashboard-queries';
import { createPostgresSettingsStore } from '../adapters/postgres/postgres-settings-store';
import type { DashboardQueries } from '../ports/dashboard-queries';
import type { SettingsStore } from '../ports/settings-store';
import type { AutomationStore } from '../ports/automation-store';
import type { EngineFeed } from '../ports/engine-feed';
import type { IndicatorReadModel } from '../ports/indicator-read-model';
import type { ValueQueries } from '../ports/value-queries';
import type { CustomerQueries, EngineStore } from '../ports/engine-store';
import type { EventLog } from '../ports/event-log';
import type { KeyStore } from '../ports/key-store';
import type { UserStore } from '../ports/user-store';

/** Every storage port on one PostgreSQL pool (scaled-out mode). */
export interface OpenPostgresStore {
  readonly pool: PostgresPool;
  readonly eventLog: EventLog;
  readonly keyStore: KeyStore;
  readonly engineStore: EngineStore;
  readonly customerQueries: CustomerQueries;
  readonly automationStore: AutomationStore;
  readonly userStore: UserStore;
  readonly engineFeed: EngineFeed;
  readonly indicatorReadModel: IndicatorReadModel;
  readonly valueQueries: ValueQueries;
  readonly settingsStore: SettingsStore;
  readonly dashboardQueries: DashboardQueries;
  close(): Promise<void>;
}

/**
 * Opens a pool on `url` (from `--database-url` / `DATABASE_URL`), applies pending migrations under an
 * advisory lock, and builds every PostgreSQL adapter on it. Call `close()` when done.
 */
export async function openPostgresStore(url: string, opts: OpenPoolOptions = {}): Promise<OpenPostgresStore> {
  const pool = await openPostgresPool(url, opts);
  return {
    pool,
    eventLog: new PostgresEventLog(pool),
    keyStore: new PostgresKeyStore(pool),
    engineStore: new PostgresEngineStore(pool),
    customerQueries: new PostgresCustomerQueries(pool),
    automationStore: createPostgresAutomationStore(pool),
    userStore: createPostgresUserStore(pool),
    engineFeed: new PostgresEngineFeed(pool),
    indicatorReadModel: new PostgresIndicatorReadModel(pool),
    valueQueries: new PostgresValueQueries(pool),
    settingsStore: createPostgresSettingsStore(pool),
    dashboardQueries: new PostgresDashboardQueries(pool),
    close: () => pool.end(),
  };
}
