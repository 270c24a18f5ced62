/**
 * Scaled-out throughput and latency (issue 7): 1, 2 and 3 worker processes on PostgreSQL + NATS
 * JetStream, and the embedded processor (SQLite) on the same events in the same run for the ratio.
 *
 * Per worker count, in a scratch schema (`rapport_bench_scale`, dropped after) and a scratch stream:
 *  1. route every event once (the ingest role's router; timed apart, it is the ingest's cost);
 *  2. publish the first 70 % of the events into the stream as fast as one publishing process goes
 *     (the publisher's rate), before any worker runs;
 *  3. start N workers (`test/scale/fixtures/worker-main.ts`, one process each); from the moment they
 *     hold every partition, time until that backlog is appended to PostgreSQL and processed in every
 *     partition (the workers' throughput), with CPU seconds per process (where the time goes);
 *  4. latency: publish the next 15 % at half that throughput (or what the publisher sustains) for
 *     BENCH_STEADY_S seconds, receivedAt = publish time; p50/p99 of receipt → classification commit
 *     from the workers' histogram (difference over the phase, interpolated inside buckets);
 *  5. burst: publish the last 15 % at twice the steady rate, then time until the lag is zero again.
 * Embedded: the same first 70 % appended to a SQLite log, then the processor drains it (processor only).
 *
 * Run: npm run bench:scale   (needs RAPPORT_TEST_DATABASE_URL or DATABASE_URL, and RAPPORT_TEST_NATS_URL or NATS_URL)
 * Env: BENCH_CUSTOMERS (800), BENCH_DAYS (365), BENCH_PARTITIONS (16), BENCH_WORKERS (1,2,3), BENCH_STEADY_S (10),
 * BENCH_STEADY_SHARE (0.5: the steady rate as a share of the workers' backlog throughput), BENCH_WORKER_NODE_ARGS
 * (node arguments of the workers; default "--max-semi-space-size=32", as docs/deploy.md recommends).
 * Prints human lines; the last line is one JSON object with the figures.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { connectNats, ensureEventStream } from '../src/adapters/nats/event-stream';
import { PartitionStream } from '../src/adapters/nats/partition-stream';
import { openPostgresPool, quoteIdent, type PostgresPool } from '../src/adapters/postgres/open-pool';
import { PostgresPartitionProgress } from '../src/adapters/postgres/postgres-partition-progress';
import { PostgresPartitionRouter } from '../src/adapters/postgres/postgres-partition-router';
import { openSqliteDatabase } from '../src/adapters/sqlite/open-database';
import { SqliteEngineStore } from '../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../src/adapters/sqlite/sqlite-event-log';
import { buildEngine } from '../src/app/build-engine';
import type { StoredEvent } from '../src/domain/event';
import { Processor } from '../src/engine/processor';
import { simulate } from '../src/sim/simulate';
import { simulatedEvent } from '../src/sim/simulated-event';
import { spawnWorker, type WorkerProcess } from '../test/scale/worker-helpers';

const PG_URL = process.env['RAPPORT_TEST_DATABASE_URL'] || process.env['DATABASE_URL'];
const NATS_URL = process.env['RAPPORT_TEST_NATS_URL'] || process.env['NATS_URL'];
const CUSTOMERS = Number(process.env['BENCH_CUSTOMERS'] ?? 800);
const DAYS = Number(process.env['BENCH_DAYS'] ?? 365);
const PARTITIONS = Number(process.env['BENCH_PARTITIONS'] ?? 16);
const WORKERS = (process.env['BENCH_WORKERS'] ?? '1,2,3').split(',').map(Number);
const STEADY_S = Number(process.env['BENCH_STEADY_S'] ?? 10);
/** Steady rate as a share of the workers' backlog throughput. */
const STEADY_SHARE = Number(process.env['BENCH_STEADY_SHARE'] ?? 0.5);
/**
 * Node arguments of the worker processes: by default the young-generation size docs/deploy.md recommends
 * for workers (fewer, cheaper scavenges: ~14 % less worker CPU per event here); add e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them, or set it empty to compare with Node's default.
 */
const WORKER_NODE_ARGS = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '--max-semi-space-size=32').split(' ').filter(Boolean);
const SCHEMA = 'rapport_bench_scale';
const STREAM = 'RAPPORT_BENCH_SCALE';
const PREFIX = 'rapport_bench_scale';
const VALUE_OPTIONS = { refitEveryDays: 1_000_000 };

const t00 = performance.now();
const log = (msg: string) => process.stdout.write(`[${((performance.now() - t00) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function dropSchema(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCHEMA)} CASCADE`);
  } finally {
    await c.end();
  }
}

