import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../adapters/sqlite/open-database';
import { SqliteEventLog } from '../adapters/sqlite/sqlite-event-log';
import { SqliteKeyStore } from '../adapters/sqlite/sqlite-key-store';
import type { EventLog } from '../ports/event-log';
import type { KeyStore } from '../ports/key-store';

/** File name of the embedded database inside the data directory. */
export const DATABASE_FILE = 'rapport.db';

/** Path of the embedded database for a data directory. */
export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE);
}

/** An open embedded store: the database handle and the adapters on it. */
export interface OpenStore {
  db: SqliteDatabase;
  eventLog: EventLog;
  keyStore: KeyStore;
  close(): void;
}

/** Opens `<dataDir>/rapport.db` (creating and migrating it when needed) with its adapters. */
export function openStore(dataDir: string): OpenStore {
  const db = openSqliteDatabase(databasePath(dataDir));
  return {
    db,
    eventLog: new SqliteEventLog(db),
    keyStore: new SqliteKeyStore(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Opens the event log of a data directory for CLI commands that read (or import into) it,
 * e.g. `rapport clv fit --from-log`. Call `close()` when done.
 */
export function openEventLog(dataDir: string): { eventLog: EventLog; close(): void } {
  const s = openStore(dataDir);
  return { eventLog: s.eventLog, close: s.close };
}
