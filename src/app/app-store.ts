import type { OpenPoolOptions } from '../adapters/postgres/open-pool';
import { openSqliteDatabase, type SqliteDatabase } from '../adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../adapters/sqlite/sqlite-automation-store';
import { SqliteCustomerQueries } from '../adapters/sqlite/sqlite-customer-queries';
import { SqliteDashboardQueries } from '../adapters/sqlite/sqlite-dashboard-queries';
import { SqliteEngineFeed } from '../adapters/sqlite/sqlite-engine-feed';
import { SqliteEngineStore } from '../adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../adapters/sqlite/sqlite-event-log';
import { SqliteIndicatorReadModel } from '../adapters/sqlite/sqlite-indicator-read-model';
import { SqliteKeyStore } from '../adapters/sqlite/sqlite-key-store';
import { createSqliteSettingsStore } from '../adapters/sqlite/sqlite-settings-store';
import { createSqliteUserStore } from '../adapters/sqlite/sqlite-user-store';
import type { ProcessLock } from '../adapters/shared/process-lock';
import { lockDataDirectory } from '../adapters/sqlite/sqlite-process-lock';
import { SqliteValueQueries } from '../adapters/sqlite/sqlite-value-queries';
import { SqliteWorkerEventLog } from '../adapters/sqlite/sqlite-worker-event-log';
import { ConfigError } from '../domain/errors';
import type { AutomationStore } from '../ports/automation-store';
import type { DashboardQueries } from '../ports/dashboard-queries';
import type { EngineFeed } from '../ports/engine-feed';
import type { CustomerQueries, EngineStore } from '../ports/engine-store';
import type { EventLog } from '../ports/event-log';
import type { IndicatorReadModel } from '../ports/indicator-read-model';
import type { KeyStore } from '../ports/key-store';
import type { SettingsStore } from '../ports/settings-store';
import type { UserStore } from '../ports/user-store';
import type { ValueQueries } from '../ports/value-queries';
import { databasePath } from './open-event-log';
import { openPostgresStore } from './open-postgres-store';
import { PostgresPartitionProgress } from '../adapters/postgres/postgres-partition-progress';
import { lockSingleProcessor } from '../adapters/postgres/postgres-process-lock';

/**
 * Every storage port the server and the CLI use, on one backend: the embedded SQLite file or
 * PostgreSQL. Nothing outside `src/adapters/` and this file knows which.
 */
export interface AppStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The log ingest appends to (on SQLite with the writer thread: the worker-thread writer). */
  readonly eventLog: EventLog;
  readonly keyStore: KeyStore;
  readonly engineStore: EngineStore;
  readonly customerQueries: CustomerQueries;
  readonly valueQueries: ValueQueries;
  readonly engineFeed: EngineFeed;
  readonly automationStore: AutomationStore;
  readonly userStore: UserStore;
  readonly settingsStore: SettingsStore;
  /** Shares the store's connection: its `close()` does nothing; close the store. */
  readonly indicatorReadModel: IndicatorReadModel;
  readonly dashboardQueries: DashboardQueries;
  /** Event time of the latest event of any customer (0 before the first). */
  latestEventTime(): Promise<number>;
  /** True while the store is open (the readiness probe). */
  healthy(): boolean;
  /** True when scaled-out partition workers use this database (PostgreSQL only): no single-process processor may run on it. */
  usedByPartitionWorkers(): Promise<boolean>;
  /**
   * Takes the store's processing lock: one process at a time may run the single-process event processor
   * (a server, a replay) on it, or both would apply the same events. Throws RapportError `engine_busy` when
   * another process holds it; the lock goes with `release()`, the store's `close()` or the process.
   */
  claimProcessing(): Promise<ProcessLock>;
  /** Closes everything (the worker-thread writer first). Idempotent. */
  close(): Promise<void>;
}

/** Where the state lives: `databaseUrl` (PostgreSQL) wins over `dataDir` (SQLite file `<dataDir>/rapport.db`). */
export interface AppStoreSettings {
  readonly dataDir: string;
  readonly databaseUrl?: string | null;
  /** SQLite only: append on a worker thread so fsync overlaps request parsing (the server; default false). */
  readonly writerThread?: boolean;
  /** PostgreSQL only: pool options (schema, size). */
  readonly pool?: OpenPoolOptions;
}

