import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresCustomerQueries } from '../../src/adapters/postgres/postgres-customer-queries';
import { PostgresEngineFeed } from '../../src/adapters/postgres/postgres-engine-feed';
import { PostgresKeyStore } from '../../src/adapters/postgres/postgres-key-store';
import { loadConfig } from '../../src/app/config';
import { createApp } from '../../src/app/create-app';
import { defaultExtensions } from '../../src/app/default-extensions';
import { startDispatcherRole, type DispatcherRoleHandle } from '../../src/app/roles/dispatcher-role';
import { startIngestRole } from '../../src/app/roles/ingest-role';
import { startWorkerRole, type WorkerRoleHandle } from '../../src/app/roles/worker-role';
import { ManualClock } from '../../src/ports/clock';
import { simulate } from '../../src/sim/simulate';
import { startSmtpSink, type ReceivedEmail } from '../automation/helpers';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { tempDir } from '../helpers/sim-log';
import { caughtUp, NATS_URL, testStream, waitFor } from './worker-helpers';

const ROOT = join(import.meta.dirname, '..', '..');
// After the simulated period (2025-01-01 + 200 days) and before the first event-time refit (365 days after the first event).
const T0 = Date.UTC(2025, 7, 1, 12, 0, 0);
const PLAYBOOK = `
id: welcome-established
name: Welcome established customers
trigger: { entered: { lens: lifecycle, type: established } }
holdout: 0
policy: { send_time: { strategy: immediate }, caps: {}, quiet_hours: { start: "00:00", end: "00:00" } }
steps:
  - id: mail
    send: { channel: email, template: plain }
`;
// Refits only where the log says so (the scaled-out rule): the simulation is shorter than the event-time refit period.
const CONFIG = 'value:\n  refitEveryDays: 365\n';

/** A data folder with the playbook, the template and the config. */
function dataDir(dir: string): string {
  mkdirSync(join(dir, 'playbooks'), { recursive: true });
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'playbooks', 'welcome.yaml'), PLAYBOOK);
  copyFileSync(join(ROOT, 'test', 'automation', 'fixtures', 'templates', 'plain.yaml'), join(dir, 'templates', 'plain.yaml'));
  writeFileSync(join(dir, 'rapport.config.yaml'), CONFIG);
  return dir;
}

/** Posts the simulated messages to a tracking API in batches of 500. */
async function send(url: string, writeKey: string, messages: readonly unknown[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 500) {
    const r = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ batch: messages.slice(i, i + 500) }),
    });
    expect(r.status).toBe(200);
  }
}

/** What reached the SMTP server, independent of log positions: recipient and subject, sorted. */
const sent = (messages: readonly ReceivedEmail[]) => messages.map((m) => `${m.to.join(',')} ${m.headers['subject'] ?? ''}`).sort();

/** Every customer's indicators and types, and their type history (times, types, causing event). */
async function outcome(b: { feed: { page(after: string, limit: number): Promise<Array<{ id: string; indicators: Record<string, number>; classifications: Record<string, { type: string; probability: number }> }>> }; queries: { typeHistory(id: string): Promise<Array<{ lens: string; from: string | null; to: string; at: number; event: string | null }>> } }) {
  const out: Record<string, unknown> = {};
  for (let after = ''; ; ) {
    const page = await b.feed.page(after, 200);
    if (page.length === 0) break;
    for (const c of page) {
      const types = Object.fromEntries(Object.entries(c.classifications).map(([lens, cl]) => [lens, [cl.type, cl.probability]]));
      const history = (await b.queries.typeHistory(c.id)).map((h) => [h.lens, h.from, h.to, h.at, h.event]);
      out[c.id] = { indicators: c.indicators, types, history };
    }
    after = page[page.length - 1]!.id;
  }
  return out;
}

if (!PG_URL || !NATS_URL) console.warn('full-topology.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');

