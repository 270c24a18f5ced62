/**
 * Automation benchmark: `npm run bench:automation`.
 *
 * 1. Decide + schedule 1,000,000 actions (type_changed signals -> trigger match, conditions,
 *    holdout, re-entry check, enrolment + first action) into the SQLite store (file, WAL, FULL sync).
 *    Reference: raw prepared INSERTs of the same rows in the same transactions (the storage ceiling).
 * 2. Dispatch a sample of 50,000 of those emails through the whole engine (consent, caps, render,
 *    signed links, pooled nodemailer) to two local sinks in a child process, each in the same run:
 *    a minimal accept-and-discard SMTP sink (bench/smtp-sink.ts, like Postfix's smtp-sink) and
 *    `smtp-server`, which parses every message and so competes for the 2 cores.
 *    Reference: raw pooled nodemailer to the same sink with the same connections.
 * 3. Dispatch 20,000 webhooks (signed, idempotency key) to a local node:http receiver in the child.
 *    Reference: raw fetch POSTs with the same concurrency.
 * Prints human-readable lines and, last, one JSON object. Env: BENCH_ACTIONS, BENCH_EMAILS, BENCH_WEBHOOKS,
 * BENCH_SMTP_CONNECTIONS, BENCH_NO_COMMIT_POINT=1 (e-mails without the exactly-once commit point, for comparison).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { openSqliteDatabase } from '../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../src/adapters/sqlite/sqlite-automation-store';
import { composeEmail, createSmtpChannel } from '../src/adapters/smtp/smtp-channel';
import { createWebhookChannel } from '../src/adapters/webhook/webhook-channel';
import { createAutomation } from '../src/automation/automation';
import { staticPlaybookRegistry } from '../src/automation/playbook-registry';
import { createTemplateRenderer } from '../src/automation/templates';
import type { AutomationSignal, CustomerDirectory, CustomerView } from '../src/automation/types';
import type { ChannelAdapter } from '../src/ports/channel';
import { DEFAULT_CONTACT_POLICY, type ContactPolicy } from '../src/domain/contact-policy';
import { playbookSchema } from '../src/domain/playbook';
import { systemClock } from '../src/ports/clock';

// ---- child: SMTP sink + webhook receiver ---------------------------------------------------------
if (process.argv.includes('--sinks')) {
  const { SMTPServer } = await import('smtp-server');
  const { startSmtpSink } = await import('./smtp-sink');
  const sink = await startSmtpSink();
  let mails = 0;
  let hooks = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _s, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        mails++;
        cb();
      });
    },
  });
  const http = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      hooks++;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const smtpPort = (smtp.server.address() as { port: number }).port;
  const httpPort = (http.address() as { port: number }).port;
  process.send?.({ smtpPort, httpPort, sinkPort: sink.port });
  process.on('message', (m: unknown) => {
    if (m === 'count') process.send?.({ mails: mails + sink.count(), hooks });
    if (m === 'exit') process.exit(0);
  });
} else {
  await runBench();
}

async function runBench(): Promise<void> {
  const N = Number(process.env.BENCH_ACTIONS ?? 1_000_000);
  const EMAILS = Number(process.env.BENCH_EMAILS ?? 50_000);
  const HOOKS = Number(process.env.BENCH_WEBHOOKS ?? 20_000);
  const BATCH = 10_000;
  const CONNECTIONS = Number(process.env.BENCH_SMTP_CONNECTIONS ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-auto-'));
  let peakRss = 0;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  const memTimer = setInterval(sample, 250);

  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--sinks'], { execArgv: ['--import', 'tsx'] });
  const ports = await new Promise<{ smtpPort: number; httpPort: number; sinkPort: number }>((r) => child.once('message', (m) => r(m as { smtpPort: number; httpPort: number; sinkPort: number })));
  const counts = (): Promise<{ mails: number; hooks: number }> =>
    new Promise((r) => {
      child.once('message', (m) => r(m as { mails: number; hooks: number }));
      child.send('count');
    });

  const policy: ContactPolicy = { ...DEFAULT_CONTACT_POLICY, caps: { email: { max: 10, per: 30 * 86_400_000 } }, quiet_hours: undefined, send_time: { strategy: 'immediate', fallback_hour: 10 } };
  // A synthetic population: views are built from the id, so a million customers cost no memory.
  const customers: CustomerDirectory = {
    async get(id): Promise<CustomerView> {
      const n = Number(id.slice(1));
      return {
        customerId: id,
        userId: `u${n}`,
        email: `${id}@bench.test`,
        timezone: 'UTC',
        traits: { first_name: `N${n}` },
        indicators: { clv_12m: n % 500, best_send_hour: -1 },
        types: { lifecycle: 'at_risk', canvas: n % 10 === 0 ? 'dedicated_personal_assistance' : 'self_service' },
        policies: { lifecycle: policy, canvas: policy },
      };
    },
    async *iterate() {},
  };
  const emailPb = playbookSchema.parse({
    id: 'bench-email',
    name: 'Bench email',
    trigger: { entered: { lens: 'lifecycle', type: 'at_risk' } },
    conditions: { indicator: 'clv_12m', gte: 0 },
    holdout: 0.1,
    steps: [{ id: 'mail', send: { channel: 'email', template: 'rescue-care' } }],
  });
  const otherPbs = ['new', 'lapsed', 'established'].map((t) =>
    playbookSchema.parse({ id: `other-${t}`, name: t, trigger: { entered: { lens: 'lifecycle', type: t } }, steps: [{ id: 'm', send: { template: 'welcome-1' } }] }),
  );
  const hookPb = playbookSchema.parse({
    id: 'bench-hook',
    name: 'Bench webhook',
    trigger: { entered: { lens: 'lifecycle', type: 'lapsed' } },
    holdout: 0,
    steps: [{ id: 'hook', webhook: { url: `http://127.0.0.1:${ports.httpPort}/hook`, payload: { bench: true } } }],
  });

  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  const store = createSqliteAutomationStore(db);
  const smtpUrl = `smtp://127.0.0.1:${ports.smtpPort}`;
  const sinkUrl = `smtp://127.0.0.1:${ports.sinkPort}`;
  const secret = 'bench-secret-0123456789abcdef';
  // One engine, two transports: the email channel forwards to whichever sink is being measured.
  const smtpChannels = {
    'smtp-server': createSmtpChannel({ url: smtpUrl, from: 'Bench <b@bench.test>', maxConnections: CONNECTIONS }),
    'minimal sink': createSmtpChannel({ url: sinkUrl, from: 'Bench <b@bench.test>', maxConnections: CONNECTIONS }),
  };
  let activeEmail: ChannelAdapter = smtpChannels['minimal sink'];
  const switchableEmail: ChannelAdapter = {
    channel: 'email',
    idempotent: true,
    // BENCH_NO_COMMIT_POINT=1 drops the send options: no hand-over marks (the at-least-once path), for comparison.
    send: (m, o) => activeEmail.send(m, process.env.BENCH_NO_COMMIT_POINT === '1' ? undefined : o),
    close: async () => {
      await smtpChannels['smtp-server'].close?.();
      await smtpChannels['minimal sink'].close?.();
    },
  };
  const automation = createAutomation({
    clock: systemClock,
    store,
    customers,
    channels: { email: switchableEmail, webhook: createWebhookChannel({ secret }) },
    emit: async () => {},
    playbooks: staticPlaybookRegistry([emailPb, ...otherPbs]),
    config: {
      publicUrl: 'https://crm.bench.test',
      signingSecret: secret,
      templateDirs: [join(import.meta.dirname, '..', 'templates')],
      batchSize: 2000,
      limits: { email: { concurrency: 64, ratePerSecond: 0 }, webhook: { concurrency: 32, ratePerSecond: 0 } },
    },
  });

  // ---- 1. decide + schedule ----------------------------------------------------------------------
  const line = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  line(`automation bench: ${N.toLocaleString('en')} signals -> decide + schedule (SQLite file, WAL, synchronous=FULL)`);
  const t0 = performance.now();
  let enrolled = 0;
  const at = Date.now();
  for (let i = 0; i < N; i += BATCH) {
    const signals: AutomationSignal[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) signals.push({ kind: 'type_changed', customerId: `c${j}`, lens: 'lifecycle', from: 'established', to: 'at_risk', at, eventSeq: j + 1 });
    enrolled += await automation.handleMany(signals);
    if ((i / BATCH) % 20 === 0) sample();
  }
  const schedSec = (performance.now() - t0) / 1000;
  const schedRate = N / schedSec;
  const counts0 = await store.countActions();
  line(`  decided ${N.toLocaleString('en')} signals (${enrolled.toLocaleString('en')} enrolments, ${counts0.pending.toLocaleString('en')} actions scheduled, rest holdout) in ${schedSec.toFixed(1)} s = ${Math.round(schedRate).toLocaleString('en')} decisions/s`);

  // Reference: the same rows inserted raw (no decisions), same batch size, same database.
  const refDb = openSqliteDatabase(join(dir, 'ref.db'));
  const insE = refDb.prepare(`INSERT INTO auto_enrolments (id, playbook_id, customer_id, trigger_key, entered_at, holdout, variant, policy_lens, type, status, reached, converted_at, revenue, unsubscribed, goal_event, goal_within) VALUES (?, 'p', ?, ?, 0, 0, NULL, 'lifecycle', 'at_risk', 'active', 0, NULL, 0, 0, 'Order Completed', 1)`);
  const insA = refDb.prepare(`INSERT INTO auto_actions (id, enrolment_id, playbook_id, step_id, customer_id, due, status, attempts, created_at, updated_at) VALUES (?, ?, 'p', 'mail', ?, 0, 'pending', 0, 0, 0)`);
  const REF_N = Math.min(N, 300_000);
  const t1 = performance.now();
  for (let i = 0; i < REF_N; i += BATCH) {
    refDb.transaction(() => {
      for (let j = i; j < Math.min(REF_N, i + BATCH); j++) {
        insE.run(`bench-email:c${j}:${j + 1}`, `c${j}`, String(j + 1));
        insA.run(`bench-email:mail:c${j}:${j + 1}`, `bench-email:c${j}:${j + 1}`, `c${j}`);
      }
    })();
  }
  const refRate = REF_N / ((performance.now() - t1) / 1000);
  refDb.close();
  line(`  reference: raw INSERT of the same rows ${Math.round(refRate).toLocaleString('en')} rows-pairs/s (${REF_N.toLocaleString('en')} pairs) -> engine at ${((schedRate / refRate) * 100).toFixed(0)} % of the storage ceiling`);

  // ---- 2. email dispatch sample ------------------------------------------------------------------
  const sampleMsg = createTemplateRenderer([join(import.meta.dirname, '..', 'templates')]).render(
    'rescue-care',
    'neutral',
    { customer: { id: 'c1', userId: 'u1', firstName: 'N1', traits: {} }, playbook: { id: 'bench-email', name: 'Bench email' }, variant: null, type: 'at_risk', links: { unsubscribe: 'https://crm.bench.test/u/x', preferences: 'https://crm.bench.test/u/x' } },
    (u) => `https://crm.bench.test/t/c/${Buffer.from(u).toString('base64url')}.${'x'.repeat(43)}`,
  )!;
  const REF_MAILS = Math.min(20_000, EMAILS);
  interface MailRun {
    delivered: number;
    rate: number;
    rawRate: number;
    rawPrecomposedRate: number;
  }
  // Engine sample first, then the raw nodemailer reference with the same message and connections.
  const runEmails = async (sinkName: keyof typeof smtpChannels, url: string): Promise<MailRun> => {
    activeEmail = smtpChannels[sinkName];
    line(`email dispatch -> ${sinkName}: a sample of ${EMAILS.toLocaleString('en')} of the scheduled actions through the engine (child process, ${CONNECTIONS} pooled connections)`);
    const c0 = await counts();
    const t2 = performance.now();
    const dispatched = await automation.dispatchDue(Date.now(), EMAILS);
    const c1 = await counts();
    const mailSec = (performance.now() - t2) / 1000;
    const delivered = c1.mails - c0.mails;
    const rate = delivered / mailSec;
    sample();
    line(`  ${dispatched.toLocaleString('en')} actions dispatched, ${delivered.toLocaleString('en')} emails delivered in ${mailSec.toFixed(1)} s = ${Math.round(rate).toLocaleString('en')} emails/s`);
    const raw = nodemailer.createTransport({ url, pool: true, maxConnections: CONNECTIONS, maxMessages: 1000 } as Parameters<typeof nodemailer.createTransport>[0]);
    const t3 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < REF_MAILS) {
          const k = next++;
          await raw.sendMail({
            from: 'Bench <b@bench.test>',
            to: `r${k}@bench.test`,
            subject: sampleMsg.subject,
            text: sampleMsg.text,
            html: sampleMsg.html,
            textEncoding: 'base64',
            headers: { 'List-Unsubscribe': '<https://crm.bench.test/u/x>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
          });
        }
      }),
    );
    const rawRate = REF_MAILS / ((performance.now() - t3) / 1000);
    // Second reference: the same message pre-composed once, sent with nodemailer's `raw` (no MIME
    // building at all): the SMTP-session ceiling that the engine's own composer is measured against.
    const rawMessage = composeEmail(
      { channel: 'email', idempotencyKey: 'ref', actionId: 'ref', customerId: 'c1', userId: 'u1', playbookId: 'bench-email', stepId: 'mail', variant: null, promotional: true, transactional: false, to: 'r@bench.test', subject: sampleMsg.subject, text: sampleMsg.text, html: sampleMsg.html, headers: { 'List-Unsubscribe': '<https://crm.bench.test/u/x>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } },
      '"Bench" <b@bench.test>',
      '<ref@bench.test>',
      new Date(),
    )!;
    const t3b = performance.now();
    next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < REF_MAILS) {
          const k = next++;
          await raw.sendMail({ envelope: { from: 'b@bench.test', to: [`r${k}@bench.test`] }, raw: rawMessage });
        }
      }),
    );
    const rawPrecomposedRate = REF_MAILS / ((performance.now() - t3b) / 1000);
    raw.close();
    line(`  reference: raw pooled nodemailer composing the same message, same sink ${Math.round(rawRate).toLocaleString('en')} emails/s -> engine at ${((rate / rawRate) * 100).toFixed(0)} %`);
    line(`  reference: raw pooled nodemailer sending it pre-composed (SMTP session only) ${Math.round(rawPrecomposedRate).toLocaleString('en')} emails/s -> engine at ${((rate / rawPrecomposedRate) * 100).toFixed(0)} % of the transport ceiling`);
    return { delivered, rate, rawRate, rawPrecomposedRate };
  };
  const minimal = await runEmails('minimal sink', sinkUrl);
  const parsing = await runEmails('smtp-server', smtpUrl);
  const mailRate = minimal.rate;
  await automation.stop();
  db.close();

  // Engine-only: the same email path (consent, caps, render, signed links, store) with a channel that
  // accepts instantly, to separate the engine's cost from the SMTP transport's on this machine.
  const ENGINE_ONLY = Math.min(EMAILS, 20_000);
  const edb = openSqliteDatabase(join(dir, 'engine.db'));
  const estore = createSqliteAutomationStore(edb);
  const nullEmail = { channel: 'email' as const, idempotent: true, send: async () => ({ ok: true as const }) };
  const eng = createAutomation({
    clock: systemClock,
    store: estore,
    customers,
    channels: { email: nullEmail },
    emit: async () => {},
    playbooks: staticPlaybookRegistry([emailPb]),
    config: { publicUrl: 'https://crm.bench.test', signingSecret: secret, templateDirs: [join(import.meta.dirname, '..', 'templates')], batchSize: 2000 },
  });
  await eng.handleMany(Array.from({ length: ENGINE_ONLY }, (_, j) => ({ kind: 'type_changed' as const, customerId: `c${j}`, lens: 'lifecycle', from: 'established', to: 'at_risk', at, eventSeq: j + 1 })));
  const te = performance.now();
  const engDone = await eng.dispatchDue(Date.now());
  const engineRate = engDone / ((performance.now() - te) / 1000);
  line(`  engine only (instant channel): ${engDone.toLocaleString('en')} email actions in ${((performance.now() - te) / 1000).toFixed(1)} s = ${Math.round(engineRate).toLocaleString('en')} /s`);
  await eng.stop();
  edb.close();

  // ---- 3. webhook dispatch -----------------------------------------------------------------------
  const hdb = openSqliteDatabase(join(dir, 'hooks.db'));
  const hstore = createSqliteAutomationStore(hdb);
  const hooks = createAutomation({
    clock: systemClock,
    store: hstore,
    customers,
    channels: { webhook: createWebhookChannel({ secret }) },
    emit: async () => {},
    playbooks: staticPlaybookRegistry([hookPb]),
    config: { publicUrl: 'https://crm.bench.test', signingSecret: secret, templateDirs: [], batchSize: 1000, limits: { webhook: { concurrency: 32, ratePerSecond: 0 } } },
  });
  const sigs: AutomationSignal[] = Array.from({ length: HOOKS }, (_, j) => ({ kind: 'type_changed', customerId: `c${j}`, lens: 'lifecycle', from: 'at_risk', to: 'lapsed', at, eventSeq: j + 1 }));
  await hooks.handleMany(sigs);
  const h0 = await counts();
  const t4 = performance.now();
  await hooks.dispatchDue(Date.now());
  const h1 = await counts();
  const hookSec = (performance.now() - t4) / 1000;
  const hookRate = (h1.hooks - h0.hooks) / hookSec;
  line(`webhook dispatch: ${(h1.hooks - h0.hooks).toLocaleString('en')} signed POSTs to a local receiver in ${hookSec.toFixed(1)} s = ${Math.round(hookRate).toLocaleString('en')} webhooks/s`);
  const REF_HOOKS = Math.min(HOOKS, 10_000);
  const t5 = performance.now();
  let hn = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (hn < REF_HOOKS) {
        hn++;
        const r = await fetch(`http://127.0.0.1:${ports.httpPort}/ref`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ref":true}' });
        await r.arrayBuffer();
      }
    }),
  );
  const rawHookRate = REF_HOOKS / ((performance.now() - t5) / 1000);
  line(`  reference: raw fetch POSTs ${Math.round(rawHookRate).toLocaleString('en')} /s -> engine at ${((hookRate / rawHookRate) * 100).toFixed(0)} % of the HTTP ceiling`);
  await hooks.stop();
  hdb.close();

  clearInterval(memTimer);
  sample();
  child.send('exit');
  rmSync(dir, { recursive: true, force: true });
  line(`memory: peak RSS ${(peakRss / 1048576).toFixed(0)} MB (the SMTP/HTTP sinks run in a child process, not counted)`);
  line(
    `targets: >= 20,000 decisions/s ${schedRate >= 20_000 ? 'MET' : 'NOT MET'}; >= 2,000 emails/s to the minimal sink ${mailRate >= 2_000 ? 'MET' : 'NOT MET'} (${Math.round(parsing.rate).toLocaleString('en')}/s to smtp-server; emails measured on ${EMAILS.toLocaleString('en')}-samples of the ${N.toLocaleString('en')} scheduled)`,
  );
  line(
    JSON.stringify({
      bench: 'automation',
      actions: N,
      enrolments: enrolled,
      scheduled: counts0.pending,
      decide_schedule_per_s: Math.round(schedRate),
      schedule_reference_insert_per_s: Math.round(refRate),
      schedule_ratio_to_reference: Number((schedRate / refRate).toFixed(3)),
      email_sample: EMAILS,
      email_sink: 'minimal accept-and-discard SMTP sink (bench/smtp-sink.ts)',
      emails_delivered: minimal.delivered,
      emails_per_s: Math.round(minimal.rate),
      email_reference_raw_nodemailer_per_s: Math.round(minimal.rawRate),
      email_ratio_to_reference: Number((minimal.rate / minimal.rawRate).toFixed(3)),
      email_reference_raw_precomposed_per_s: Math.round(minimal.rawPrecomposedRate),
      email_ratio_to_precomposed_reference: Number((minimal.rate / minimal.rawPrecomposedRate).toFixed(3)),
      smtp_server_sink: {
        emails_delivered: parsing.delivered,
        emails_per_s: Math.round(parsing.rate),
        reference_raw_nodemailer_per_s: Math.round(parsing.rawRate),
        ratio_to_reference: Number((parsing.rate / parsing.rawRate).toFixed(3)),
        reference_raw_precomposed_per_s: Math.round(parsing.rawPrecomposedRate),
        ratio_to_precomposed_reference: Number((parsing.rate / parsing.rawPrecomposedRate).toFixed(3)),
      },
      email_engine_only_per_s: Math.round(engineRate),
      smtp_connections: CONNECTIONS,
      webhooks: h1.hooks - h0.hooks,
      webhooks_per_s: Math.round(hookRate),
      webhook_reference_raw_fetch_per_s: Math.round(rawHookRate),
      webhook_ratio_to_reference: Number((hookRate / rawHookRate).toFixed(3)),
      peak_rss_mb: Math.round(peakRss / 1048576),
      targets: { decide_schedule_per_s: 20_000, emails_per_s: 2_000 },
      met: { decide_schedule: schedRate >= 20_000, emails: mailRate >= 2_000 },
    }),
  );
}
