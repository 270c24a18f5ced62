/**
 * Pipeline benchmark (issue 3): replays a simulated event log through the real processor (identity
 * resolution, traits, indicators, value models, all four lenses, SQLite commits) and reports
 *  - non-text events/s on a log without statements (target >= 150,000/s),
 *  - statements/s with text analysis on a statement-only log (target >= 20,000/s),
 *  - the ceiling: the same loop with classification off (no lenses, no value models, no text analysis),
 *    and the ratio of the full run against it,
 *  - memory per cached customer (heap + array buffers) at 1,000,000 customers (target <= 2 KB).
 * The p99 latency target is measured by bench/latency.ts (real HTTP server).
 *
 * Run: npm run bench:pipeline   (node --expose-gc --import tsx bench/pipeline.ts)
 * Options (env): BENCH_CUSTOMERS (10000), BENCH_DAYS (365), BENCH_SEED (7), BENCH_BATCH (1000000 events
 * per commit), BENCH_MEMORY_CUSTOMERS (1000000; 0 skips), BENCH_DIR (where the logs are built once and
 * reused; default a folder in the OS temp dir named after the parameters), BENCH_SKIP (comma list of
 * runs to skip: full,ceiling,notext,statements,memory), BENCH_PARTS=1 (also print, per replay, the time spent in
 * each part — log read, indicator updates and reads, statement analysis, lens decisions, explain, value
 * scores and refits, store commit — in µs per event; the wrappers add a little time of their own).
 * The last line is one JSON object with the figures.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEngineStore } from '../src/adapters/sqlite/sqlite-engine-store';
import { openSqliteDatabase } from '../src/adapters/sqlite/open-database';
import { SqliteEventLog } from '../src/adapters/sqlite/sqlite-event-log';
import { buildEngine } from '../src/app/build-engine';
import type { StoredEvent } from '../src/domain/event';
import { VOCABULARY as V } from '../src/domain/vocabulary';
import type { EngineModules } from '../src/engine/engine-modules';
import { Processor } from '../src/engine/processor';
import type { CustomerRecord, EngineCommit, EngineStore } from '../src/ports/engine-store';
import type { AppendOutcome, EventLog } from '../src/ports/event-log';
import { simulate } from '../src/sim/simulate';
import { simulatedEvent } from '../src/sim/simulated-event';

const CUSTOMERS = Number(process.env['BENCH_CUSTOMERS'] ?? 10_000);
const DAYS = Number(process.env['BENCH_DAYS'] ?? 365);
const SEED = Number(process.env['BENCH_SEED'] ?? 7);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1_000_000);
const MEMORY_CUSTOMERS = Number(process.env['BENCH_MEMORY_CUSTOMERS'] ?? 1_000_000);
const DIR = process.env['BENCH_DIR'] ?? join(tmpdir(), `rapport-bench-pipeline-${CUSTOMERS}x${DAYS}-s${SEED}`);
const SKIP = new Set((process.env['BENCH_SKIP'] ?? '').split(',').filter(Boolean));
const PARTS = process.env['BENCH_PARTS'] === '1';
const gc = (globalThis as { gc?: () => void }).gc;


/**
 * Builds (once) two logs from one simulation: every event except statements (`nontext`), and the
 * statements alone (`text`). Reused on later runs (a `ready.json` marker holds the counts).
 */
