import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connectNats, ensureEventStream } from '../../src/adapters/nats/event-stream';
import { PartitionStream, type NatsConnectionHandle } from '../../src/adapters/nats/partition-stream';
import type { PostgresPool } from '../../src/adapters/postgres/open-pool';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresPartitionRouter } from '../../src/adapters/postgres/postgres-partition-router';
import { PostgresPartitionProgress } from '../../src/adapters/postgres/postgres-partition-progress';
import type { StoredEvent } from '../../src/domain/event';
import type { EngineFeed } from '../../src/ports/engine-feed';
import type { CustomerQueries, EngineStore } from '../../src/ports/engine-store';
import type { ValueQueries } from '../../src/ports/value-queries';

/** The NATS URL for scale tests, or undefined: they skip. */
export const NATS_URL: string | undefined = process.env['RAPPORT_TEST_NATS_URL'] || undefined;

/** A private stream (random name and subject prefix) for one test, deleted by `close`. */
export interface TestStream {
  readonly nc: NatsConnectionHandle;
  readonly stream: PartitionStream;
  readonly options: { stream: string; subjectPrefix: string; partitions: number };
  close(): Promise<void>;
}

/** Creates a private stream with `partitions` subjects. */
export async function testStream(url: string, partitions: number): Promise<TestStream> {
  const suffix = randomBytes(5).toString('hex');
  const options = { stream: `RAPPORT_TEST_${suffix}`, subjectPrefix: `rapport_test.${suffix}`, partitions };
  const nc = await connectNats(url, { name: 'rapport-test' });
  const jsm = await nc.jetstreamManager();
  await ensureEventStream(jsm, options);
  return {
    nc,
    stream: new PartitionStream(nc, options),
    options,
    async close() {
      await jsm.streams.delete(options.stream).catch(() => {});
      await nc.close();
    },
  };
}

/** Routes events with the ingest role's router and publishes each to its partition, in order. */
export async function publishRouted(pool: PostgresPool, stream: PartitionStream, events: readonly StoredEvent[], chunk = 500): Promise<void> {
  const router = new PostgresPartitionRouter({ pool, partitions: stream.options.partitions });
  for (let i = 0; i < events.length; i += chunk) {
    const batch = events.slice(i, i + chunk);
    const parts = await router.route(batch);
    await Promise.all(batch.map((e, j) => stream.publish(parts[j]!, e)));
  }
}

/** Polls `check` until it is true (generous timeout; no timing assertion). */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True when PostgreSQL holds `events` events and every partition processed all of them. */
export async function caughtUp(pool: PostgresPool, events: number): Promise<boolean> {
  const r = await pool.query<{ n: number; last: number | null }>('SELECT count(*)::int AS n, max(seq) AS last FROM events');
  const row = r.rows[0]!;
  if (row.n < events) return false;
  return (await new PostgresPartitionProgress(pool).safeProcessedSeq()) === (row.last ?? 0);
}

/** Everything the processors derived, read through the ports, without log positions (they differ by design). */
export async function derivedState(b: { store: EngineStore; queries: CustomerQueries; feed: EngineFeed; value?: ValueQueries }, lenses: readonly string[]) {
  const customers = [];
  for (let after = ''; ; ) {
    const page = await b.feed.page(after, 200);
    if (page.length === 0) break;
    // The state blob holds the tick's log position (crash safety of a sweep): compared through what it decodes to.
    customers.push(...page.map((c) => ({ ...c, state: null })));
    after = page[page.length - 1]!.id;
  }
  const history = [];
  for (const c of customers) {
    history.push({
      id: c.id,
      types: (await b.queries.typeHistory(c.id)).map(({ seq: _s, messageId, ...t }) => ({ ...t, messageId: messageId.replace(/:p\d+$/, '') })),
      traits: (await b.queries.traitHistory(c.id, 1000)).map(({ seq: _s, ...t }) => t),
      events: (await b.store.eventsOf(c.id)).map((e) => e.messageId),
    });
  }
  const distributions: Record<string, Record<string, number>> = {};
  const perLens: Record<string, unknown> = {};
  for (const lens of lenses) {
    distributions[lens] = await b.queries.distribution(lens);
    // Counters kept per partition in the scaled-out mode, summed on read: the same figures.
    perLens[lens] = {
      asOf: await b.queries.distribution(lens, Date.UTC(2025, 5, 1)),
      transitions: await b.queries.transitions(lens, Date.UTC(2025, 0, 1), Date.UTC(2026, 6, 1)),
      economics: b.value ? (await b.value.aggregatesByType(lens)).map((a) => ({ ...a, revenue: Math.round(a.revenue * 100), revenue365d: Math.round(a.revenue365d * 100), clv12m: Math.round(a.clv12m * 100) })) : null,
    };
  }
  return { count: await b.queries.countCustomers(), latest: await b.queries.latestEventTime(), customers, history, distributions, perLens };
}

/** Value state of the scaled-out mode: each partition's models, and every buyer's purchase summary. */
export async function partitionValueState(pool: PostgresPool, partitions: number) {
  const models = [];
  for (let p = 0; p < partitions; p++) {
    const s = (await new PostgresEngineStore(pool, { partition: p }).loadValueState()).state as { models: unknown; heavyThreshold: unknown } | null;
    models.push({ models: s?.models ?? null, heavyThreshold: s?.heavyThreshold ?? null });
  }
  const purchases = (await new PostgresEngineStore(pool).loadValueState()).purchases;
  return { models, purchases };
}

/** A worker running as a child process (fixtures/worker-main.ts). */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Its `/metrics` base URL. */
  readonly url: string;
  /** Resolves when it has exited. */
  readonly exited: Promise<void>;
}

/** Starts a worker process (`nodeArgs`: extra node arguments); resolves once it printed `ready`. */
export async function spawnWorker(settings: Record<string, unknown>, nodeArgs: readonly string[] = []): Promise<WorkerProcess> {
  const script = fileURLToPath(new URL('./fixtures/worker-main.ts', import.meta.url));
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    env: { ...process.env, RAPPORT_WORKER_FIXTURE: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S*)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready: ${stderr}`)));
  });
  return { child, url, exited };
}

/** Partition → worker id holding its lease (advisory locks joined to the heartbeats), for one schema. */
export async function leaseHolders(pool: PostgresPool): Promise<Map<number, string>> {
  const r = await pool.query<{ partition: number; worker_id: string | null }>(
    `SELECT l.objid::bigint::int AS partition, h.worker_id
       FROM pg_locks l LEFT JOIN worker_heartbeats h ON h.backend_pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
        AND l.classid = (hashtext('rapport.partition.' || current_schema()))::oid
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return new Map(r.rows.map((row) => [row.partition, row.worker_id ?? '?']));
}
