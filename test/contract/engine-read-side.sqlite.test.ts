import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { SqliteEngineFeed } from '../../src/adapters/sqlite/sqlite-engine-feed';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { SqliteIndicatorReadModel } from '../../src/adapters/sqlite/sqlite-indicator-read-model';
import { SqliteValueQueries } from '../../src/adapters/sqlite/sqlite-value-queries';
import { engineReadSideContract } from './engine-read-side.contract';

engineReadSideContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-read-side-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  return {
    log: new SqliteEventLog(db),
    store: new SqliteEngineStore(db),
    feed: new SqliteEngineFeed(db),
    readModel: new SqliteIndicatorReadModel(db),
    values: new SqliteValueQueries(db),
    automation: createSqliteAutomationStore(db),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
