import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { openPostgresPool } from '../../adapters/postgres/open-pool';
import { buildEngineFromConfig, type BuiltEngine } from '../../app/build-engine';
import { loadConfig, type RapportConfig } from '../../app/config';
import { rebuildPartitions } from '../../app/rebuild-partitions';
import { loadScaleConfig } from '../../app/scale-config';
import { openAppStore } from '../../app/app-store';
import { Processor } from '../../engine/processor';
import { systemClock } from '../../ports/clock';
import { dataOption, databaseUrlOption, jsonOption, printResult, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/**
 * `rapport replay`: rebuilds all derived state (profiles, indicators, classifications, history, value
 * models) from the event log. Deterministic: the result equals what live processing produced.
 * Refused while a server processes the same store (stop it first).
 */
export const registerReplayCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('replay')
    .description('rebuild all customer state from the event log (stop the server first)')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .option('--continue', 'continue from the last checkpoint instead of rebuilding from scratch')
    .option('--batch <n>', 'events per commit (bigger is faster: each customer row is written once per commit; a commit also comes once as many customers changed as the processor caches, 100,000; at most 100,000 on PostgreSQL)', '1000000')
    .addOption(jsonOption())
    .action(async (o: { data: string; databaseUrl?: string; continue?: boolean; batch: string; json?: boolean }) => {
      const config = loadConfig({ env: io.env, overrides: { dataDir: o.data, ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}) } });
      // The server's value options too: a replay refits exactly where and how the server did.
      const engine = buildEngineFromConfig(config);
      const store = await openAppStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
      if (config.databaseUrl && (await store.usedByPartitionWorkers())) {
        // Scaled out: every partition is rebuilt as its worker would process it (workers stopped).
        await store.close();
        await replayPartitions(io, config, engine, o);
        return;
      }
      try {
        // Refused while a server (or another replay) processes this store: both would apply the events.
        await store.claimProcessing();
        const engineStore = store.engineStore;
        if (!o.continue) await engineStore.reset();
        const processor = new Processor({
          eventLog: store.eventLog,
          store: engineStore,
          modules: engine.modules,
          batchSize: batchOf(o.batch, config.databaseUrl ? PG_MAX_BATCH : Number.MAX_SAFE_INTEGER),
          ...(engine.value ? { value: engine.value } : {}),
        });
        const from = await processor.checkpoint();
        const last = await store.eventLog.lastSeq();
        const run = await withProgress(Math.max(0, last - from), 'events', (progress) => processor.drain(progress));
        const customers = await store.customerQueries.countCustomers();
        const result = { events: run.events, customers, checkpoint: await processor.checkpoint(), seconds: run.seconds, eventsPerSecond: run.eventsPerSecond };
        printResult(io, o.json, result, () => `replayed ${run.events} events into ${customers} customers in ${run.seconds} s (${run.eventsPerSecond} events/s)`);
      } finally {
        await store.close();
      }
    });
};

/** `rapport replay` on a database the scaled-out workers use: see {@link rebuildPartitions}. */
async function replayPartitions(io: CliIo, config: RapportConfig, engine: BuiltEngine, o: { continue?: boolean; batch: string; json?: boolean }): Promise<void> {
  const scale = loadScaleConfig(config, { env: io.env });
  const pool = await openPostgresPool(config.databaseUrl!);
  try {
    const total = Number((await pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM events WHERE partition IS NOT NULL')).rows[0]?.n ?? 0);
    const run = await withProgress(total, 'events (all partitions)', async (progress) => {
      const r = await rebuildPartitions({
        pool,
        engine,
        partitions: scale.partitions,
        clock: systemClock,
        ...(o.continue ? { continue: true } : {}),
        batchSize: batchOf(o.batch, PG_MAX_BATCH),
        onProgress: progress,
      });
      return r.events;
    });
    const result = { events: run.events, partitions: scale.partitions, seconds: run.seconds, eventsPerSecond: run.eventsPerSecond };
    printResult(io, o.json, result, () => `replayed ${run.events} events over ${scale.partitions} partitions in ${run.seconds} s (${run.eventsPerSecond} events/s); start the workers again`);
  } finally {
    await pool.end();
  }
}

/** PostgreSQL gets each commit as one statement per table: at most this many events a commit there. */
const PG_MAX_BATCH = 100_000;

/** `--batch` as events per commit (1,000,000 when not a number), at most `cap`. */
function batchOf(value: string, cap: number): number {
  return Math.min(Math.max(1, Number(value) || 1_000_000), cap);
}

/** Runs a replay of `total` events under a progress bar on stderr; returns the events it processed and the rate. */
async function withProgress(
  total: number,
  what: string,
  replay: (progress: (events: number) => void) => Promise<number>,
): Promise<{ events: number; seconds: number; eventsPerSecond: number }> {
  const bar = new SingleBar({ format: `replay |{bar}| {percentage}% {value}/{total} ${what} {eta_formatted} left`, stream: process.stderr }, Presets.shades_classic);
  bar.start(total, 0);
  const t0 = performance.now();
  const events = await replay((n) => bar.update(n)).finally(() => bar.stop());
  const seconds = (performance.now() - t0) / 1000;
  return { events, seconds: Number(seconds.toFixed(3)), eventsPerSecond: Math.round(events / Math.max(seconds, 1e-9)) };
}
