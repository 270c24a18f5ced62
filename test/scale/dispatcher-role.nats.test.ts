import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDispatcherRole, type DispatcherRoleOptions } from '../../src/app/roles/dispatcher-role';
import { PG_URL, pgSchemas, type PgTestSchema } from '../helpers/pg-test-schema';
import { HANDED_OVER_NOT_CONFIRMED } from '../../src/automation/automation';
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
    it('two dispatchers send every due action once; one planner; the planner stops at the safe position; after SIGKILL of one the other finishes: every e-mail exactly once, nothing skipped', async () => {
      const N1 = 60;
      const N = 600;
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
      let b2: ReturnType<typeof spawnDispatcher> | null = null;
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
        const atKill = [smtp.messages.length];
        // A second dispatcher takes B's place and is killed in turn once it has sent some: more kills,
        // more chances to land between a mark and its final dot.
        // (On a slow machine A may finish the wave first: then there is no second kill.)
        const doneCount = async () => (await actions()).find((r) => r.status === 'done')?.n ?? 0;
        b2 = spawnDispatcher(opts);
        const b2Url = await b2.url;
        await until(async () => (await processed(b2Url)) > 0 || (await doneCount()) === N, 'the replacement dispatcher under way', 60_000);
        b2.child.kill('SIGKILL');
        expect(await b2.exited).toBe('SIGKILL');
        atKill.push(smtp.messages.length);
        await until(async () => (await doneCount()) === N && (await actions()).every((r) => r.status === 'done' || r.n === 0), 'every action done by the survivor', 90_000);

        const keys = byKey();
        const expected = Array.from({ length: N }, (_, i) => `rescue:mail:k${i}:${i + 1}`);
        // Completed as handed over but not confirmed: B died past their commit point (mark committed);
        // A completed them without sending them again.
        const notConfirmed = new Set(
          (await s.pool.query<{ id: string }>(`SELECT id FROM auto_actions WHERE status = 'done' AND reason LIKE $1`, [`${HANDED_OVER_NOT_CONFIRMED}%`])).rows.map((r) => r.id),
        );
        // Exactly once at the SMTP server: no key twice, nothing unexpected...
        expect([...keys.keys()].filter((k) => !expected.includes(k))).toEqual([]);
        expect([...keys.entries()].filter(([, ids]) => ids.length > 1)).toEqual([]);
        // ...and nothing skipped: a key is missing only if B died in the instant between the durable mark
        // and the final dot, and then it is recorded as handed over, not confirmed.
        const lost = expected.filter((k) => !keys.has(k));
        expect(lost.filter((k) => !notConfirmed.has(k))).toEqual([]);
        expect(smtp.messages.length + lost.length).toBe(N);
        console.log(
          `dispatcher failover: killed B and its replacement after ${atKill.join(' and ')} of ${N} emails; ${smtp.messages.length} received, 0 repeated; ` +
            `${notConfirmed.size} completed by A as handed over/not confirmed, ${lost.length} of them not received`,
        );
        expect(a.planning).toBe(true);
      } finally {
        if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
        if (b2 && b2.child.exitCode === null && b2.child.signalCode === null) b2.child.kill('SIGKILL');
        await a.stop();
        await smtp.close();
        await deleteStream(natsUrl, names.stream);
      }
    });
  });
}
