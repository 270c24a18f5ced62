import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/adapters/postgres/open-pool';
import { POSTGRES_MIGRATIONS } from '../../src/adapters/postgres/postgres-migrations';
import type { MigrateReport } from '../../src/cli/commands/migrate';
import { main } from '../../src/cli/main';
import { PG_URL, reportPgSkip } from '../helpers/pg-test-schema';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'rapport', ...args], { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {} });
  return { code, out, err };
}

reportPgSkip('migrate-cli.test.ts (PostgreSQL part)');

describe('rapport migrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-migrate-'));
  const schema = `rapport_test_${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (!PG_URL) return;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
  });

  it('migrates the SQLite file in --data, then reports it up to date', async () => {
    const first = await run('migrate', '--data', dir, '--json');
    expect(first.code).toBe(0);
    const r1 = JSON.parse(first.out) as MigrateReport;
    expect(r1.backend).toBe('sqlite');
    expect(r1.applied.length).toBeGreaterThan(0);
    const second = await run('migrate', '--data', dir);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/^sqlite: up to date/);
  });

  it('rejects a non-PostgreSQL URL and --schema without a URL as wrong usage', async () => {
    expect((await run('migrate', '--database-url', 'mysql://x/y')).code).toBe(2);
    expect((await run('migrate', '--data', dir, '--schema', 'x')).code).toBe(2);
  });

  it('reports an unreachable server as a failure with the password hidden', async () => {
    const r = await run('migrate', '--database-url', 'postgres://u:hunter2@127.0.0.1:1/test');
    expect(r.code).toBe(1);
    expect(r.err).toContain('(unavailable)');
    expect(r.err).not.toContain('hunter2');
  });

  it.skipIf(!PG_URL)('applies the PostgreSQL migrations once and prints the versions (--json)', async () => {
    const first = await run('migrate', '--database-url', PG_URL as string, '--schema', schema, '--json');
    expect(first.code).toBe(0);
    const r1 = JSON.parse(first.out) as MigrateReport;
    const versions = POSTGRES_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b);
    expect(r1).toMatchObject({ backend: 'postgres', applied: versions });
    const second = JSON.parse((await run('migrate', '--database-url', PG_URL as string, '--schema', schema, '--json')).out) as MigrateReport;
    expect(second.applied).toEqual([]);
    expect(second.migrations.map((m) => m.version)).toEqual(versions);
  });
});