async function buildLogs(): Promise<{ nontext: number; text: number }> {
  const marker = join(DIR, 'ready.json');
  if (existsSync(marker)) {
    try {
      // Still readable with the current schema (migrations may have changed since it was built)?
      for (const name of ['nontext', 'text']) openSqliteDatabase(join(DIR, name, 'rapport.db')).close();
      return JSON.parse(readFileSync(marker, 'utf8')) as { nontext: number; text: number };
    } catch (err) {
      console.log(`rebuilding the logs: ${(err as Error).message}`);
      rmSync(DIR, { recursive: true, force: true });
    }
  }
  mkdirSync(DIR, { recursive: true });
  const t0 = performance.now();
  const open = (name: string) => {
    const db = openSqliteDatabase(join(DIR, name, 'rapport.db'));
    db.pragma('synchronous = OFF'); // building the fixture only
    return { db, log: new SqliteEventLog(db), buf: [] as StoredEvent[], n: 0 };
  };
  const logs = { nontext: open('nontext'), text: open('text') };
  const flush = async (l: (typeof logs)['text']) => {
    if (l.buf.length === 0) return;
    const out = await l.log.append(l.buf, { now: 0, dedupeWindowMs: 0 });
    l.n += out.filter((o) => 'seq' in o).length;
    l.buf = [];
  };
  const sim = simulate({ customers: CUSTOMERS, days: DAYS, seed: SEED, start: Date.UTC(2025, 0, 1) });
  let seen = 0;
  for (const m of sim.messages()) {
    const e = simulatedEvent(m, 'bench');
    const l = e.event === V.statementCaptured ? logs.text : logs.nontext;
    l.buf.push(e);
    if (l.buf.length >= 5000) await flush(l);
    if (++seen % 200_000 === 0) console.log(`  built ${seen} events...`);
  }
  await flush(logs.nontext);
  await flush(logs.text);
  for (const l of Object.values(logs)) l.db.close();
  const counts = { nontext: logs.nontext.n, text: logs.text.n };
  writeFileSync(marker, JSON.stringify(counts));
  console.log(`built logs in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${counts.nontext} non-text events, ${counts.text} statements (${DIR})`);
  return counts;
}

/** Modules with classification turned off: indicators only (the ceiling of the loop). */
function withoutClassification(m: EngineModules): EngineModules {
  return {
    indicators: m.indicators,
    statements: null,
    lenses: {
      names: () => [],
      decide: () => {
        throw new Error('no lenses in the ceiling run');
      },
      probabilities: () => ({}),
      explain: () => ({ probabilities: {}, evidence: [] }),
    },
  };
}

/** Milliseconds spent per part of the pipeline (BENCH_PARTS=1). */
type PartTimes = Record<string, number>;

/** Wraps `fn` so that its time (including awaited time for promises) is added to `parts[label]`. */
function timed<A extends unknown[], R>(parts: PartTimes, label: string, fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    const t0 = performance.now();
    const out = fn(...args);
    if (out instanceof Promise) {
      return out.finally(() => {
        parts[label] = (parts[label] ?? 0) + performance.now() - t0;
      }) as R;
    }
    parts[label] = (parts[label] ?? 0) + performance.now() - t0;
    return out;
  };
}

/** The same modules with every call timed into `parts`. */
function timedModules(m: EngineModules, parts: PartTimes): EngineModules {
  const i = m.indicators;
  const l = m.lenses;
  const st = m.statements;
  return {
    indicators: {
      create: i.create.bind(i),
      encode: timed(parts, 'encode state', i.encode.bind(i)),
      decode: i.decode.bind(i),
      release: i.release.bind(i),
      apply: timed(parts, 'indicator updates', i.apply.bind(i)),
      applyStatement: timed(parts, 'indicator updates', i.applyStatement.bind(i)),
      read: timed(parts, 'indicator reads', i.read.bind(i)),
      valueSummary: timed(parts, 'value summaries', i.valueSummary.bind(i)),
    },
    statements: st ? { analyse: timed(parts, 'text analysis', st.analyse.bind(st)) } : null,
    lenses: { names: l.names.bind(l), decide: timed(parts, 'lens decisions', l.decide.bind(l)), probabilities: timed(parts, 'probabilities', l.probabilities.bind(l)), explain: l.explain.bind(l) },
  };
}

interface RunResult {
  events: number;
  seconds: number;
  perSecond: number;
  /** Events per second of this process's CPU time (user + system): less distorted by other load on the machine. */
  perCpuSecond: number;
  customers: number;
  /** µs per event per part (BENCH_PARTS=1). */
  parts?: Record<string, number>;
}

