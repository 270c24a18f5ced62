/**
 * Ingest benchmark: throughput and latency of the real server process (durability on: WAL +
 * synchronous=FULL, group commit) against the raw SQLite ceiling measured in the same run.
 *
 *   npm run bench:ingest            (env BENCH_SECONDS=8 BENCH_CLIENTS=16 to change the load,
 *                                    BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the server)
 *
 * Phases: (1) /v1/batch closed loop, 100 events a request, N concurrent keep-alive clients;
 * (2) /v1/track closed loop (one event a request); (3) /v1/batch open loop at a fixed offered rate
 * of 5,000 events/s (latency measured from the scheduled send time: no coordinated omission);
 * (4) raw ceiling: plain better-sqlite3 inserts of the same rows into the same schema,
 * one transaction per 1,000 rows, synchronous=FULL; (5) raw commit latency: 100-row transactions at the
 * open-loop rate without HTTP (the disk's own fsync latency bounds phase 3).
 * Last line: one JSON object with the figures.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { openSqliteDatabase } from '../src/adapters/sqlite/open-database';
import { CLAIM_MESSAGE_ID_SQL, INSERT_EVENT_SQL } from '../src/adapters/sqlite/sqlite-event-log';
import { openStore, databasePath } from '../src/app/open-event-log';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const BATCH = 100;
const OPEN_LOOP_RATE = 5000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

let counter = 0;
const T0 = Date.UTC(2025, 0, 1);
/** One Segment track event of realistic size (~350 bytes), unique messageId. */
function eventJson(): string {
  const i = counter++;
  return `{"type":"track","messageId":"b-${i}","userId":"user-${i % 5000}","event":"Order Completed","timestamp":"${new Date(T0 + i * 1000).toISOString()}","properties":{"order_id":"o-${i}","revenue":${(i % 997) / 10},"currency":"EUR","products":[{"product_id":"p-${i % 300}","quantity":1,"price":9.9}]},"context":{"library":{"name":"bench","version":"1"},"ip":"10.0.0.${i % 250}"}}`;
}
function batchBody(n: number): string {
  const items: string[] = new Array(n);
  for (let k = 0; k < n; k++) items[k] = eventJson();
  return `{"batch":[${items.join(',')}],"sentAt":"${new Date().toISOString()}"}`;
}

interface Target {
  host: string;
  port: number;
  auth: string;
  agent: Agent;
}

function send(t: Target, path: string, body: string): Promise<number> {
  return new Promise((res, rej) => {
    const req = request(
      { host: t.host, port: t.port, path, method: 'POST', agent: t.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: t.auth } },
      (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode ?? 0));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

async function closedLoop(t: Target, path: string, perRequest: number, seconds: number) {
  const lat: number[] = [];
  let events = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const body = perRequest === 1 ? eventJson() : batchBody(perRequest);
      const s = performance.now();
      const status = await send(t, path, body);
      lat.push(performance.now() - s);
      if (status === 200) events += perRequest;
      else errors++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const elapsed = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { eventsPerSec: Math.round(events / elapsed), requests: lat.length, errors, p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)) };
}

