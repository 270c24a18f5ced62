/**
 * PostgreSQL query plans at scale: loads N synthetic customers (default 1,000,000) with identities,
 * types, traits, type history, events and scheduled actions into a scratch schema, then runs the exact
 * SQL the adapters issue for the pages and the API (captured from the adapters themselves) under
 * EXPLAIN (ANALYZE, BUFFERS), and prints for each: the indexes used, whether a sequential scan on a big
 * table appears, and the execution time. Reference measured in the same run: a full count of the
 * customers table (what any unindexed query would at least cost).
 *
 * Run: RAPPORT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:pg-plans [-- --customers 1000000 --keep]
 * The scratch schema `rapport_bench_plans` is dropped at the end unless --keep. Last line: one JSON object.
 */
import pg from 'pg';
import { openPostgresPool, quoteIdent, type PostgresPool } from '../src/adapters/postgres/open-pool';
import { PostgresCustomerQueries } from '../src/adapters/postgres/postgres-customer-queries';
import { PostgresDashboardQueries } from '../src/adapters/postgres/postgres-dashboard-queries';
import { PostgresValueQueries } from '../src/adapters/postgres/postgres-value-queries';
import { PostgresEngineStore } from '../src/adapters/postgres/postgres-engine-store';
import { PostgresEventLog } from '../src/adapters/postgres/postgres-event-log';
import { createPostgresAutomationStore } from '../src/adapters/postgres/postgres-automation-store';

