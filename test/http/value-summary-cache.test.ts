import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteValueQueries } from '../../src/adapters/sqlite/sqlite-value-queries';
import { createServer } from '../../src/http/create-server';
import { registerValueRoutes } from '../../src/http/value-routes';
import { DEFAULT_UNIT_COSTS } from '../../src/value/economics';
import { tempDir } from '../helpers/sim-log';

describe('GET /api/value/summary cache', () => {
  let db: SqliteDatabase | undefined;
  const dir = tempDir('rapport-value-cache-');
  afterEach(() => {
    db?.close();
    dir.cleanup();
  });

  it('computes once, serves the cached body, and after the TTL serves it while a fresh one is computed in the background', async () => {
    db = openSqliteDatabase(join(dir.dir, 'rapport.db'));
    const real = new SqliteValueQueries(db);
    let computations = 0;
    let release: (() => void) | null = null;
    const queries = {
      async revenues() {
        computations++;
        // The second computation is held back: the stale body must be served meanwhile.
        if (computations === 2) await new Promise<void>((r) => (release = r));
        return real.revenues();
      },
      async revenueSummary() {
        const revenues = await this.revenues();
        return { customers: revenues.length, revenueTotal: revenues.reduce((a, b) => a + b, 0), revenues, share: 1 };
      },
      aggregatesByType: (lens: string) => real.aggregatesByType(lens),
    };
    let now = 1_000_000;
    const server = createServer({ logger: pino({ level: 'silent' }), maxRequestBytes: 1024 });
    registerValueRoutes(server, {
      queries,
      value: undefined,
      lenses: { has: () => true, names: () => [] } as never,
      costs: DEFAULT_UNIT_COSTS,
      heavyUserShare: 0.2,
      latestEventTime: async () => 0,
      now: () => now,
      summaryTtlMs: 60_000,
      requestRefit: async () => 0,
    });
    const get = async () => (await server.inject({ method: 'GET', url: '/api/value/summary' })).json() as { computedAt: string };
    try {
      const first = await get();
      expect(computations).toBe(1);
      expect(await get()).toEqual(first);
      expect(computations).toBe(1);
      now += 61_000;
      // Expired: the stale body comes back at once while the refresh waits on its query.
      expect(await get()).toEqual(first);
      expect(computations).toBe(2);
      expect(await get()).toEqual(first);
      expect(computations).toBe(2);
      (release as unknown as () => void)();
      await new Promise((r) => setTimeout(r, 20));
      const fresh = await get();
      expect(fresh.computedAt).not.toBe(first.computedAt);
      expect(computations).toBe(2);
    } finally {
      await server.close();
    }
  });
});