describe.skipIf(!PG_URL || !NATS_URL)('1 ingest + 3 workers + 2 dispatchers on PostgreSQL + NATS', () => {
  const fresh = pgSchemas();
  const dirs = [tempDir('rapport-topology-a-'), tempDir('rapport-topology-b-')];
  afterAll(() => dirs.forEach((d) => d.cleanup()));

  it('gives every customer the same indicators, types and history as the embedded mode, and sends the same e-mails', async () => {
    const messages = [...simulate({ start: Date.UTC(2025, 0, 1), customers: 150, days: 200, seed: 29 }).messages()];
    const silent = pino({ level: 'silent' });

    // Embedded: one process, SQLite. Planning decisions read the customer as it is when they are made (consent,
    // e-mail address, types), so both modes plan at the same point: once the events are processed (the
    // dispatchers below start after the workers caught up); then sends, feedback and re-planning until quiet.
    const smtpA = await startSmtpSink();
    const dirA = dataDir(dirs[0]!.dir);
    const envA = { RAPPORT_SMTP_URL: smtpA.url, RAPPORT_SMTP_FROM: 'Rapport <r@rapport.test>', RAPPORT_SIGNING_SECRET: 'topology-secret-0123456789abcdef', RAPPORT_PUBLIC_URL: 'http://127.0.0.1:9' };
    const configA = loadConfig({ cwd: dirA, env: {}, overrides: { port: 0, dataDir: dirA } });
    const ext = defaultExtensions(configA, { dispatch: false, planning: false, env: envA });
    const clockA = new ManualClock(T0);
    const app = await createApp(configA, { clock: clockA, logger: silent, extensions: ext.list });
    const { url } = await app.start();
    let embedded: Record<string, unknown>;
    try {
      const { writeKey } = await app.store.keyStore.createSource('sim', T0);
      await send(url, writeKey, messages);
      // Sending produces feedback events (delivered), which are processed and planned in turn: repeat until quiet.
      let quiet = 0;
      let lastSeq = -1;
      await waitFor('the embedded server to process, plan and send everything', async () => {
        await ext.engineExtension.processor().drain();
        await ext.automationExtension.settle();
        const n = await ext.automationExtension.automation().dispatchDue(clockA.now());
        const seq = await app.store.eventLog.lastSeq();
        quiet = n === 0 && seq === lastSeq ? quiet + 1 : 0;
        lastSeq = seq;
        return quiet >= 3;
      });
      embedded = await outcome({ feed: app.store.engineFeed, queries: app.store.customerQueries });
    } finally {
      await app.stop();
    }
    expect(smtpA.messages.length).toBeGreaterThan(10);

    // Scaled out: the same messages through 1 ingest role, 3 workers, then 2 dispatchers.
    const s = await fresh();
    const ts = await testStream(NATS_URL!, 6);
    const smtpB = await startSmtpSink();
    const dirB = dataDir(dirs[1]!.dir);
    const envB = { ...envA, RAPPORT_SMTP_URL: smtpB.url };
    const configB = loadConfig({ cwd: dirB, env: {}, overrides: { port: 0, dataDir: dirB } });
    const clockB = new ManualClock(T0);
    const common = { databaseUrl: PG_URL!, natsUrl: NATS_URL!, schema: s.schema, stream: ts.options, clock: clockB, logger: silent };
    const ingest = await startIngestRole({ ...common, port: 0, host: '127.0.0.1' });
    const workers: WorkerRoleHandle[] = [];
    const dispatchers: DispatcherRoleHandle[] = [];
    try {
      for (let i = 0; i < 3; i++) workers.push(await startWorkerRole({ ...common, config: configB, workerId: `w${i}`, schedule: false, rebalanceEveryMs: 200, poolSize: 4 }));
      const { writeKey } = await new PostgresKeyStore(s.pool).createSource('sim', T0);
      await send(ingest.url, writeKey, messages);
      await waitFor('the workers to process every event', () => caughtUp(s.pool, messages.length));
      for (let i = 0; i < 2; i++) {
        dispatchers.push(
          await startDispatcherRole({ ...common, port: 0, host: '127.0.0.1', dataDir: dirB, configFile: configB.configFile, env: envB, pollMs: 100, batchSize: 20 }),
        );
      }
      // Done when every action is done and every feedback event is processed, twice in a row.
      let quiet = 0;
      await waitFor('the dispatchers to send everything and the feedback to be processed', async () => {
        const pending = await s.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM auto_actions WHERE status = 'sending' OR (status = 'pending' AND due <= $1)`, [clockB.now()]);
        const events = await s.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
        const done = pending.rows[0]!.n === 0 && smtpB.messages.length >= smtpA.messages.length && (await caughtUp(s.pool, events.rows[0]!.n));
        quiet = done ? quiet + 1 : 0;
        return quiet >= 3;
      });
      const scaled = await outcome({ feed: new PostgresEngineFeed(s.pool), queries: new PostgresCustomerQueries(s.pool) });
      expect(Object.keys(scaled).length).toBe(Object.keys(embedded).length);
      expect(scaled).toEqual(embedded);
      // The same e-mails: a backlog planned by one dispatcher while the other sends never reaches a customer who
      // opted out later in the log (the send checks the engine's state, not only the suppression list).
      expect(sent(smtpB.messages)).toEqual(sent(smtpA.messages));
      // Each e-mail once: no idempotency key twice at the SMTP server.
      const keys = smtpB.messages.map((m) => m.headers['x-rapport-idempotency-key']);
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      for (const d of dispatchers) await d.stop();
      for (const w of workers) await w.stop();
      await ingest.stop();
      await ts.close();
      await smtpA.close();
      await smtpB.close();
      await s.close();
    }
  }, 600_000);
});
