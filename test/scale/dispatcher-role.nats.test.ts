import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDispatcherRole, type DispatcherRoleOptions } from '../../src/app/roles/dispatcher-role';
import { PG_URL, pgSchemas, type PgTestSchema } from '../helpers/pg-test-schema';
import { startSmtpSink } from '../automation/helpers';
import { deleteStream, NATS_URL, uniqueStream, until } from './ingest-helpers';

const ROOT = join(import.meta.dirname, '..', '..');
const TEMPLATES = join(ROOT, 'test', 'automation', 'fixtures', 'templates');
const PLAYBOOK = `
id: rescue
name: Rescue
trigger: { entered: { lens: lifecycle, type: at_risk } }
holdout: 0
policy: { send_time: { strategy: immediate }, caps: {}, quiet_hours: { start: "00:00", end: "00:00" } }
steps:
  - id: mail
    send: { channel: email, template: plain }
`;

/** Customers k<from>..k<to-1>, each with a processed event and a type change to at_risk at seq = i + 1, on partition 0. */
async function seed(s: PgTestSchema, from: number, to: number): Promise<void> {
  await s.pool.query(
    `INSERT INTO customers (id, user_id, email, first_seen, last_seen, event_count, classifications)
     SELECT 'k' || i, 'u' || i, 'k' || i || '@example.test', 0, 0, 1, '{"lifecycle":{"type":"at_risk","probability":0.9,"since":0}}'
       FROM generate_series($1::int, $2::int - 1) i`,
    [from, to],
  );
  await s.pool.query(
    `INSERT INTO events (message_id, type, user_id, timestamp, received_at, source_id, data, partition)
     SELECT 'm' || i, 'track', 'u' || i, 0, 0, 'test', '{}', 0 FROM generate_series($1::int, $2::int - 1) i ORDER BY i`,
    [from, to],
  );
  await s.pool.query(
    `INSERT INTO type_history (customer_id, lens, from_type, to_type, at, seq, message_id, event)
     SELECT 'k' || i, 'lifecycle', 'established', 'at_risk', 0, i + 1, 'm' || i, 'Order Completed' FROM generate_series($1::int, $2::int - 1) i`,
    [from, to],
  );
  await s.pool.query(`INSERT INTO stream_positions (partition, stream_seq) VALUES (0, $1) ON CONFLICT (partition) DO UPDATE SET stream_seq = excluded.stream_seq`, [to]);
}

