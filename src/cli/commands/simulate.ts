import { createWriteStream, type WriteStream } from 'node:fs';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { jsonOption, parsePositiveInt, printResult, UsageError, type CliIo } from '../cli-context';
import { simulate, type Simulation } from '../../sim/simulate';
import { streamToServer } from '../../sim/stream-to-server';
import type { SegmentMessage } from '../../sim/types';
import type { RegisterCommand } from './index';

const DAY = 86_400_000;

interface SimulateCliOptions {
  customers: number;
  days: number;
  seed: number;
  start: string;
  out?: string;
  to?: string;
  writeKey?: string;
  rate?: number;
  speed?: number;
  batch: number;
  truth?: string;
  germanShare?: number;
  surveyShare?: number;
  typeChangeShare?: number;
  json?: boolean;
}

/** Result printed by `rapport simulate` (the `--json` document). */
export interface SimulateCliResult {
  customers: number;
  days: number;
  seed: number;
  start: string;
  messages: number;
  out: string | null;
  truth: string | null;
  sent: number | null;
  batches: number | null;
  retries: number | null;
  seconds: number;
  messagesPerSecond: number;
}

function parseShare(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${name} must be a number between 0 and 1, got '${value}'`);
    return n;
  };
}

function parsePositiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got '${value}'`);
    return n;
  };
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`--seed must be an integer 0..4294967295, got '${value}'`);
  return n;
}

/** Writes text to a file stream, waiting for drain under backpressure. */
async function writeChunk(stream: WriteStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}

async function closeStream(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Progress by simulated time, on stderr when it is a terminal. */
function progressBar(days: number): { update(t: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: 'simulate |{bar}| day {value}/{total} | {messages} messages', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(days, 0, { messages: 0 });
  let n = 0;
  return {
    update(day: number) {
      n++;
      if (n % 5000 === 0) bar.update(Math.min(days, Math.floor(day)), { messages: n });
    },
    stop() {
      bar.update(days, { messages: n });
      bar.stop();
    },
  };
}

/** Counts messages and drives the progress bar while passing them through. */
function* observed(messages: Iterable<SegmentMessage>, start: number, bar: { update(day: number): void }, counter: { n: number }) {
  for (const m of messages) {
    counter.n++;
    bar.update((Date.parse(m.timestamp) - start) / DAY);
    yield m;
  }
}

async function writeNdjson(
  io: CliIo,
  target: string,
  messages: Iterable<SegmentMessage>,
): Promise<void> {
  const stream = target === '-' ? null : createWriteStream(target);
  if (!stream) watchStdoutPipe();
  let chunk = '';
  const flush = async () => {
    if (!chunk) return;
    if (stream) await writeChunk(stream, chunk);
    else {
      io.stdout(chunk);
      // Backpressure when io.stdout writes to the real stdout (a slow pipe must not fill memory).
      const out = process.stdout;
      if (out.writableLength > out.writableHighWaterMark && !pipeClosed) {
        await new Promise<void>((resolve) => {
          out.once('drain', resolve);
          out.once('error', () => resolve());
        });
      }
    }
    chunk = '';
  };
  try {
    for (const m of messages) {
      if (pipeClosed) break;
      chunk += JSON.stringify(m) + '\n';
      if (chunk.length > 1 << 20) await flush();
    }
    if (!pipeClosed) await flush();
  } finally {
    if (stream) await closeStream(stream);
  }
}

// `rapport simulate --out - | head` closes the pipe early: stop quietly instead of crashing.
// The error can arrive after the command returned, so the listener stays for the process.
let pipeClosed = false;
let pipeWatched = false;
function watchStdoutPipe(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') pipeClosed = true;
    else throw err;
  });
}

async function writeTruth(sim: Simulation, target: string): Promise<void> {
  const stream = createWriteStream(target);
  let chunk = '';
  for (const t of sim.truth()) {
    chunk += JSON.stringify(t) + '\n';
    if (chunk.length > 1 << 20) {
      await writeChunk(stream, chunk);
      chunk = '';
    }
  }
  if (chunk) await writeChunk(stream, chunk);
  await closeStream(stream);
}