async function openLoop(t: Target, rate: number, perRequest: number, seconds: number) {
  const interval = (1000 * perRequest) / rate;
  const total = Math.round((seconds * 1000) / interval);
  const lat: number[] = [];
  let errors = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = start + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = batchBody(perRequest);
    pending.push(
      send(t, '/v1/batch', body).then(
        (status) => {
          lat.push(performance.now() - due);
          if (status !== 200) errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  lat.sort((a, b) => a - b);
  return { offeredEventsPerSec: rate, requests: lat.length, errors, p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), maxMs: round(lat[lat.length - 1] ?? NaN) };
}

/** Raw ceiling: the same rows straight into the same schema, 1,000 per transaction. */
function rawCeiling(dir: string, rows: number) {
  const db = openSqliteDatabase(join(dir, 'raw.db'));
  const claim = db.prepare(CLAIM_MESSAGE_ID_SQL);
  const insert = db.prepare(INSERT_EVENT_SQL);
  const prepared: Array<[string, string, string, number, string]> = [];
  for (let i = 0; i < rows; i++) {
    const e = JSON.parse(eventJson()) as { messageId: string; userId: string; event: string; properties: unknown; context: unknown; timestamp: string };
    prepared.push([e.messageId, e.userId, e.event, Date.parse(e.timestamp), JSON.stringify({ properties: e.properties, context: e.context, sentAt: T0 })]);
  }
  const now = Date.now();
  const tx = db.transaction((chunk: typeof prepared) => {
    for (const [id, user, ev, ts, data] of chunk) {
      if (claim.run(id, now, now - 86_400_000).changes === 0) continue;
      insert.run(id, 'track', user, null, ev, ts, now, 'src', data);
    }
  });
  const start = performance.now();
  for (let off = 0; off < rows; off += 1000) tx(prepared.slice(off, off + 1000));
  const elapsed = (performance.now() - start) / 1000;
  db.close();
  return { eventsPerSec: Math.round(rows / elapsed), rows, transactionSize: 1000 };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/**
 * Latency reference for the open-loop phase: the same rows committed directly (100 per transaction,
 * synchronous=FULL) at the same offered rate. The server cannot beat the disk's own commit latency.
 */
async function rawCommitLatency(dir: string, rate: number, perTx: number, seconds: number) {
  const db = openSqliteDatabase(join(dir, 'raw-latency.db'));
  const claim = db.prepare(CLAIM_MESSAGE_ID_SQL);
  const insert = db.prepare(INSERT_EVENT_SQL);
  const now = Date.now();
  const tx = db.transaction((rows: Array<{ messageId: string; userId: string; event: string; timestamp: string; properties: unknown; context: unknown }>) => {
    for (const e of rows) {
      if (claim.run(e.messageId, now, now - 86_400_000).changes === 0) continue;
      insert.run(e.messageId, 'track', e.userId, null, e.event, Date.parse(e.timestamp), now, 'src', JSON.stringify({ properties: e.properties, context: e.context }));
    }
  });
  const interval = (1000 * perTx) / rate;
  const total = Math.round((seconds * 1000) / interval);
  const lat: number[] = [];
  const start = performance.now();
  for (let k = 0; k < total; k++) {
    const due = start + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const rows = Array.from({ length: perTx }, () => JSON.parse(eventJson()));
    tx(rows);
    lat.push(performance.now() - due);
  }
  db.close();
  lat.sort((a, b) => a - b);
  return { offeredEventsPerSec: rate, transactions: lat.length, p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), maxMs: round(lat[lat.length - 1] ?? NaN) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-'));
  const dataDir = join(dir, 'data');
  const store = openStore(dataDir);
  const { writeKey } = await store.keyStore.createSource('bench', Date.now());
  store.close();
  let load = 'unknown';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // not Linux
  }
  console.log(`load average before the run: ${load} (other processes on the machine distort the figures)`);
  console.log(`ingest bench: ${cpus().length} cores, ${CLIENTS} clients, ${SECONDS}s per phase, db ${databasePath(dataDir)}`);

  // BENCH_NODE_ARGS: extra node flags for the server, e.g. --cpu-prof when tuning.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin/rapport.mjs'), 'start', '--port', '0', '--data', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: proc.stdout }).once('line', (l) => res((JSON.parse(l) as { url: string }).url));
    proc.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  const u = new URL(url);
  const t: Target = {
    host: u.hostname,
    port: Number(u.port),
    auth: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    agent: new Agent({ keepAlive: true, maxSockets: CLIENTS * 4 }),
  };

  try {
    await closedLoop(t, '/v1/batch', BATCH, 1); // warm-up (JIT, page cache)
    const cpu0 = cpuSeconds(proc.pid as number);
    const batchRun = await closedLoop(t, '/v1/batch', BATCH, SECONDS);
    const cpu1 = cpuSeconds(proc.pid as number);
    // CPU per event of the server (all its threads): a figure that load from other processes distorts less.
    const serverCpuUsPerEvent = round(((cpu1 - cpu0) * 1e6) / (batchRun.eventsPerSec * SECONDS));
    const batch = { ...batchRun, serverCpuUsPerEvent };
    console.log(`/v1/batch  (${BATCH}/request, ${CLIENTS} clients): ${batch.eventsPerSec} events/s, p50 ${batch.p50Ms} ms, p99 ${batch.p99Ms} ms, errors ${batch.errors}, server CPU ${serverCpuUsPerEvent} µs/event`);
    const track = await closedLoop(t, '/v1/track', 1, Math.max(3, SECONDS / 2));
    console.log(`/v1/track  (1/request, ${CLIENTS} clients):   ${track.eventsPerSec} events/s, p50 ${track.p50Ms} ms, p99 ${track.p99Ms} ms, errors ${track.errors}`);
    const open = await openLoop(t, OPEN_LOOP_RATE, BATCH, SECONDS);
    console.log(`/v1/batch open loop at ${OPEN_LOOP_RATE} events/s: p50 ${open.p50Ms} ms, p99 ${open.p99Ms} ms, max ${open.maxMs} ms, errors ${open.errors}`);
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    const raw = rawCeiling(dir, 300_000);
    console.log(`raw ceiling (better-sqlite3, same schema, 1,000 rows/tx, synchronous=FULL): ${raw.eventsPerSec} events/s`);
    const rawLatency = await rawCommitLatency(dir, OPEN_LOOP_RATE, BATCH, SECONDS);
    console.log(`raw commit latency at ${OPEN_LOOP_RATE} events/s (${BATCH} rows/tx, no HTTP): p50 ${rawLatency.p50Ms} ms, p99 ${rawLatency.p99Ms} ms, max ${rawLatency.maxMs} ms`);
    const ratio = round(batch.eventsPerSec / raw.eventsPerSec);
    console.log(`ratio /v1/batch : raw = ${ratio} (target >= 0.25); /v1/batch target >= 50,000 events/s; open-loop p99 target <= 25 ms`);
    console.log(
      JSON.stringify({
        bench: 'ingest',
        cores: cpus().length,
        loadAverageBefore: Number(load.split(' ')[0]),
        clients: CLIENTS,
        seconds: SECONDS,
        batch,
        track,
        openLoop: open,
        rawCeiling: raw,
        rawCommitLatency: rawLatency,
        ratioToRaw: ratio,
        targets: { batchEventsPerSec: 50_000, ratioToRaw: 0.25, openLoopP99Ms: 25 },
        met: { batchEventsPerSec: batch.eventsPerSec >= 50_000, ratioToRaw: ratio >= 0.25, openLoopP99Ms: open.p99Ms <= 25 },
      }),
    );
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    t.agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