/** Moves partition 0's processor checkpoint (what the planner may read up to). */
async function processedUpTo(s: PgTestSchema, seq: number): Promise<void> {
  await s.pool.query(`INSERT INTO engine_checkpoint (name, seq) VALUES ('partition:0', $1) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, [seq]);
}

function spawnDispatcher(opts: DispatcherRoleOptions): { child: ChildProcess; url: Promise<string>; exited: Promise<string | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'dispatcher-child.ts'), JSON.stringify(opts)], { cwd: ROOT });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`dispatcher child exited (${code}): ${err}`)));
  });
  const exited = new Promise<string | null>((resolve) => child.once('exit', (_c, signal) => resolve(signal)));
  return { child, url, exited };
}

if (!PG_URL || !NATS_URL) {
  console.warn('dispatcher-role.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');
  describe.skip('dispatcher role (needs PostgreSQL and NATS)', () => it('skipped', () => {}));
} else {
  const pgUrl = PG_URL;
  const natsUrl = NATS_URL;
  const fresh = pgSchemas();
  const dir = mkdtempSync(join(tmpdir(), 'rapport-dispatch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('dispatcher role', () => {
    it('two dispatchers send every due action once; one planner; the planner stops at the safe position; after SIGKILL of one the other finishes, nothing skipped', async () => {
      const N1 = 60;
      const N = 300;
      const s = await fresh();
      const names = uniqueStream();
      const smtp = await startSmtpSink({ delayMs: 40 });
      mkdirSync(join(dir, 'playbooks'), { recursive: true });
      writeFileSync(join(dir, 'playbooks', 'rescue.yaml'), PLAYBOOK);
      const opts: DispatcherRoleOptions = {
        databaseUrl: pgUrl,
        natsUrl,
        schema: s.schema,
        port: 0,
        host: '127.0.0.1',
        dataDir: dir,
        templateDirs: [TEMPLATES],
        stream: { ...names, partitions: 4 },
        pollMs: 100,
        actionLeaseMs: 2_000,
        batchSize: 10,
        env: {
          RAPPORT_SMTP_URL: smtp.url,
          RAPPORT_SMTP_FROM: 'Rapport <r@rapport.test>',
          RAPPORT_SIGNING_SECRET: 'dispatch-test-secret-0123456789',
          RAPPORT_PUBLIC_URL: 'http://127.0.0.1:9',
        },
      };
      // Events up to N are in the log, but only the first N1 are processed: the planner must stop there.
      await seed(s, 0, N);
      const a = await startDispatcherRole(opts);
      const b = spawnDispatcher(opts);
      try {
        await b.url;
        // Both are up: let the first N1 events count as processed.
        await processedUpTo(s, N1);
        const byKey = (): Map<string, string[]> => {
          const m = new Map<string, string[]>();
          for (const msg of smtp.messages) {
            const k = msg.headers['x-rapport-idempotency-key'] ?? '';
            m.set(k, [...(m.get(k) ?? []), msg.headers['message-id'] ?? '']);
          }
          return m;
        };
        const actions = async () => (await s.pool.query<{ status: string; n: number }>(`SELECT status, COUNT(*)::int AS n FROM auto_actions GROUP BY status`)).rows;
        await until(async () => smtp.messages.length >= N1 && (await actions()).every((r) => r.status === 'done' || r.n === 0), 'first wave sent', 60_000);
        // Phase 1, no failure: exactly once at the SMTP server, and nothing beyond the safe position.
        expect(smtp.messages).toHaveLength(N1);
        expect([...byKey().values()].every((ids) => ids.length === 1)).toBe(true);
        const leaders = (await fetch(`${a.url}/metrics`).then((r) => r.text())).match(/rapport_dispatcher_planner_leader\{[^}]*\} (\d)/)?.[1];
        const bLeader = (await fetch(`${await b.url}/metrics`).then((r) => r.text())).match(/rapport_dispatcher_planner_leader\{[^}]*\} (\d)/)?.[1];
        expect(Number(leaders) + Number(bLeader)).toBe(1);

        // Phase 2: the rest is processed; kill B while the wave is being sent.
        await processedUpTo(s, N);
        // Both dispatchers carry out actions (claims with SKIP LOCKED split the work): kill B once it has.
        const processed = async (url: string) => Number((await fetch(`${url}/metrics`).then((r) => r.text())).match(/rapport_dispatcher_actions_processed_total\{[^}]*\} (\d+)/)?.[1] ?? 0);
        const bUrl = await b.url;
        await until(async () => smtp.messages.length >= N1 + 40 && (await processed(bUrl)) > 0, 'second wave under way on both', 60_000);
        expect(await processed(a.url)).toBeGreaterThan(0);
        b.child.kill('SIGKILL');
        expect(await b.exited).toBe('SIGKILL');
        const atKill = smtp.messages.length;
        await until(async () => byKey().size >= N && (await actions()).every((r) => r.status === 'done' || r.n === 0), 'every action done by the survivor', 90_000);

        const keys = byKey();
        // Nothing skipped: one key per customer, each with a single Message-ID however often it arrived.
        expect(keys.size).toBe(N);
        for (let i = 0; i < N; i++) expect([...keys.keys()].some((k) => k.includes(`:k${i}:`))).toBe(true);
        expect([...keys.values()].every((ids) => new Set(ids).size === 1)).toBe(true);
        // Raw repeats can only be actions B had claimed and was sending when it died (at most one claim batch).
        const repeats = [...keys.values()].filter((ids) => ids.length > 1).length;
        expect(repeats).toBeLessThanOrEqual(10);
        console.log(`dispatcher failover: killed B after ${atKill} of ${N} emails; ${smtp.messages.length} received; ${repeats} repeated Message-ID(s)`);
        expect(a.planning).toBe(true);
      } finally {
        if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
        await a.stop();
        await smtp.close();
        await deleteStream(natsUrl, names.stream);
      }
    });
  });
}
