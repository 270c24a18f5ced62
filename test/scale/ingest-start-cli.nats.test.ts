import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresKeyStore } from '../../src/adapters/postgres/postgres-key-store';
import { main } from '../../src/cli/main';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { deleteStream, NATS_URL, uniqueStream } from './ingest-helpers';

const ROOT = join(import.meta.dirname, '..', '..');

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await main(['node', 'rapport', ...args], { stdout: () => {}, stderr: (t) => void (err += t), env });
  return { code, err };
}

describe('rapport start --role: wrong usage exits 2 with a clear message', () => {
  it('rejects an unknown role, a scaled-out role without --database-url or --nats-url; --role all with an unreachable --database-url fails', async () => {
    const unknown = await run(['start', '--role', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--role must be one of all, ingest, worker, dispatcher');
    for (const role of ['ingest', 'worker', 'dispatcher']) {
      const noDb = await run(['start', '--role', role]);
      expect(noDb.code).toBe(2);
      expect(noDb.err).toContain(`--role ${role} needs --database-url`);
      const noNats = await run(['start', '--role', role, '--database-url', 'postgres://u@127.0.0.1:1/x']);
      expect(noNats.code).toBe(2);
      expect(noNats.err).toContain(`--role ${role} needs --nats-url`);
    }
    // --role all with --database-url is the all-in-one server on PostgreSQL: here it cannot connect.
    const all = await run(['start', '--database-url', 'postgres://u@127.0.0.1:1/x']);
    expect(all.code).toBe(1);
    expect(all.err).toContain('cannot use PostgreSQL at postgres://u@127.0.0.1:1/x');
  });
});

if (!PG_URL || !NATS_URL) {
  console.warn('ingest-start-cli.nats.test.ts: process part skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');
} else {
  const pgUrl = PG_URL;
  const natsUrl = NATS_URL;
  const fresh = pgSchemas();
  const dir = mkdtempSync(join(tmpdir(), 'rapport-start-role-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('rapport start --role ingest as a process', () => {
    it('prints its URL, answers probes and metrics, accepts an event, and exits 0 on SIGTERM', async () => {
      const s = await fresh();
      const { writeKey } = await new PostgresKeyStore(s.pool).createSource('web', Date.now());
      const names = uniqueStream();
      writeFileSync(join(dir, 'rapport.config.yaml'), `scale:\n  stream: ${names.stream}\n  subjectPrefix: ${names.subjectPrefix}\n  partitions: 4\n`);
      const url = new URL(pgUrl);
      url.searchParams.set('options', `-c search_path=${s.schema}`);
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'rapport.mjs'), 'start', '--role', 'ingest', '--port', '0', '--config', join(dir, 'rapport.config.yaml')], {
        cwd: dir,
        env: { ...process.env, DATABASE_URL: url.toString(), NATS_URL: natsUrl, RAPPORT_LOG_LEVEL: 'warn' },
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
          });
          void exited.then((code) => reject(new Error(`exited ${code}`)));
        });
        const started = JSON.parse(line) as { event: string; role: string; url: string };
        expect(started).toMatchObject({ event: 'listening', role: 'ingest' });
        let ready = 0;
        for (let i = 0; i < 100 && ready !== 200; i++) {
          ready = (await fetch(`${started.url}/readyz`)).status;
          if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
        }
        expect(ready).toBe(200);
        const r = await fetch(`${started.url}/v1/track`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
          body: JSON.stringify({ userId: 'u1', event: 'Order Completed' }),
        });
        expect(r.status).toBe(200);
        expect(await (await fetch(`${started.url}/metrics`)).text()).toMatch(/rapport_ingest_events_published_total\{[^}]*outcome="accepted"[^}]*\} 1/);
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await deleteStream(natsUrl, names.stream);
      }
    });
  });
}