async function run(io: CliIo, o: SimulateCliOptions): Promise<void> {
  if (!o.out && !o.to) throw new UsageError('give --out FILE (or - for stdout) or --to URL');
  if (o.out && o.to) throw new UsageError('give either --out or --to, not both');
  if (o.to && !o.writeKey) throw new UsageError('--to needs --write-key (or RAPPORT_WRITE_KEY)');
  if (o.out === '-' && o.json) throw new UsageError('--json cannot be combined with --out - (both use stdout)');
  if ((o.rate || o.speed) && !o.to) throw new UsageError('--rate and --speed only apply with --to');
  const start = Date.parse(o.start);
  if (Number.isNaN(start)) throw new UsageError(`--start must be a date (e.g. 2025-01-01), got '${o.start}'`);
  const sim = simulate({
    customers: o.customers,
    days: o.days,
    seed: o.seed,
    start,
    germanShare: o.germanShare,
    surveyShare: o.surveyShare,
    typeChangeShare: o.typeChangeShare,
  });
  const truthFile = o.truth ?? (o.out && o.out !== '-' ? `${o.out.replace(/\.ndjson$/, '')}.truth.ndjson` : null);
  const bar = progressBar(o.days);
  const counter = { n: 0 };
  const messages = observed(sim.messages(), start, bar, counter);
  const t0 = performance.now();
  let sent: number | null = null;
  let batches: number | null = null;
  let retries: number | null = null;
  try {
    if (o.to) {
      const p = await streamToServer({
        url: o.to,
        writeKey: o.writeKey as string,
        messages,
        rate: o.rate,
        speed: o.speed,
        batchSize: o.batch,
      });
      sent = p.sent;
      batches = p.batches;
      retries = p.retries;
    } else {
      await writeNdjson(io, o.out as string, messages);
    }
  } finally {
    bar.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (truthFile) await writeTruth(sim, truthFile);
  const result: SimulateCliResult = {
    customers: o.customers,
    days: o.days,
    seed: o.seed,
    start: new Date(start).toISOString(),
    messages: counter.n,
    out: o.out ?? null,
    truth: truthFile,
    sent,
    batches,
    retries,
    seconds: Math.round(seconds * 1000) / 1000,
    messagesPerSecond: Math.round(counter.n / Math.max(seconds, 1e-6)),
  };
  if (o.out === '-') {
    // stdout carries the NDJSON; the summary goes to stderr.
    io.stderr(`simulated ${result.messages} messages for ${o.customers} customers in ${result.seconds} s\n`);
    return;
  }
  printResult(io, o.json, result, () =>
    [
      `simulated ${result.messages} messages for ${o.customers} customers over ${o.days} days (seed ${o.seed}) in ${result.seconds} s (${result.messagesPerSecond} msg/s)`,
      o.to ? `sent ${sent} in ${batches} batches to ${o.to} (${retries} retries)` : `messages: ${o.out}`,
      truthFile ? `truth: ${truthFile}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** `rapport simulate`: generate simulated customers as Segment messages (file, stdout or a server). */
export const registerSimulateCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('simulate')
    .description('generate realistic Segment messages from latent relationship types (ground truth in a side file)')
    .option('--customers <n>', 'number of customers', parsePositiveInt('--customers'), 1000)
    .option('--days <n>', 'simulated days', parsePositiveInt('--days'), 365)
    .option('--seed <n>', 'random seed (same seed, same output)', parseSeed, 1)
    .option('--start <date>', 'start of the simulated period (ISO date)', '2025-01-01')
    .option('--out <file>', "write messages as NDJSON ('-' = stdout)")
    .option('--to <url>', 'POST batches to <url>/v1/batch')
    .addOption(new Option('--write-key <key>', 'write key for --to').env('RAPPORT_WRITE_KEY'))
    .option('--rate <n>', 'with --to: at most n events per second', parsePositiveNumber('--rate'))
    .option('--speed <seconds>', 'with --to: accelerated time, real seconds per simulated day', parsePositiveNumber('--speed'))
    .option('--batch <n>', 'with --to: events per request', parsePositiveInt('--batch'), 100)
    .option('--truth <file>', 'ground-truth NDJSON (default: <out> with .truth.ndjson instead of .ndjson)')
    .option('--german-share <x>', 'share of German-speaking customers (0..1)', parseShare('--german-share'))
    .option('--survey-share <x>', 'share answering the labelled relationship survey (0..1)', parseShare('--survey-share'))
    .option('--type-change-share <x>', 'share whose latent type changes (0..1)', parseShare('--type-change-share'))
    .addOption(jsonOption())
    .action(async (o: SimulateCliOptions) => run(io, o));
};