const url = process.env['RAPPORT_TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
const argv = process.argv.slice(2);
const argOf = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(argOf('--customers') ?? 1_000_000);
const KEEP = argv.includes('--keep');
const SCHEMA = 'rapport_bench_plans';
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

interface Captured {
  label: string;
  sql: string;
  params: unknown[];
}

/** A pool stand-in that records each query the adapters send, then runs it. */
function recordingPool(pool: PostgresPool, into: Captured[], label: () => string): PostgresPool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (sql: string, params: unknown[] = []) => {
          into.push({ label: label(), sql, params });
          return target.query(sql, params);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

function walk(n: PlanNode, out: { indexes: Set<string>; seqScans: Set<string> }): void {
  if (n['Index Name']) out.indexes.add(n['Index Name']);
  if (n['Node Type'] === 'Seq Scan' && n['Relation Name']) out.seqScans.add(n['Relation Name']);
  for (const c of n.Plans ?? []) walk(c, out);
}

async function load(pool: PostgresPool): Promise<number> {
  const t = performance.now();
  const step = async (what: string, sql: string): Promise<void> => {
    const s = performance.now();
    await pool.query(sql);
    process.stderr.write(`  loaded ${what} in ${((performance.now() - s) / 1000).toFixed(1)} s\n`);
  };
  const first = ['ada', 'alan', 'grace', 'edsger', 'barbara', 'donald', 'ken', 'dennis', 'margaret', 'john'];
  const firstArr = `ARRAY[${first.map((f) => `'${f}'`).join(',')}]`;
  const types = `ARRAY['new','loyal','at_risk','lapsed','champion']`;
  await step(
    'customers',
    `INSERT INTO customers (id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json, first_seen, last_seen, event_count,
       indicators, classifications, purchase_days)
     SELECT 'c' || lpad(i::text, 9, '0'), 'u' || i, (${firstArr})[1 + i % 10] || '.' || i || '@example.com',
            initcap((${firstArr})[1 + i % 10]) || ' ' || md5(i::text),
            '["a' || i || '"]', '{"plan":"pro"}', '{}', '[]', ${T0} + (i % 365) * ${DAY}::bigint, ${T0} + (i % 365) * ${DAY}::bigint + ${DAY}, 1 + i % 50,
            '{}', '{"lifecycle":{"lens":"lifecycle","type":"' || (${types})[1 + i % 5] || '","probability":0.8,"probabilities":{},"evidence":[],"since":0}}',
            CASE WHEN i % 3 = 0 THEN '[1,20,2,30.5]' END
       FROM generate_series(1, ${N}) AS i`,
  );
  await step(
    'identities',
    `INSERT INTO identities (kind, value, customer_id)
     SELECT k, CASE k WHEN 'user' THEN 'u' ELSE 'a' END || i, 'c' || lpad(i::text, 9, '0')
       FROM generate_series(1, ${N}) AS i, unnest(ARRAY['user','anon']) AS k`,
  );
  await step(
    'customer types',
    `INSERT INTO customer_types (customer_id, lens, type, probability, since)
     SELECT 'c' || lpad(i::text, 9, '0'), 'lifecycle', (${types})[1 + i % 5], 0.8, 0 FROM generate_series(1, ${N}) AS i`,
  );
  await step(
    'customer traits',
    `INSERT INTO customer_traits (customer_id, key, value)
     SELECT 'c' || lpad(i::text, 9, '0'), 'plan', (ARRAY['free','pro','enterprise'])[1 + i % 3] FROM generate_series(1, ${N}) AS i`,
  );
  await step(
    'type history (2 per customer)',
    `INSERT INTO type_history (customer_id, lens, from_type, to_type, at, seq, message_id, event)
     SELECT 'c' || lpad(i::text, 9, '0'), 'lifecycle', CASE WHEN j = 1 THEN NULL ELSE 'new' END,
            CASE WHEN j = 1 THEN 'new' ELSE (${types})[1 + i % 5] END,
            ${T0} + ((i * 7 + j * 90) % 365) * ${DAY}::bigint, i * 2 + j, 'm' || i || '-' || j, 'Order Completed'
       FROM generate_series(1, ${N}) AS i, generate_series(1, 2) AS j`,
  );
  await step(
    'events + customer_events (2 per customer)',
    `WITH e AS (
       INSERT INTO events (message_id, type, user_id, anonymous_id, event, timestamp, received_at, source_id, data)
       SELECT 'm' || i || '-' || j, 'track', 'u' || i, NULL, 'Order Completed', ${T0} + i, ${T0} + i, 'src', '{"properties":{"revenue":10}}'
         FROM generate_series(1, ${N}) AS i, generate_series(1, 2) AS j
       RETURNING seq, user_id)
     INSERT INTO customer_events (customer_id, seq) SELECT 'c' || lpad(substr(user_id, 2), 9, '0'), seq FROM e`,
  );
  await step(
    'scheduled actions (1 per customer, 1% pending)',
    `INSERT INTO auto_actions (id, enrolment_id, playbook_id, step_id, customer_id, due, status, attempts, created_at, updated_at)
     SELECT 'pb:s1:c' || i || ':t', 'pb:c' || i || ':t', 'pb', 's1', 'c' || lpad(i::text, 9, '0'), ${T0} + (i % 1000) * 60000,
            CASE WHEN i % 100 = 0 THEN 'pending' ELSE 'done' END, 0, ${T0}, ${T0}
       FROM generate_series(1, ${N}) AS i`,
  );
  // The engine store keeps these counters on every commit; bulk-loaded rows need them computed once.
  await step(
    'counters',
    `INSERT INTO customer_type_counts (lens, type, n) SELECT lens, type, count(*) FROM customer_types GROUP BY lens, type;
     INSERT INTO engine_counts (name, n) SELECT 'customers', count(*) FROM customers`,
  );
  // Likewise the per-day and per-type aggregates (migrations 11-14 backfill them the same way).
  await step(
    'aggregates (type_daily, transition_daily, customer_contrib, type_totals, latest event time)',
    `INSERT INTO type_daily (lens, day, type, delta)
       SELECT lens, day, type, SUM(d) FROM (
         SELECT lens, (at / 86400000)::integer AS day, to_type AS type, 1 AS d FROM type_history
         UNION ALL SELECT lens, (at / 86400000)::integer, from_type, -1 FROM type_history WHERE from_type IS NOT NULL) z
       GROUP BY lens, day, type;
     INSERT INTO transition_daily (lens, day, from_type, to_type, n)
       SELECT lens, (at / 86400000)::integer, COALESCE(from_type, ''), to_type, COUNT(*) FROM type_history GROUP BY 1, 2, 3, 4;
     INSERT INTO customer_contrib (customer_id, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
       SELECT id, 0, 0, 0, 0, 0 FROM customers;
     INSERT INTO type_totals (lens, type, customers, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
       SELECT lens, type, COUNT(*), 0, 0, 0, 0, 0 FROM customer_types GROUP BY lens, type;
     INSERT INTO engine_counts (name, n) SELECT 'last_seen', MAX(last_seen) FROM customers`,
  );
  // VACUUM sets the visibility map, so index-only scans skip the heap (as they would on a settled table).
  await step('VACUUM ANALYZE', 'VACUUM ANALYZE');
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  if (!url) {
    process.stderr.write('bench:pg-plans needs RAPPORT_TEST_DATABASE_URL (or DATABASE_URL), e.g. postgres://postgres@127.0.0.1:5432/test\n');
    process.exitCode = 2;
    return;
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCHEMA)} CASCADE`);
  await admin.end();
  const pool = await openPostgresPool(url, { schema: SCHEMA, max: 4 });
  try {
    process.stdout.write(`PostgreSQL plans at ${N.toLocaleString('en')} customers (schema ${SCHEMA})\n`);
    const loadS = await load(pool);
    process.stdout.write(`load: ${loadS.toFixed(1)} s\n`);

    const captured: Captured[] = [];
    let label = '';
    const rec = recordingPool(pool, captured, () => label);
    const q = new PostgresCustomerQueries(rec);
    const store = new PostgresEngineStore(rec);
    const log = new PostgresEventLog(rec);
    const mid = 'c' + String(Math.floor(N / 2)).padStart(9, '0');
    const ids500 = Array.from({ length: 500 }, (_, i) => 'c' + String(1 + ((i * 7919) % N)).padStart(9, '0'));
    const run = async (l: string, f: () => Promise<unknown>): Promise<void> => {
      label = l;
      await f();
    };
    await run('list page 1 (no filter)', () => q.searchCustomers({ limit: 50 }));
    await run('list page n (keyset cursor)', () => q.searchCustomers({ limit: 50, cursor: Buffer.from(JSON.stringify([mid])).toString('base64url') }));
    await run('list by type (lens filter)', () => q.searchCustomers({ limit: 50, lens: 'lifecycle', type: 'at_risk' }));
    await run('search email/name prefix', () => q.searchCustomers({ query: 'grace.12', limit: 50 }));
    await run('search name prefix (broad)', () => q.searchCustomers({ query: 'Ada', limit: 50 }));
    label = 'search prefix, deep page';
    {
      // Walk a few pages in, then capture the page after.
      let cursor: string | null = null;
      for (let i = 0; i < 5; i++) cursor = (await new PostgresCustomerQueries(pool).searchCustomers({ query: 'grace', limit: 50, cursor })).nextCursor;
      await run('search prefix, page 6', () => q.searchCustomers({ query: 'grace', limit: 50, cursor }));
    }
    await run('search trait key:value', () => q.searchCustomers({ query: 'plan:enterprise', limit: 50 }));
    await run('find by userId', () => q.findCustomer(`u${Math.floor(N / 3)}`));
    await run('find by email', () => q.findCustomer(`ada.${Math.floor(N / 10) * 10}@example.com`));
    await run('recent events of a customer', () => q.recentEvents(mid, 50));
    await run('type history of a customer', () => q.typeHistory(mid));
    await run('trait history of a customer', () => q.traitHistory(mid, 50));
    await run('distribution now', () => q.distribution('lifecycle'));
    await run('distribution as of a date', () => q.distribution('lifecycle', T0 + 180 * DAY));
    await run('transitions over 30 days', () => q.transitions('lifecycle', T0 + 100 * DAY, T0 + 130 * DAY));
    await run('count customers', () => q.countCustomers());
    await run('latest event time', () => q.latestEventTime());
    const values = new PostgresValueQueries(rec);
    await run('economics per type (type_totals + measures)', () => values.aggregatesByType('lifecycle'));
    const dash = new PostgresDashboardQueries(rec);
    await run('dashboard list: window of 20,000, CLV filter', () => dash.filterCustomers({ minClv: 100, limit: 50, after: mid, window: 20_000 }));
    await run('dashboard list: type window, probability filter', () =>
      dash.filterCustomers({ lens: 'lifecycle', type: 'at_risk', minProbability: 0.5, limit: 50, after: '', window: 20_000 }),
    );
    await run('lens preview: population sample of 20,000', () => dash.samplePopulation(20_000));
    await run('engine: resolve 500 identities', () =>
      store.resolveIdentities(ids500.map((id) => ({ kind: 'user' as const, value: 'u' + Number(id.slice(1)) }))),
    );
    await run('engine: load 500 customers', () => store.loadCustomers(ids500));
    await run('engine: events of a customer', () => store.eventsOf(mid));
    await run('log: read after a position', () => log.read(Math.floor(N), 1000));
    await run('log: last seq', () => log.lastSeq());
    void createPostgresAutomationStore;
    captured.push({
      label: 'automation: claim due (pending scan)',
      sql: `SELECT * FROM auto_actions WHERE status = 'pending' AND due <= $1 ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      params: [T0 + 500 * 60000, 300],
    });
    captured.push({
      label: 'automation: claim due (expired leases)',
      sql: `SELECT * FROM auto_actions WHERE status = 'sending' AND lease_until <= $1 ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      params: [T0, 100],
    });

    // Write side at this size: engine commits and log appends of 500, median of 10.
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const writer = new PostgresEngineStore(pool);
    const commitMs: number[] = [];
    for (let b = 0; b < 10; b++) {
      const customers = (await writer.loadCustomers(ids500.map((id, i) => (i % 2 ? id : `n${b}-${i}`)))).values();
      const batchCustomers = [...customers];
      for (let i = 0; i < 250; i++) {
        batchCustomers.push({
          id: `n${b}-${i}`, userId: `nu${b}-${i}`, anonymousIds: [], email: `new${b}-${i}@example.com`, traits: { name: `New ${i}` },
          traitTimes: {}, groups: [], firstSeen: T0, lastSeen: T0, eventCount: 1, state: new Uint8Array(300), indicators: { recency_days: 1 },
          classifications: { lifecycle: { lens: 'lifecycle', type: 'new', probability: 0.9, probabilities: {}, evidence: [], since: T0 } }, purchaseDays: null,
        });
      }
      const t = performance.now();
      await writer.commit({
        customers: batchCustomers,
        identities: batchCustomers.filter((c) => c.id.startsWith('n')).map((c) => ({ kind: 'user' as const, value: c.userId as string, customerId: c.id })),
        merges: [],
        eventCustomers: batchCustomers.map((c, i) => ({ customerId: c.id, seq: 10_000_000 + b * 1000 + i })),
        typeChanges: batchCustomers.map((c, i) => ({ customerId: c.id, lens: 'lifecycle', from: null, to: 'new', at: T0, seq: 10_000_000 + b * 1000 + i, messageId: `w${b}-${i}`, event: null })),
        traitChanges: batchCustomers.map((c, i) => ({ customerId: c.id, key: 'plan', value: 'pro', at: T0, seq: 10_000_000 + b * 1000 + i })),
        checkpoint: b + 1,
      });
      commitMs.push(performance.now() - t);
    }
    const appendMs: number[] = [];
    const appender = new PostgresEventLog(pool);
    for (let b = 0; b < 10; b++) {
      const events = Array.from({ length: 500 }, (_, i) => ({
        seq: 0, messageId: `bench-${b}-${i}`, type: 'track' as const, userId: `u${i}`, anonymousId: null, event: 'Order Completed', name: null,
        groupId: null, previousId: null, properties: { revenue: 10 }, traits: {}, context: {}, integrations: {}, timestamp: T0, receivedAt: T0, sentAt: null, sourceId: 'src',
      }));
      const t = performance.now();
      await appender.append(events, { now: T0 + b, dedupeWindowMs: DAY });
      appendMs.push(performance.now() - t);
    }
    const commitMedian = median(commitMs);
    const appendMedian = median(appendMs);
    process.stdout.write(`engine commit of 500 customers (250 new, 250 updated, + history): median ${commitMedian.toFixed(1)} ms\n`);
    process.stdout.write(`event log append of 500 events: median ${appendMedian.toFixed(1)} ms (${Math.round(500 / (appendMedian / 1000))} events/s per writer)\n`);

    // Reference: a full scan of customers, measured now.
    const ref = await pool.query<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM customers WHERE classifications LIKE '%zzz%'`,
    );
    const fullScanMs = ref.rows[0]?.['QUERY PLAN'][0]?.['Execution Time'] ?? NaN;
    process.stdout.write(`reference: full scan of customers ${fullScanMs.toFixed(1)} ms\n\n`);

    const results: Array<{ label: string; ms: number; indexes: string[]; seqScans: string[] }> = [];
    const seenLabels = new Set<string>();
    for (const c of captured) {
      const key = `${c.label}|${c.sql}`;
      if (seenLabels.has(key)) continue;
      seenLabels.add(key);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }> }>(
          `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${c.sql}`,
          c.params,
        );
        await client.query('ROLLBACK');
        const plan = r.rows[0]?.['QUERY PLAN'][0];
        if (!plan) continue;
        const acc = { indexes: new Set<string>(), seqScans: new Set<string>() };
        walk(plan.Plan, acc);
        const row = { label: c.label, ms: plan['Execution Time'], indexes: [...acc.indexes], seqScans: [...acc.seqScans] };
        results.push(row);
        process.stdout.write(
          `${row.label.padEnd(42)} ${row.ms.toFixed(2).padStart(9)} ms  idx: ${row.indexes.join(', ') || '-'}${row.seqScans.length ? `  SEQ SCAN: ${row.seqScans.join(', ')}` : ''}\n`,
        );
      } finally {
        client.release();
      }
    }
    const worst = results.filter((r) => !r.label.startsWith('distribution') && !r.label.startsWith('count'));
    const maxIndexedMs = Math.max(...worst.map((r) => r.ms));
    process.stdout.write(`\nslowest page/API query (excluding portfolio aggregates): ${maxIndexedMs.toFixed(2)} ms = ${(maxIndexedMs / fullScanMs).toFixed(4)} x a full scan\n`);
    process.stdout.write(
      JSON.stringify({
        bench: 'pg-plans',
        customers: N,
        loadSeconds: Number(loadS.toFixed(1)),
        fullScanMs: Number(fullScanMs.toFixed(2)),
        commit500Ms: Number(commitMedian.toFixed(1)),
        append500Ms: Number(appendMedian.toFixed(1)),
        maxIndexedMs: Number(maxIndexedMs.toFixed(2)),
        ratioToFullScan: Number((maxIndexedMs / fullScanMs).toFixed(5)),
        queries: results.map((r) => ({ label: r.label, ms: Number(r.ms.toFixed(2)), indexes: r.indexes, seqScans: r.seqScans })),
      }) + '\n',
    );
  } finally {
    await pool.end();
    if (!KEEP) {
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCHEMA)} CASCADE`);
      await a.end();
    }
  }
}

await main();
