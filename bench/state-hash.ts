/**
 * Golden hash of the engine's derived state: the guard for optimisations of the processor and the
 * SQLite engine store, which must not change any stored result.
 *
 * Builds a fixed simulated log once (default 300 customers x 120 days, seed 11: identifies, aliases that
 * merge customers, orders, statements ...; plus two clock ticks and a value refit at fixed positions),
 * then replays it from scratch through the real processor into a fresh SQLite database for several
 * (batch size, cache size) settings, and prints one SHA-256 per derived table and one over all of them,
 * per setting. Every table of src/adapters/sqlite/engine-migrations.ts is hashed, rows ordered by primary
 * key (no column there holds wall-clock time: `at`/`since` are event times).
 *
 * Run: node --import tsx bench/state-hash.ts        (compare the output before and after a change)
 * Options (env): STATE_HASH_CUSTOMERS (300), STATE_HASH_DAYS (120), STATE_HASH_SEED (11),
 * STATE_HASH_RUNS ("1000:100000,137:100000,50:15" — batchSize:cacheSize pairs), STATE_HASH_TABLES=1
 * (also print each table's hash), STATE_HASH_STATEMENTS=0 (leave statements out of the log: isolates
 * changes of the text analyser from the rest).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../src/adapters/sqlite/open-database';
import { SqliteEngineStore } from '../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../src/adapters/sqlite/sqlite-event-log';
import { buildEngine } from '../src/app/build-engine';
import type { StoredEvent } from '../src/domain/event';
import { VOCABULARY as V } from '../src/domain/vocabulary';
import { controlEvent } from '../src/engine/control-event';
import { CLOCK_TICK_EVENT, Processor, VALUE_REFIT_EVENT } from '../src/engine/processor';
import { simulate } from '../src/sim/simulate';
import { simulatedEvent } from '../src/sim/simulated-event';

const CUSTOMERS = Number(process.env['STATE_HASH_CUSTOMERS'] ?? 300);
const DAYS = Number(process.env['STATE_HASH_DAYS'] ?? 120);
const SEED = Number(process.env['STATE_HASH_SEED'] ?? 11);
const RUNS = (process.env['STATE_HASH_RUNS'] ?? '1000:100000,137:100000,50:15').split(',').map((s) => {
  const [batch, cache] = s.split(':').map(Number);
  return { batchSize: batch ?? 1000, cacheSize: cache ?? 100_000 };
});
const PER_TABLE = process.env['STATE_HASH_TABLES'] === '1';
const STATEMENTS = process.env['STATE_HASH_STATEMENTS'] !== '0';

/** Every derived table with its primary key order (engine-migrations.ts). */
const TABLES: ReadonlyArray<[table: string, orderBy: string]> = [
  ['customers', 'id'],
  ['identities', 'kind, value'],
  ['customer_merges', 'from_id'],
  ['customer_events', 'customer_id, seq'],
  ['customer_types', 'customer_id, lens'],
  ['customer_traits', 'customer_id, key'],
  ['type_history', 'id'],
  ['trait_history', 'id'],
  ['engine_checkpoint', 'name'],
  ['engine_value_state', 'id'],
  ['type_daily', 'lens, day, type'],
  ['type_totals', 'lens, type'],
  ['customer_contrib', 'customer_id'],
  ['transition_daily', 'lens, day, from_type, to_type'],
];