/** True for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens the store the settings name: PostgreSQL when `databaseUrl` is set (pool opened and migrated),
 * else the embedded SQLite file in `dataDir` (created and migrated). Call `close()` when done.
 */
export async function openAppStore(settings: AppStoreSettings): Promise<AppStore> {
  const url = settings.databaseUrl;
  if (url) {
    if (!isPostgresUrl(url)) throw new ConfigError(`the database URL must start with postgres:// or postgresql:// (got '${url.replace(/\/\/[^@/]*@/, '//***@')}')`);
    return openPostgresAppStore(url, settings.pool);
  }
  return openSqliteAppStore(settings.dataDir, { writerThread: settings.writerThread ?? false });
}

/** The SQLite handle under a store, for tests and tools that need SQL on the embedded file; throws on PostgreSQL. */
export function sqliteHandle(store: AppStore | { store: AppStore }): SqliteDatabase {
  const s = 'store' in store ? store.store : store;
  const db = handles.get(s);
  if (!db) throw new ConfigError('this store is not the embedded SQLite one');
  return db;
}

const handles = new WeakMap<AppStore, SqliteDatabase>();

async function openSqliteAppStore(dataDir: string, opts: { writerThread: boolean }): Promise<AppStore> {
  const db = openSqliteDatabase(databasePath(dataDir));
  let workerLog: SqliteWorkerEventLog | null = null;
  try {
    // Measured: committing on a worker thread lets fsync overlap request parsing (see docs/ingest.md).
    if (opts.writerThread) workerLog = await SqliteWorkerEventLog.open(db);
  } catch (e) {
    db.close();
    throw e;
  }
  const customerQueries = new SqliteCustomerQueries(db);
  const locks: ProcessLock[] = [];
  let closing: Promise<void> | undefined;
  const store: AppStore = {
    kind: 'sqlite',
    eventLog: workerLog ?? new SqliteEventLog(db),
    keyStore: new SqliteKeyStore(db),
    engineStore: new SqliteEngineStore(db),
    customerQueries,
    valueQueries: new SqliteValueQueries(db),
    engineFeed: new SqliteEngineFeed(db),
    automationStore: createSqliteAutomationStore(db),
    userStore: createSqliteUserStore(db),
    settingsStore: createSqliteSettingsStore(db),
    indicatorReadModel: new SqliteIndicatorReadModel(db),
    dashboardQueries: new SqliteDashboardQueries(db),
    latestEventTime: () => customerQueries.latestEventTime(),
    healthy: () => db.open,
    usedByPartitionWorkers: async () => false,
    claimProcessing: async () => {
      const lock = lockDataDirectory(dataDir, process.pid);
      locks.push(lock);
      return lock;
    },
    close() {
      closing ??= (async () => {
        for (const l of locks) await l.release();
        await workerLog?.close();
        if (db.open) db.close();
      })();
      return closing;
    },
  };
  handles.set(store, db);
  return store;
}

async function openPostgresAppStore(url: string, pool: OpenPoolOptions | undefined): Promise<AppStore> {
  const s = await openPostgresStore(url, pool);
  const locks: ProcessLock[] = [];
  let closing: Promise<void> | undefined;
  let closed = false;
  return {
    kind: 'postgres',
    eventLog: s.eventLog,
    keyStore: s.keyStore,
    engineStore: s.engineStore,
    customerQueries: s.customerQueries,
    valueQueries: s.valueQueries,
    engineFeed: s.engineFeed,
    automationStore: s.automationStore,
    userStore: s.userStore,
    settingsStore: s.settingsStore,
    indicatorReadModel: s.indicatorReadModel,
    dashboardQueries: s.dashboardQueries,
    latestEventTime: () => s.customerQueries.latestEventTime(),
    healthy: () => !closed,
    usedByPartitionWorkers: () => new PostgresPartitionProgress(s.pool).usedByPartitionWorkers(),
    claimProcessing: async () => {
      const lock = await lockSingleProcessor(s.pool);
      locks.push(lock);
      return lock;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const l of locks) await l.release();
        await s.close();
      })();
      return closing;
    },
  };
}
