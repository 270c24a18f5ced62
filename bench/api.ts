/**
 * API latency of the dashboard's pages at scale: generates N customers (default 1,000,000) directly
 * into the SQLite tables (bulk insert of realistic rows: traits, indicator snapshot, classifications
 * in every built-in lens with probabilities and evidence, type history, identities; events for a
 * subset), starts the full server (engine + dashboard) on that data and times the API calls each page
 * makes. Target: p95 <= 300 ms per call.
 *
 *   npm run bench:api                      # 1,000,000 customers
 *   BENCH_CUSTOMERS=100000 npm run bench:api
 *   BENCH_DATA=/path npm run bench:api     # keep / reuse the generated data dir
 *   BENCH_ONLY='customers|lenses'          # only the calls whose page/name match
 *
 * Last line: one JSON object with the figures.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { openSqliteDatabase } from '../src/adapters/sqlite/open-database';
import { TRANSITION_DAILY_BACKFILL_SQL, TYPE_TOTALS_BACKFILL_SQL } from '../src/adapters/sqlite/engine-migrations';
import { encodeEventRow } from '../src/adapters/shared/event-row';
import { INSERT_EVENT_SQL } from '../src/adapters/sqlite/sqlite-event-log';
import { loadConfig } from '../src/app/config';
import { createApp } from '../src/app/create-app';
import { defaultExtensions } from '../src/app/default-extensions';
import { BUILTIN_LENS_DIR, createLensRegistry } from '../src/classify/lens-registry';
import type { StoredEvent } from '../src/domain/event';
import { createRng } from '../src/domain/random';

const N = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const WITH_EVENTS = Math.min(N, 2_000);
const EVENTS_EACH = 25;
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const CEILING_MS = 300;
const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T00:00:00Z');
const FIRST = ['Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Greta', 'Hugo', 'Ida', 'Jonas', 'Lea', 'Max', 'Nina', 'Oskar', 'Paula', 'Emil'];
const LAST = ['Müller', 'Schmidt', 'Smith', 'Brown', 'Fischer', 'Weber', 'Taylor', 'Wagner', 'Becker', 'Walker', 'Hoffmann', 'Davies'];
const COUNTRIES = ['DE', 'AT', 'CH', 'GB', 'US', 'FR'];
const PLANS = ['basic', 'plus', 'gold'];
const STATEMENTS = ['I love this shop, best service ever', 'Only here for the discount, honestly', 'I expect a refund, you owe me', 'Thinking about switching to another brand', 'Ich liebe diese Marke!'];

const dataDir = process.env.BENCH_DATA ?? mkdtempSync(join(tmpdir(), 'rapport-bench-api-'));
const keep = process.env.BENCH_DATA !== undefined;
const dbFile = join(dataDir, 'rapport.db');

function generate(): number {
  const t0 = performance.now();
  const db = openSqliteDatabase(dbFile);
  db.pragma('synchronous = OFF');
  const lenses = createLensRegistry({ builtinDir: BUILTIN_LENS_DIR }).current();
  const rng = createRng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const insCustomer = db.prepare(`INSERT INTO customers (id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json, first_seen, last_seen, event_count, state, indicators, classifications, purchase_days)
    VALUES (?, ?, ?, ?, ?, ?, '{}', '[]', ?, ?, ?, NULL, ?, ?, ?)`);
  const insType = db.prepare('INSERT INTO customer_types (customer_id, lens, type, probability, since) VALUES (?, ?, ?, ?, ?)');
  const insTrait = db.prepare('INSERT INTO customer_traits (customer_id, key, value) VALUES (?, ?, ?)');
  const insIdentity = db.prepare('INSERT INTO identities (kind, value, customer_id) VALUES (?, ?, ?)');
  const insHistory = db.prepare('INSERT INTO type_history (customer_id, lens, from_type, to_type, at, seq, message_id, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insEvent = db.prepare(INSERT_EVENT_SQL);
  const insCustomerEvent = db.prepare('INSERT INTO customer_events (customer_id, seq) VALUES (?, ?)');
  let seq = 0;
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `c${String(i).padStart(7, '0')}`;
      const first = pick(FIRST);
      const last = pick(LAST);
      const firstSeen = NOW - Math.floor(rng.next() * 900) * DAY;
      const lastSeen = Math.min(NOW, firstSeen + Math.floor(rng.next() * 600) * DAY);
      const orders = Math.floor(-Math.log(1 - rng.next()) * 4);
      const revenue = Math.round(orders * (20 + rng.next() * 180) * 100) / 100;
      const traits = { name: `${first} ${last}`, first_name: first, last_name: last, email: `${first}.${last}.${i}@example.com`.toLowerCase(), country: pick(COUNTRIES), plan: pick(PLANS), email_consent: rng.next() < 0.8 };
      const indicators: Record<string, number> = {
        recency_days: Math.round((NOW - lastSeen) / DAY),
        frequency_90d: Math.floor(rng.next() * 5),
        monetary_365d: revenue,
        orders_total: orders,
        revenue_total: revenue,
        avg_order_value: orders ? revenue / orders : 0,
        tenure_days: Math.round((NOW - firstSeen) / DAY),
        days_since_first_order: Math.round((NOW - firstSeen) / DAY),
        support_contacts_90d: Math.floor(rng.next() * 3),
        complaints_90d: rng.next() < 0.05 ? 1 : 0,
        email_open_rate: rng.next(),
        email_click_rate: rng.next() * 0.3,
        sentiment_ewma: rng.next() * 2 - 1,
        p_alive: rng.next(),
        clv_12m: revenue * (0.3 + rng.next()),
        expected_purchases_90d: rng.next() * 3,
        heavy_user: rng.next() < 0.2 ? 1 : 0,
      };
      const classifications: Record<string, unknown> = {};
      for (const l of lenses) {
        const raw = l.typeNames.map(() => rng.next() ** 3);
        const sum = raw.reduce((a, b) => a + b, 0);
        const probs = Object.fromEntries(l.typeNames.map((t, k) => [t, raw[k]! / sum]));
        let best = 0;
        for (let k = 1; k < raw.length; k++) if (raw[k]! > raw[best]!) best = k;
        const type = l.typeNames[best]!;
        const since = firstSeen + Math.floor(rng.next() * (lastSeen - firstSeen + 1));
        const evidence = l.definition.types[best]!.conditions.slice(0, 3).map((c) => ({
          source: 'condition',
          indicator: c.indicator,
          value: indicators[c.indicator] ?? null,
          condition: `${c.op} ${c.threshold}`,
          op: c.op,
          threshold: c.threshold,
          weight: c.weight,
          membership: rng.next(),
          contribution: c.weight * rng.next(),
        }));
        classifications[l.name] = { lens: l.name, type, probability: probs[type], probabilities: probs, evidence, since };
        insType.run(id, l.name, type, probs[type], since);
        // Type history: the first classification, and for some customers one earlier type.
        const earlier = rng.next() < 0.35 ? l.typeNames[Math.floor(rng.next() * l.typeNames.length)]! : null;
        insHistory.run(id, l.name, null, earlier ?? type, firstSeen, i, `m-${i}-0`, 'Order Completed');
        if (earlier && earlier !== type) insHistory.run(id, l.name, earlier, type, since, i, `m-${i}-1`, 'Order Completed');
      }
      insCustomer.run(id, `u${i}`, traits.email, traits.name, '[]', JSON.stringify(traits), firstSeen, lastSeen, orders * 3 + 1, JSON.stringify(indicators), JSON.stringify(classifications), orders > 1 ? '[]' : null);
      insIdentity.run('user', `u${i}`, id);
      insTrait.run(id, 'country', JSON.stringify(traits.country));
      insTrait.run(id, 'plan', JSON.stringify(traits.plan));
      if (i < WITH_EVENTS) {
        const out: unknown[] = [];
        for (let k = 0; k < EVENTS_EACH; k++) {
          const statement = k % 8 === 7;
          const e: StoredEvent = {
            seq: 0,
            messageId: `ev-${i}-${k}`,
            type: 'track',
            userId: `u${i}`,
            anonymousId: null,
            event: statement ? 'Statement Captured' : 'Order Completed',
            name: null,
            groupId: null,
            previousId: null,
            properties: statement ? { text: pick(STATEMENTS), channel: 'chat' } : { order_id: `o${i}-${k}`, revenue: 50 },
            traits: {},
            context: {},
            integrations: {},
            timestamp: firstSeen + k * DAY,
            receivedAt: firstSeen + k * DAY,
            sentAt: null,
            sourceId: 'bench',
          };
          out.length = 0;
          encodeEventRow(e, out);
          seq = Number(insEvent.run(...out).lastInsertRowid);
          insCustomerEvent.run(id, seq);
        }
      }
    }
  });
  const CHUNK = 10_000;
  for (let from = 0; from < N; from += CHUNK) {
    batch(from, Math.min(N, from + CHUNK));
    if ((from / CHUNK) % 10 === 0) process.stderr.write(`\rgenerating customers: ${from + CHUNK}/${N}`);
  }
  // The processor has nothing to do: everything in the log is "processed".
  db.prepare(`INSERT INTO engine_checkpoint (name, seq) VALUES ('processor', ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`).run(seq);
  // Rows were written around the engine store's commit, so its maintained totals are rebuilt once.
  db.exec(TYPE_TOTALS_BACKFILL_SQL);
  db.exec(TRANSITION_DAILY_BACKFILL_SQL);
  db.exec('ANALYZE');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  process.stderr.write('\n');
  return performance.now() - t0;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

async function main() {
  const fresh = !existsSync(dbFile);
  const genMs = fresh ? generate() : 0;
  console.log(fresh ? `generated ${N.toLocaleString('en')} customers in ${(genMs / 1000).toFixed(1)} s (${dataDir})` : `reusing ${dataDir}`);

  const config = loadConfig({ cwd: dataDir, env: {}, overrides: { port: 0, dataDir, logLevel: 'error' } });
  const defaults = defaultExtensions(config);
  const app = await createApp(config, { logger: pino({ level: 'silent' }), extensions: defaults.list });
  const { url } = await app.start();
  const users = app.store.userStore;
  if (!(await users.listUsers()).some((u) => u.email === 'bench@example.com')) await users.addUser('bench@example.com', 'admin', 'bench-password-1', Date.now());
  const login = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password: 'bench-password-1' }) });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const lensYaml = ((await (await fetch(`${url}/api/lenses/lifecycle/yaml`, { headers: { cookie } })).json()) as { yaml: string }).yaml;
  const edited = lensYaml.replace('below: 60', 'below: 90');

  const rng = createRng(7);
  const someId = () => `c${String(Math.floor(rng.next() * WITH_EVENTS)).padStart(7, '0')}`;
  const anyId = () => `c${String(Math.floor(rng.next() * N)).padStart(7, '0')}`;
  const page2 = async (): Promise<string> => {
    const r = (await (await fetch(`${url}/api/customers?limit=50`, { headers: { cookie } })).json()) as { nextCursor: string };
    return r.nextCursor;
  };
  const cursor = await page2();
  const iso = (d: number) => new Date(NOW - d * DAY).toISOString();
  type Call = { page: string; name: string; path: () => string; method?: string; body?: () => unknown; runs?: number };
  const calls: Call[] = [
    { page: 'shell', name: 'GET /api/session', path: () => '/api/session' },
    { page: 'shell', name: 'GET /api/lenses', path: () => '/api/lenses' },
    { page: 'portfolio', name: 'distribution (now)', path: () => '/api/lenses/lifecycle/distribution' },
    { page: 'portfolio', name: 'distribution asOf (over time, x8 per view)', path: () => `/api/lenses/lifecycle/distribution?asOf=${iso(30 + Math.floor(rng.next() * 300))}`, runs: 10 },
    { page: 'portfolio', name: 'transitions (30 days)', path: () => `/api/lenses/lifecycle/transitions?from=${iso(30)}&to=${iso(0)}` },
    { page: 'portfolio', name: 'economics', path: () => '/api/lenses/lifecycle/economics', runs: 10 },
    { page: 'portfolio', name: 'value summary', path: () => '/api/value/summary', runs: 10 },
    { page: 'portfolio', name: 'at-risk list (8)', path: () => '/api/customers?lens=lifecycle&type=at_risk&limit=8' },
    { page: 'customers', name: 'list page 1', path: () => '/api/customers?limit=50' },
    { page: 'customers', name: 'list next page (cursor)', path: () => `/api/customers?limit=50&cursor=${encodeURIComponent(cursor)}` },
    { page: 'customers', name: 'filter by type', path: () => '/api/customers?lens=fournier&type=best_friendship&limit=50' },
    { page: 'customers', name: 'search name prefix', path: () => `/api/customers?query=${encodeURIComponent(FIRST[Math.floor(rng.next() * FIRST.length)]!)}&limit=50` },
    { page: 'customers', name: 'search trait:value', path: () => '/api/customers?query=plan%3Agold&limit=50' },
    { page: 'customers', name: 'filter probability >= 70 %', path: () => '/api/dashboard/customers?lens=lifecycle&minProbability=0.7&limit=50' },
    { page: 'customers', name: 'filter type + CLV >= 500', path: () => '/api/dashboard/customers?lens=lifecycle&type=established&minClv=500&limit=50' },
    { page: 'customers', name: 'filter heavy users, P(alive) < 50 %', path: () => '/api/dashboard/customers?heavyUser=true&maxPAlive=0.5&limit=50' },
    { page: 'customers', name: 'search exact email', path: () => `/api/customers?query=${encodeURIComponent(`anna.smith.${Math.floor(rng.next() * N)}@example.com`)}&limit=50` },
    { page: 'customer 360', name: 'profile', path: () => `/api/customers/${someId()}?events=200` },
    { page: 'customer 360', name: 'relationships', path: () => `/api/customers/${anyId()}/relationships` },
    { page: 'customer 360', name: 'statements', path: () => `/api/customers/${someId()}/statements` },
    { page: 'customer 360', name: 'measures', path: () => `/api/customers/${anyId()}/measures` },
    { page: 'lenses', name: 'lens yaml', path: () => '/api/lenses/lifecycle/yaml' },
    { page: 'lenses', name: 'validate (as you type)', method: 'POST', path: () => '/api/lenses/validate', body: () => ({ yaml: edited }) },
    { page: 'lenses', name: 'preview (20k sample)', method: 'POST', path: () => '/api/lenses/lifecycle/preview', body: () => ({ yaml: edited }), runs: 10 },
    { page: 'settings', name: 'sources', path: () => '/api/sources' },
    { page: 'settings', name: 'users', path: () => '/api/users' },
  ];
  const results: Array<{ page: string; call: string; status: number; runs: number; coldMs: number; p50: number; p95: number; max: number }> = [];
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : null;
  for (const c of calls) {
    if (only && !only.test(`${c.page} ${c.name}`)) continue;
    let cold = 0;
    const times: number[] = [];
    let status = 0;
    const runs = c.runs ?? RUNS;
    for (let i = 0; i < runs + 1; i++) {
      const t = performance.now();
      const res = await fetch(`${url}${c.path()}`, {
        method: c.method ?? 'GET',
        headers: { cookie, 'x-csrf-token': csrfToken, ...(c.body ? { 'content-type': 'application/json' } : {}) },
        ...(c.body ? { body: JSON.stringify(c.body()) } : {}),
      });
      await res.arrayBuffer();
      status = res.status;
      if (i > 0) times.push(performance.now() - t);
      else cold = performance.now() - t; // the first call warms caches: reported apart
    }
    const r = { page: c.page, call: c.name, status, runs, coldMs: cold, p50: quantile(times, 0.5), p95: quantile(times, 0.95), max: Math.max(...times) };
    results.push(r);
    console.log(`${r.page.padEnd(13)} ${r.call.padEnd(44)} ${String(status).padEnd(4)} p50 ${r.p50.toFixed(1).padStart(8)} ms  p95 ${r.p95.toFixed(1).padStart(8)} ms  first ${r.coldMs.toFixed(0).padStart(6)} ms  ${r.p95 <= CEILING_MS ? 'ok' : 'OVER'}`);
  }
  await app.stop();
  if (!keep) rmSync(dataDir, { recursive: true, force: true });
  const over = results.filter((r) => r.p95 > CEILING_MS || r.status >= 400);
  const worst = Math.max(...results.map((r) => r.p95));
  console.log(over.length === 0 ? `all ${results.length} calls within p95 <= ${CEILING_MS} ms` : `${over.length} call(s) over ${CEILING_MS} ms or failing: ${over.map((r) => r.call).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'api',
      customers: N,
      generateSeconds: Math.round(genMs / 100) / 10,
      ceilingMs: CEILING_MS,
      worstP95Ms: Math.round(worst * 10) / 10,
      worstP95OverCeiling: Math.round((worst / CEILING_MS) * 100) / 100,
      callsOver: over.map((r) => r.call),
      calls: results.map((r) => ({ ...r, coldMs: Math.round(r.coldMs), p50: Math.round(r.p50 * 10) / 10, p95: Math.round(r.p95 * 10) / 10, max: Math.round(r.max * 10) / 10, ratioToCeiling: Math.round((r.p95 / CEILING_MS) * 100) / 100 })),
    }),
  );
}

await main();