/** SHA-256 of a table's rows in key order (blobs as hex, numbers as JS prints them). */
function tableHash(db: SqliteDatabase, table: string, orderBy: string): { hash: string; rows: number } {
  const h = createHash('sha256');
  let rows = 0;
  for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY ${orderBy}`).iterate() as Iterable<Record<string, unknown>>) {
    const out: unknown[] = [];
    for (const [k, v] of Object.entries(row)) out.push(k, Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : v);
    h.update(JSON.stringify(out));
    h.update('\n');
    rows++;
  }
  return { hash: h.digest('hex'), rows };
}

async function buildLog(db: SqliteDatabase): Promise<number> {
  const sim = simulate({ customers: CUSTOMERS, days: DAYS, seed: SEED, start: Date.UTC(2025, 0, 1) });
  const events: StoredEvent[] = [];
  for (const m of sim.messages()) {
    const e = simulatedEvent(m, 'state-hash');
    if (!STATEMENTS && e.event === V.statementCaptured) continue;
    events.push(e);
  }
  // Control events at fixed positions (a third and two thirds in; a refit at the middle), at the time of
  // the event before them, so ticks and an on-demand refit are covered too. The simulation's aliases join
  // anonymous histories without merging two customers: aliases between known users (pairs of users seen
  // so far) at 40 %, 60 % and 85 % of the log add merges.
  const out: StoredEvent[] = [];
  const at = (i: number) => events[Math.max(0, i - 1)]!.timestamp;
  const marks = new Map<number, StoredEvent[]>();
  const mark = (i: number, e: StoredEvent) => marks.set(i, [...(marks.get(i) ?? []), e]);
  const third = Math.floor(events.length / 3);
  mark(third, controlEvent(CLOCK_TICK_EVENT, 'state-hash-tick-1', at(third), 0));
  mark(Math.floor(events.length / 2), controlEvent(VALUE_REFIT_EVENT, 'state-hash-refit', at(Math.floor(events.length / 2)), 0));
  mark(2 * third, controlEvent(CLOCK_TICK_EVENT, 'state-hash-tick-2', at(2 * third), 0));
  const users: string[] = [];
  const seen = new Set<string>();
  const mergesAt = new Set([0.4, 0.6, 0.85].map((f) => Math.floor(events.length * f)));
  let k = 0;
  events.forEach((e, i) => {
    if (mergesAt.has(i)) {
      for (let j = 0; j + 1 < users.length && j < 8; j += 2) {
        const m = { type: 'alias', userId: users[users.length - 1 - j], previousId: users[users.length - 2 - j], messageId: `state-hash-merge-${k++}`, timestamp: new Date(at(i)).toISOString() };
        mark(i, simulatedEvent(m, 'state-hash'));
      }
    }
    if (e.userId && !seen.has(e.userId)) {
      seen.add(e.userId);
      users.push(e.userId);
    }
  });
  events.forEach((e, i) => {
    for (const c of marks.get(i) ?? []) out.push(c);
    out.push(e);
  });
  const log = new SqliteEventLog(db);
  let n = 0;
  for (let i = 0; i < out.length; i += 5000) {
    const r = await log.append(out.slice(i, i + 5000), { now: 0, dedupeWindowMs: 0 });
    n += r.filter((o) => 'seq' in o).length;
  }
  return n;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-state-hash-'));
  try {
    const db = openSqliteDatabase(join(dir, 'rapport.db'));
    db.pragma('synchronous = OFF'); // a throwaway fixture
    const n = await buildLog(db);
    console.log(`state hash: ${CUSTOMERS} customers x ${DAYS} days, seed ${SEED}, ${n} events${STATEMENTS ? '' : ' (no statements)'}`);
    const summary: Record<string, string> = {};
    for (const run of RUNS) {
      const store = new SqliteEngineStore(db);
      await store.reset();
      const engine = buildEngine({ dataDir: dir });
      const p = new Processor({
        eventLog: new SqliteEventLog(db),
        store,
        modules: engine.modules,
        batchSize: run.batchSize,
        cacheSize: run.cacheSize,
        ...(engine.value ? { value: engine.value } : {}),
      });
      const t0 = performance.now();
      await p.drain();
      p.dispose();
      const ms = performance.now() - t0;
      const all = createHash('sha256');
      const lines: string[] = [];
      for (const [table, orderBy] of TABLES) {
        const t = tableHash(db, table, orderBy);
        all.update(`${table}:${t.hash}\n`);
        lines.push(`    ${table.padEnd(20)} ${String(t.rows).padStart(7)} rows  ${t.hash}`);
      }
      const key = `batch ${run.batchSize} cache ${run.cacheSize}`;
      summary[key] = all.digest('hex');
      console.log(`  ${key.padEnd(26)} ${summary[key]}  (${ms.toFixed(0)} ms)`);
      if (PER_TABLE) for (const l of lines) console.log(l);
    }
    db.close();
    console.log(JSON.stringify(summary));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