function spawnBenchWorker(id: string, dataDir: string): Promise<WorkerProcess> {
  return spawnWorker(
    {
      databaseUrl: PG_URL,
      natsUrl: NATS_URL,
      schema: SCHEMA,
      stream: { stream: STREAM, subjectPrefix: PREFIX, partitions: PARTITIONS },
      workerId: id,
      dataDir,
      valueOptions: VALUE_OPTIONS,
      rebalanceEveryMs: 500,
      poolSize: 8,
    },
    WORKER_NODE_ARGS,
  );
}

/**
 * CPU seconds used so far by every process, grouped by command name (Linux /proc; clock ticks of 10 ms).
 * The machine is shared: `postgres` and `node` include other users' processes.
 */
function cpuByCommand(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const key = comm.startsWith('postgres') ? 'postgres' : comm;
      out.set(key, (out.get(key) ?? 0) + ticks / 100);
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

/** CPU seconds per command between two samples, largest first (those above 0.1 s). */
function cpuDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Array<[string, number]> = [];
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0.1) out.push([k, Math.round(d * 10) / 10]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

/**
 * Samples what PostgreSQL's active sessions in the bench schema are doing, every 100 ms until stopped:
 * counts per (wait event or "CPU", statement start). Where the database time goes.
 */
function samplePostgres(pool: PostgresPool): { stop(): Promise<Record<string, number>> } {
  const counts = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await pool.query<{ w: string | null; q: string }>(
        `SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU') AS w, regexp_replace(left(query, 40), '\\s+', ' ', 'g') AS q
           FROM pg_stat_activity
          WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = current_database()`,
      );
      for (const row of r.rows) {
        const k = `${row.w} | ${row.q}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 8));
    },
  };
}

/** Bytes (tables with indexes) per event and per customer, for sizing. */
async function storageSizes(pool: PostgresPool): Promise<{ bytesPerEvent: number; bytesPerCustomer: number; customers: number }> {
  const r = await pool.query<{ ev: number; cu: number; events: number; customers: number }>(
    `SELECT (pg_total_relation_size('events') + pg_total_relation_size('event_dedupe') + pg_total_relation_size('customer_events')
             + pg_total_relation_size('type_history') + pg_total_relation_size('trait_history'))::float8 AS ev,
            (pg_total_relation_size('customers') + pg_total_relation_size('identities') + pg_total_relation_size('customer_types')
             + pg_total_relation_size('customer_traits') + pg_total_relation_size('identity_routes'))::float8 AS cu,
            (SELECT count(*) FROM events)::float8 AS events, (SELECT count(*) FROM customers)::float8 AS customers`,
  );
  const row = r.rows[0]!;
  return { bytesPerEvent: Math.round(row.ev / Math.max(1, row.events)), bytesPerCustomer: Math.round(row.cu / Math.max(1, row.customers)), customers: row.customers };
}

/** Cumulative latency histogram (le → count) and CPU seconds, summed over the workers. */
async function scrape(workers: readonly WorkerProcess[]): Promise<{ buckets: Map<number, number>; cpu: number }> {
  const buckets = new Map<number, number>();
  let cpu = 0;
  for (const w of workers) {
    const text = await (await fetch(`${w.url}/metrics`)).text();
    for (const m of text.matchAll(/^rapport_worker_processing_latency_seconds_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\} (\S+)$/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
    const c = /^rapport_process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
    if (c) cpu += Number(c[1]);
  }
  return { buckets, cpu };
}

/** Quantile q of the histogram difference after − before (linear inside a bucket). */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return NaN;
  const want = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (let i = 0; i < les.length; i++) {
    const c = counts[i]!;
    if (c >= want) {
      const le = les[i]!;
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((want - prevCount) / Math.max(1, c - prevCount)) * (le - prevLe);
    }
    prevLe = les[i]!;
    prevCount = c;
  }
  return prevLe;
}

async function caughtUp(pool: PostgresPool, events: number, progress: PostgresPartitionProgress): Promise<boolean> {
  // max(seq) walks the index backwards (count(*) would scan); seqs have no gaps here (no append fails).
  const r = await pool.query<{ last: number | null }>('SELECT max(seq) AS last FROM events');
  const last = r.rows[0]!.last ?? 0;
  if (last < events) return false;
  return (await progress.safeProcessedSeq()) === last;
}

async function waitCaughtUp(pool: PostgresPool, events: number, progress: PostgresPartitionProgress): Promise<number> {
  for (;;) {
    if (await caughtUp(pool, events, progress)) return performance.now();
    await sleep(100);
  }
}

/** Publishes events (receivedAt = now) in chunks; at most `rate` events/s when given. */
async function publish(stream: PartitionStream, events: readonly StoredEvent[], parts: readonly number[], rate?: number): Promise<number> {
  const t0 = performance.now();
  const chunk = rate ? Math.max(1, Math.round(rate / 20)) : 1000;
  // Two chunks in flight: the acks of one arrive while the next is sent (as several ingest requests overlap).
  let previous: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < events.length; i += chunk) {
    const now = Date.now();
    const sent = Promise.all(events.slice(i, i + chunk).map((e, j) => stream.publish(parts[i + j]!, { ...e, receivedAt: now })));
    await previous;
    previous = sent;
    if (rate) {
      const due = t0 + ((i + chunk) / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  }
  await previous;
  return (performance.now() - t0) / 1000;
}

async function runScaled(n: number, events: readonly StoredEvent[], dataDir: string) {
  await dropSchema();
  const pool = await openPostgresPool(PG_URL!, { schema: SCHEMA, max: 4 });
  const nc = await connectNats(NATS_URL!, { name: 'rapport-bench-scale' });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM).catch(() => {});
  await ensureEventStream(jsm, { stream: STREAM, subjectPrefix: PREFIX, partitions: PARTITIONS });
  const stream = new PartitionStream(nc, { stream: STREAM, subjectPrefix: PREFIX, partitions: PARTITIONS });
  const progress = new PostgresPartitionProgress(pool);
  const workers: WorkerProcess[] = [];
  try {
    const tr = performance.now();
    const router = new PostgresPartitionRouter({ pool, partitions: PARTITIONS });
    const parts: number[] = [];
    for (let i = 0; i < events.length; i += 1000) parts.push(...(await router.route(events.slice(i, i + 1000))));
    const routeRate = events.length / ((performance.now() - tr) / 1000);
    const a = Math.floor(events.length * 0.7);
    const b = Math.floor(events.length * 0.85);
    // 3a. the publisher alone: the first 70 % into the stream before any worker runs (a backlog).
    const publishS = await publish(stream, events.slice(0, a), parts.slice(0, a));
    log(`${n} worker(s): published ${a.toLocaleString('en')} events in ${publishS.toFixed(1)} s = ${round(a / publishS).toLocaleString('en')} events/s (one publishing process, 2 × 1,000 in flight)`);
    // 3b. the workers on that backlog: from the moment they hold every partition until all is processed.
    const c0 = cpuByCommand();
    for (let i = 0; i < n; i++) workers.push(await spawnBenchWorker(`bench-w${i}`, dataDir));
    for (;;) {
      const held = await pool.query<{ n: number; live: number }>(`SELECT COALESCE(sum(partitions), 0)::int AS n, count(*)::int AS live FROM worker_heartbeats`);
      if (held.rows[0]!.n === PARTITIONS && held.rows[0]!.live === n) break;
      await sleep(50);
    }
    const s0 = await scrape(workers);
    const c1 = cpuByCommand();
    const sampler = samplePostgres(pool);
    const t0 = performance.now();
    const tDone = await waitCaughtUp(pool, a, progress);
    const pgSamples = await sampler.stop();
    const seconds = (tDone - t0) / 1000;
    const throughput = a / seconds;
    const s1 = await scrape(workers);
    const cpu = cpuDelta(c1, cpuByCommand());
    const startCpu = cpuDelta(c0, c1);
    log(`${n} worker(s): start-up (spawn, engine build, leases) used ${JSON.stringify(startCpu)} CPU s`);
    log(`${n} worker(s): backlog of ${a.toLocaleString('en')} events appended and processed in ${seconds.toFixed(1)} s = ${round(throughput).toLocaleString('en')} events/s; worker CPU ${(s1.cpu - s0.cpu).toFixed(1)} s = ${(((s1.cpu - s0.cpu) / a) * 1e6).toFixed(0)} µs/event`);
    log(`${n} worker(s): CPU seconds in that phase by process (machine-wide, ${seconds.toFixed(1)} s × 2 vCPU available): ${JSON.stringify(cpu)}`);
    log(`${n} worker(s): active PostgreSQL sessions sampled every 100 ms (wait | statement: samples): ${JSON.stringify(pgSamples)}`);
    const endToEnd = Math.min(throughput, a / publishS);
    const sizes = await storageSizes(pool);
    log(`${n} worker(s): storage ${JSON.stringify(sizes)} (bytes with indexes, per event and per customer)`);
    // 4. steady load at half the workers' throughput (or what the publisher sustains): latency.
    const rate = Math.max(50, Math.min(throughput * STEADY_SHARE, (a / publishS) * 0.8));
    const steady = events.slice(a, b).slice(0, Math.round(rate * STEADY_S));
    const steadySampler = samplePostgres(pool);
    const steadyS = await publish(stream, steady, parts.slice(a, a + steady.length), rate);
    await waitCaughtUp(pool, a + steady.length, progress);
    const steadySamples = await steadySampler.stop();
    const s2 = await scrape(workers);
    const p50 = quantile(s1.buckets, s2.buckets, 0.5);
    const p99 = quantile(s1.buckets, s2.buckets, 0.99);
    log(`${n} worker(s): steady ${round(steady.length / steadyS).toLocaleString('en')} events/s for ${steadyS.toFixed(0)} s: latency receipt → classified p50 ${(p50 * 1000).toFixed(0)} ms, p99 ${(p99 * 1000).toFixed(0)} ms`);
    log(`${n} worker(s): active PostgreSQL sessions during the steady phase: ${JSON.stringify(steadySamples)}`);
    // 5. a burst at twice the steady rate, then time until the lag is back to zero.
    const burst = events.slice(b);
    const burstS = await publish(stream, burst, parts.slice(b), rate * 2);
    const tb = performance.now();
    const tZero = await waitCaughtUp(pool, a + steady.length + burst.length, progress);
    const recovery = (tZero - tb) / 1000;
    log(`${n} worker(s): burst of ${burst.length.toLocaleString('en')} events at ${round(burst.length / burstS).toLocaleString('en')}/s (2x steady); lag back to zero ${recovery.toFixed(1)} s after the burst`);
    return {
      workers: n,
      events: a,
      backlogSeconds: round(seconds, 2),
      workerThroughput: round(throughput),
      publishPerSecond: round(a / publishS),
      endToEndPerSecond: round(endToEnd),
      routePerSecond: round(routeRate),
      workerCpuMicrosPerEvent: round(((s1.cpu - s0.cpu) / a) * 1e6),
      cpuSeconds: cpu,
      postgresSamples: pgSamples,
      storage: sizes,
      steadyRate: round(steady.length / steadyS),
      p50Ms: round(p50 * 1000),
      p99Ms: round(p99 * 1000),
      burstEvents: burst.length,
      burstRate: round(burst.length / burstS),
      lagZeroAfterBurstS: round(recovery, 2),
    };
  } finally {
    for (const w of workers) {
      w.child.kill('SIGTERM');
      await w.exited;
    }
    await jsm.streams.delete(STREAM).catch(() => {});
    await nc.close();
    await pool.end();
    await dropSchema();
  }
}

async function runEmbedded(events: readonly StoredEvent[], dataDir: string) {
  const db = openSqliteDatabase(join(dataDir, 'embedded.db'));
  try {
    const engine = buildEngine({ dataDir, valueOptions: VALUE_OPTIONS });
    const eventLog = new SqliteEventLog(db);
    const ta = performance.now();
    for (let i = 0; i < events.length; i += 500) await eventLog.append(events.slice(i, i + 500), { now: Date.now(), dedupeWindowMs: 86_400_000 });
    const appendS = (performance.now() - ta) / 1000;
    const p = new Processor({ eventLog, store: new SqliteEngineStore(db), modules: engine.modules, ...(engine.value ? { value: engine.value } : {}) });
    const t0 = performance.now();
    await p.drain();
    const s = (performance.now() - t0) / 1000;
    log(`embedded (SQLite): append ${round(events.length / appendS).toLocaleString('en')} events/s (500 per commit); processor ${round(events.length / s).toLocaleString('en')} events/s (${s.toFixed(1)} s)`);
    return { events: events.length, appendPerSecond: round(events.length / appendS), processorPerSecond: round(events.length / s), endToEndPerSecond: round(events.length / (appendS + s)) };
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  if (!PG_URL || !NATS_URL) {
    process.stderr.write('bench:scale needs PostgreSQL and NATS: set RAPPORT_TEST_DATABASE_URL (or DATABASE_URL) and RAPPORT_TEST_NATS_URL (or NATS_URL)\n');
    process.exit(2);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'rapport-bench-scale-'));
  try {
    log(`machine load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (shared machine)`);
    log(`worker processes: node ${[...WORKER_NODE_ARGS, '--import', 'tsx'].join(' ')} (BENCH_WORKER_NODE_ARGS)`);
    const events = [...simulate({ start: Date.UTC(2025, 0, 1), customers: CUSTOMERS, days: DAYS, seed: 7 }).messages()].map((m) => simulatedEvent(m, 'bench'));
    log(`${events.length.toLocaleString('en')} simulated events (${CUSTOMERS} customers, ${DAYS} days), ${PARTITIONS} partitions`);
    const embedded = await runEmbedded(events.slice(0, Math.floor(events.length * 0.7)), dataDir);
    const scaled = [];
    for (const n of WORKERS) scaled.push(await runScaled(n, events, dataDir));
    const best = Math.max(...scaled.map((r) => r.workerThroughput));
    log(`best workers' throughput ${best.toLocaleString('en')} events/s = ${(best / embedded.processorPerSecond).toFixed(2)}x the embedded processor; target 20,000 events/s end to end`);
    process.stdout.write(`${JSON.stringify({ bench: 'scale', customers: CUSTOMERS, days: DAYS, partitions: PARTITIONS, events: events.length, loadavg: loadavg().map((x) => round(x, 2)), embedded, scaled })}\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
