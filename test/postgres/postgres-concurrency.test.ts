import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migratePostgres, openPostgresPool, quoteIdent, type PostgresPool } from '../../src/adapters/postgres/open-pool';
import { createPostgresAutomationStore } from '../../src/adapters/postgres/postgres-automation-store';
import { PostgresEventLog } from '../../src/adapters/postgres/postgres-event-log';
import { POSTGRES_MIGRATIONS } from '../../src/adapters/postgres/postgres-migrations';
import { sampleEvent } from '../contract/event-log.contract';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { actionRow, enrolmentRow } from '../helpers/automation-rows';

reportPgSkip('postgres-concurrency.test.ts');

describe.skipIf(!PG_URL)('PostgreSQL adapters under concurrency', () => {
  const fresh = pgSchemas();
  const extra: PostgresPool[] = [];
  afterAll(async () => {
    for (const p of extra) await p.end().catch(() => {});
  });

  it('migrates once when several processes start together, and again is a no-op', async () => {
    const url = PG_URL as string;
    const schema = `rapport_test_${randomBytes(6).toString('hex')}`;
    try {
      // Separate pools = separate sessions, as separate processes would have.
      const pools = await Promise.all(Array.from({ length: 4 }, () => openPostgresPool(url, { schema, max: 2 })));
      extra.push(...pools);
      const rows = await (pools[0] as PostgresPool).query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
      const again = await migratePostgres(pools[1] as PostgresPool);
      expect(again.every((m) => !m.applied)).toBe(true);
      expect(again).toHaveLength(POSTGRES_MIGRATIONS.length);
    } finally {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await admin.end();
    }
  });

  it('concurrent appends get distinct seqs in commit order, and read() sees them all', async () => {
    const s = await fresh();
    const log = new PostgresEventLog(s.pool);
    const opts = { now: 0, dedupeWindowMs: 1000 };
    const outs = await Promise.all(
      Array.from({ length: 8 }, (_, w) => log.append(Array.from({ length: 25 }, (_, i) => sampleEvent(w * 100 + i)), opts)),
    );
    const seqs = outs.flat().map((o) => ('seq' in o ? o.seq : -1));
    expect(new Set(seqs).size).toBe(200);
    // Within each call the seqs follow the input order and are contiguous (appends are serialised).
    for (const o of outs) {
      const s2 = o.map((x) => ('seq' in x ? x.seq : -1));
      expect(s2).toEqual(s2.map((_, i) => (s2[0] as number) + i));
    }
    const read = await log.read(0, 1000);
    expect(read.map((e) => e.seq)).toEqual([...seqs].sort((a, b) => a - b));
    await s.close();
  });

  it('two schedulers claiming at once never take the same action', async () => {
    const s = await fresh();
    const other = await s.reopen();
    const a = createPostgresAutomationStore(s.pool);
    const b = createPostgresAutomationStore(other);
    const items = Array.from({ length: 60 }, (_, i) => {
      const enrolment = enrolmentRow(`e${i}`, `c${i}`, { enteredAt: 0, goalWithin: 1000 });
      const action = actionRow(`a${i}`, enrolment, i, { stepId: 's1' });
      return { enrolment, actions: [action] };
    });
    await a.enrol(items);
    const claimed: string[] = [];
    for (let round = 0; round < 10; round++) {
      const [x, y] = await Promise.all([a.claimDue(1000, 7, 10_000), b.claimDue(1000, 7, 10_000)]);
      claimed.push(...x.map((c) => c.action.id), ...y.map((c) => c.action.id));
    }
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBe(60);
    expect((await a.countActions()).sending).toBe(60);
    await s.close();
  });
});
