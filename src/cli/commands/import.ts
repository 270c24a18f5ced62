import { Option, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { openAppStore } from '../../app/app-store';
import { DEFAULT_INGEST_LIMITS } from '../../ingest/prepare-request';
import { fileKey, importFile, readCsvMapping, type CsvMapping, type ImportReport } from '../../ingest/import-file';
import { systemClock } from '../../ports/clock';
import { RapportError } from '../../domain/errors';
import { dataOption, databaseUrlOption, jsonOption, parsePositiveInt, printResult, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

interface ImportFlags {
  data: string;
  databaseUrl?: string;
  json?: boolean;
  format?: string;
  mapping?: string;
  type?: string;
  userId?: string;
  anonymousId?: string;
  event?: string;
  eventName?: string;
  timestamp?: string;
  messageId?: string;
  property: string[];
  trait: string[];
  delimiter?: string;
  rejects?: string;
  chunkSize: number;
  stopAfter?: number;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** `rapport import FILE`: bulk import of NDJSON (Segment messages) or CSV (with a column mapping). */
export const registerImportCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('import')
    .description('import events from an NDJSON file of Segment messages or a CSV file (resumable, idempotent)')
    .argument('<file>', 'file to import (.ndjson/.jsonl or .csv)')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .addOption(new Option('--format <format>', 'input format (default: from the file extension)').choices(['ndjson', 'csv']))
    .option('--mapping <file>', 'CSV column mapping (YAML: type, userId, anonymousId, event, eventName, timestamp, messageId, properties, traits)')
    .addOption(new Option('--type <type>', 'CSV: message type').choices(['track', 'identify']))
    .option('--user-id <col>', 'CSV: userId column')
    .option('--anonymous-id <col>', 'CSV: anonymousId column')
    .option('--event <col>', 'CSV: event name column')
    .option('--event-name <name>', 'CSV: constant event name')
    .option('--timestamp <col>', 'CSV: timestamp column (ISO-8601)')
    .option('--message-id <col>', 'CSV: messageId column (else derived from line number + content)')
    .option('--property <name=col>', 'CSV: property from a column (repeatable)', collect, [])
    .option('--trait <name=col>', 'CSV: trait from a column (repeatable)', collect, [])
    .option('--delimiter <char>', 'CSV: field delimiter', ',')
    .option('--rejects <file>', 'write rejected lines (line, code, message) as NDJSON to this file')
    .addOption(new Option('--chunk-size <n>', 'lines per all-or-nothing commit').argParser(parsePositiveInt('--chunk-size')).default(1000))
    .addOption(new Option('--stop-after <n>', 'testing: stop after committing this many lines, as if interrupted').argParser(parsePositiveInt('--stop-after')).hideHelp())
    .addHelpText(
      'after',
      '\nResumes an interrupted import of the same file (path, size, mtime) from its last committed chunk;\n' +
        're-running a finished import does nothing. Events without messageId get one derived from line number + content.',
    )
    .action(async (file: string, opts: ImportFlags) => {
      const format = (opts.format ?? formatFromExtension(file)) as 'ndjson' | 'csv';
      const mapping = format === 'csv' ? buildMapping(opts) : undefined;
      if (format === 'ndjson' && (opts.mapping || opts.userId || opts.event || opts.property.length > 0 || opts.trait.length > 0)) {
        throw new UsageError('column mapping options apply to CSV only; NDJSON lines are Segment messages');
      }
      const { size } = fileKey(file);
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: 'import [{bar}] {percentage}% | line {value}', stream: process.stderr }, Presets.shades_classic) : null;
      let report: ImportReport;
      try {
        bar?.start(countLines(file, size), 0);
        report = await importFile({
          file,
          format,
          ...(mapping ? { mapping } : {}),
          ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
          eventLog: store.eventLog,
          clock: systemClock,
          dataDir: opts.data,
          dedupeWindowMs: 24 * 3_600_000,
          limits: DEFAULT_INGEST_LIMITS,
          chunkSize: opts.chunkSize,
          ...(opts.stopAfter !== undefined ? { stopAfter: opts.stopAfter } : {}),
          ...(opts.rejects ? { rejectsFile: opts.rejects } : {}),
          onProgress: (line) => bar?.update(line),
        });
      } finally {
        bar?.stop();
        await store.close();
      }
      printResult(io, opts.json, report, () => humanReport(report, opts.rejects));
      if (!report.completed) {
        throw new RapportError('import_interrupted', `import stopped after line ${report.lastCommittedLine}; run the same command again to resume`);
      }
    });
};

function formatFromExtension(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl' || ext === '.json') return 'ndjson';
  throw new UsageError(`cannot tell the format of '${file}' from its extension; pass --format ndjson|csv`);
}

function buildMapping(opts: ImportFlags): CsvMapping {
  const base: CsvMapping = opts.mapping ? readCsvMapping(opts.mapping) : { type: 'track', properties: {}, traits: {} };
  const m: CsvMapping = { ...base, properties: { ...base.properties }, traits: { ...base.traits } };
  if (opts.type) m.type = opts.type as CsvMapping['type'];
  if (opts.userId) m.userId = opts.userId;
  if (opts.anonymousId) m.anonymousId = opts.anonymousId;
  if (opts.event) m.event = opts.event;
  if (opts.eventName) m.eventName = opts.eventName;
  if (opts.timestamp) m.timestamp = opts.timestamp;
  if (opts.messageId) m.messageId = opts.messageId;
  for (const p of opts.property) {
    const [name, col] = splitPair(p, '--property');
    m.properties[name] = col;
  }
  for (const t of opts.trait) {
    const [name, col] = splitPair(t, '--trait');
    m.traits[name] = col;
  }
  return m;
}

function splitPair(v: string, flag: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0 || i === v.length - 1) throw new UsageError(`${flag} expects NAME=COLUMN, got '${v}'`);
  return [v.slice(0, i), v.slice(i + 1)];
}

/** Line count for the progress bar (files bigger than 256 MB show bytes/100 as an estimate). */
function countLines(file: string, size: number): number {
  if (size > 256 * 1024 * 1024) return Math.ceil(size / 100);
  const buf = readFileSync(file);
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n + (buf.length > 0 && buf[buf.length - 1] !== 10 ? 1 : 0);
}

function humanReport(r: ImportReport, rejectsFile: string | undefined): string {
  if (r.alreadyImported) return `${r.file} was already imported completely (${r.imported} events); nothing to do`;
  const lines = [
    `${r.completed ? 'imported' : 'partially imported'} ${r.file} (${r.format})${r.resumedFrom > 0 ? `, resumed after line ${r.resumedFrom}` : ''}`,
    `  events appended: ${r.imported}, duplicates skipped: ${r.duplicates}, rejected lines: ${r.rejected}`,
  ];
  for (const x of r.rejects.slice(0, 20)) lines.push(`  line ${x.line}: ${x.code}: ${x.message}`);
  if (r.rejects.length > 20) lines.push(`  ... ${r.rejects.length - 20} more${rejectsFile ? ` in ${rejectsFile}` : ' (use --rejects FILE)'}`);
  return lines.join('\n');
}