/** Replays the log in `name` from scratch with the given modules; start-up is not timed. */
async function replay(name: string, variant: 'full' | 'notext' | 'ceiling'): Promise<RunResult> {
  const engine = buildEngine({ dataDir: join(DIR, 'engine'), statements: variant === 'full' });
  const parts: PartTimes = {};
  const base = variant === 'ceiling' ? withoutClassification(engine.modules) : engine.modules;
  const modules = PARTS ? timedModules(base, parts) : base;
  const value = variant === 'ceiling' ? undefined : engine.value;
  if (PARTS && value) {
    value.refit = timed(parts, 'value refits', value.refit.bind(value));
    value.score = timed(parts, 'value scores', value.score.bind(value));
  }
  const db = openSqliteDatabase(join(DIR, name, 'rapport.db'));
  try {
    const store = new SqliteEngineStore(db);
    await store.reset();
    db.pragma('wal_checkpoint(TRUNCATE)');
    if (variant === 'full' && engine.modules.statements) engine.modules.statements.analyse('warm up the language model', 'en');
    const eventLog = new SqliteEventLog(db);
    if (PARTS) {
      store.commit = timed(parts, 'store commit', store.commit.bind(store));
      eventLog.read = timed(parts, 'log read + decode', eventLog.read.bind(eventLog));
    }
    const processor = new Processor({ eventLog, store, modules, batchSize: BATCH, ...(value ? { value } : {}) });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const events = await processor.drain();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const customers = (db.prepare('SELECT COUNT(*) AS n FROM customers').get() as { n: number }).n;
    const result: RunResult = { events, seconds: round(seconds, 3), perSecond: Math.round(events / seconds), perCpuSecond: Math.round(events / ((cpu.user + cpu.system) / 1e6)), customers };
    if (PARTS) {
      const perEvent: Record<string, number> = {};
      let known = 0;
      for (const [k, ms] of Object.entries(parts).sort(([, a], [, b]) => b - a)) {
        perEvent[k] = round((ms * 1000) / events, 2);
        known += ms;
      }
      perEvent['rest (identity, traits, glue, GC, waiting)'] = round(((seconds * 1000 - known) * 1000) / events, 2);
      result.parts = perEvent;
      console.log(`  ${name}/${variant}, µs per event: ${Object.entries(perEvent).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
    return result;
  } finally {
    db.close();
  }
}

/** An engine store that keeps nothing: the memory run measures the processor's cache alone. */
class DiscardingStore implements EngineStore {
  async checkpoint(): Promise<number> {
    return 0;
  }
  async resolveIdentities(): Promise<Map<string, string>> {
    return new Map();
  }
  async loadCustomers(): Promise<Map<string, CustomerRecord>> {
    return new Map();
  }
  async customerIds(): Promise<string[]> {
    return [];
  }
  async eventsOf(): Promise<StoredEvent[]> {
    return [];
  }
  async commit(_batch: EngineCommit): Promise<void> {}
  async loadValueState(): Promise<{ state: unknown; purchases: Array<[string, readonly [number, number, number, number]]> }> {
    return { state: null, purchases: [] };
  }
  async reset(): Promise<void> {}
}

/** A generated log: per customer an identify (traits, email) and an order a day later. */
class GeneratedLog implements EventLog {
  constructor(private readonly customers: number) {}
  async append(): Promise<AppendOutcome[]> {
    throw new Error('read-only');
  }
  async lastSeq(): Promise<number> {
    return this.customers * 2;
  }
  async pruneDedupe(): Promise<number> {
    return 0;
  }
  async read(after: number, limit: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    const t0 = Date.UTC(2025, 0, 1);
    for (let seq = after + 1; seq <= Math.min(after + limit, this.customers * 2); seq++) {
      const i = (seq - 1) >> 1;
      const order = (seq - 1) % 2 === 1;
      const t = t0 + i * 10_000 + (order ? 86_400_000 : 0);
      out.push({
        seq,
        messageId: `m${seq}`,
        type: order ? 'track' : 'identify',
        userId: `u${i}`,
        anonymousId: null,
        event: order ? V.orderCompleted : null,
        name: null,
        groupId: null,
        previousId: null,
        properties: order ? { order_id: `o${i}`, revenue: 20 + (i % 80), products: [{ category: `c${i % 12}` }] } : {},
        traits: order ? {} : { email: `user${i}@example.com`, name: `User ${i}`, plan: i % 3 === 0 ? 'gold' : 'basic' },
        context: { timezone: 'Europe/Berlin' },
        integrations: {},
        timestamp: t,
        receivedAt: t,
        sentAt: null,
        sourceId: 'bench',
      });
    }
    return out;
  }
}

/** Heap + array buffers per cached customer with every customer in the processor's cache. */
async function memoryPerCustomer(customers: number): Promise<{ customers: number; bytesPerCustomer: number; seconds: number }> {
  if (!gc) throw new Error('run with node --expose-gc');
  const engine = buildEngine({ dataDir: join(DIR, 'engine'), statements: false });
  const used = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const processor = new Processor({
    eventLog: new GeneratedLog(customers),
    store: new DiscardingStore(),
    modules: engine.modules,
    batchSize: 20_000,
    cacheSize: customers + 1,
    ...(engine.value ? { value: engine.value } : {}),
  });
  const t0 = performance.now();
  await processor.drain();
  const seconds = (performance.now() - t0) / 1000;
  const after = used();
  const bytesPerCustomer = Math.round((after - before) / customers);
  // Keep the processor (and its cache) alive until measured.
  if ((await processor.checkpoint()) !== customers * 2) throw new Error('memory run did not finish');
  return { customers, bytesPerCustomer, seconds: round(seconds, 1) };
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

async function main(): Promise<void> {
  let load = 'unknown';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // not Linux
  }
  console.log(`pipeline benchmark: ${CUSTOMERS} customers x ${DAYS} days (seed ${SEED}), ${BATCH} events per commit; load average ${load}`);
  const counts = await buildLogs();
  console.log(`logs: ${counts.nontext} non-text events, ${counts.text} statements`);
  const figures: Record<string, unknown> = { loadAverage: load, customers: CUSTOMERS, days: DAYS, seed: SEED, batch: BATCH, nontextEvents: counts.nontext, statements: counts.text };
  let full: RunResult | undefined;
  let ceiling: RunResult | undefined;
  if (!SKIP.has('full')) {
    full = await replay('nontext', 'full');
    console.log(`full pipeline, non-text events: ${full.perSecond} events/s, ${full.perCpuSecond} per CPU-second (${full.events} events, ${full.customers} customers, ${full.seconds} s; target >= 150000)`);
    figures['nontextPerSecond'] = full.perSecond;
    figures['nontextPerCpuSecond'] = full.perCpuSecond;
    figures['nontextSeconds'] = full.seconds;
    if (full.parts) figures['nontextParts'] = full.parts;
  }
  if (!SKIP.has('ceiling')) {
    ceiling = await replay('nontext', 'ceiling');
    console.log(`ceiling (classification off: no lenses, no value models, no text): ${ceiling.perSecond} events/s, ${ceiling.perCpuSecond} per CPU-second (${ceiling.seconds} s)`);
    figures['ceilingPerSecond'] = ceiling.perSecond;
    figures['ceilingPerCpuSecond'] = ceiling.perCpuSecond;
  }
  if (full && ceiling) {
    figures['ratioToCeiling'] = round(full.perSecond / ceiling.perSecond, 3);
    console.log(`ratio full / ceiling: ${figures['ratioToCeiling']}`);
  }
  if (!SKIP.has('statements')) {
    const s = await replay('text', 'full');
    console.log(`full pipeline, statements with text analysis: ${s.perSecond} statements/s, ${s.perCpuSecond} per CPU-second (${s.events} statements, ${s.seconds} s; target >= 20000)`);
    figures['statementsPerSecond'] = s.perSecond;
    figures['statementsPerCpuSecond'] = s.perCpuSecond;
    if (s.parts) figures['statementsParts'] = s.parts;
  }
  if (!SKIP.has('notext')) {
    const s = await replay('text', 'notext');
    console.log(`statements without text analysis (reference): ${s.perSecond} statements/s`);
    figures['statementsNoTextPerSecond'] = s.perSecond;
    if (typeof figures['statementsPerSecond'] === 'number') figures['statementsRatioToNoText'] = round((figures['statementsPerSecond'] as number) / s.perSecond, 3);
  }
  if (!SKIP.has('memory') && MEMORY_CUSTOMERS > 0) {
    const m = await memoryPerCustomer(MEMORY_CUSTOMERS);
    console.log(`memory: ${m.bytesPerCustomer} bytes per cached customer at ${m.customers} customers (heap + array buffers; target <= 2048; ${m.seconds} s)`);
    figures['memoryCustomers'] = m.customers;
    figures['bytesPerCustomer'] = m.bytesPerCustomer;
  }
  console.log(JSON.stringify(figures));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

