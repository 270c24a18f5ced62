import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openAppStore } from '../../src/app/app-store';
import { loadConfig } from '../../src/app/config';
import { createApp } from '../../src/app/create-app';
import { defaultExtensions } from '../../src/app/default-extensions';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { tempDir } from '../helpers/sim-log';

reportPgSkip('one-processor.postgres.test.ts');

/** On PostgreSQL too, one single-process server (or replay) at a time processes a database. */
describe.skipIf(!PG_URL)('one processor per PostgreSQL database', () => {
  const fresh = pgSchemas();

  it('refuses a second single-process server on the same database, and takes it once the first stopped', async () => {
    const s = await fresh();
    const dir = tempDir('rapport-one-processor-pg-');
    const config = loadConfig({ cwd: dir.dir, env: {}, overrides: { port: 0, dataDir: dir.dir, databaseUrl: PG_URL! } });
    const make = () =>
      createApp(config, {
        extensions: defaultExtensions(config).list,
        logger: pino({ level: 'silent' }),
        openStore: (c) => openAppStore({ dataDir: c.dataDir, databaseUrl: c.databaseUrl, pool: { schema: s.schema } }),
      });
    try {
      const first = await make();
      await first.start();
      await expect(make()).rejects.toMatchObject({ code: 'engine_busy', message: expect.stringMatching(/already processing events on this database/) });
      // A replay through the same store refuses too.
      const store = await openAppStore({ dataDir: dir.dir, databaseUrl: PG_URL!, pool: { schema: s.schema } });
      await expect(store.claimProcessing()).rejects.toMatchObject({ code: 'engine_busy' });
      await store.close();
      await first.stop();
      const second = await make();
      await second.start();
      await second.stop();
    } finally {
      dir.cleanup();
      await s.close();
    }
  }, 60_000);
});
