import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, closeSync, fsyncSync, renameSync, statSync, writeFileSync, readFileSync, existsSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { z } from 'zod';
import { ConfigError, RapportError, ValidationError } from '../domain/errors';
import type { StoredEvent } from '../domain/event';
import type { Clock } from '../ports/clock';
import type { EventLog } from '../ports/event-log';
import { parseBody } from './parse-body';
import { prepareEvent, type IngestLimits } from './prepare-request';
import type { NormaliseContext } from './normalise-event';
import { readYamlFile } from '../app/config';

/** How CSV columns become a Segment message. Values are column names, except `eventName` (a constant). */
export interface CsvMapping {
  type: 'track' | 'identify';
  userId?: string;
  anonymousId?: string;
  /** Column holding the track event name. */
  event?: string;
  /** Constant event name when there is no column. */
  eventName?: string;
  timestamp?: string;
  messageId?: string;
  /** property name -> column */
  properties: Record<string, string>;
  /** trait name -> column */
  traits: Record<string, string>;
}

/** Schema of a `--mapping FILE.yaml`. */
export const csvMappingSchema = z.strictObject({
  type: z.enum(['track', 'identify']).default('track'),
  userId: z.string().min(1).optional(),
  anonymousId: z.string().min(1).optional(),
  event: z.string().min(1).optional(),
  eventName: z.string().min(1).optional(),
  timestamp: z.string().min(1).optional(),
  messageId: z.string().min(1).optional(),
  properties: z.record(z.string(), z.string().min(1)).default({}),
  traits: z.record(z.string(), z.string().min(1)).default({}),
});

/** Reads and validates a mapping YAML file; errors name file:line:column. */
export function readCsvMapping(file: string): CsvMapping {
  const { data, locate, locateKey } = readYamlFile(file);
  const r = csvMappingSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    const key = issue.path.map(String).join('.') || '(top level)';
    const unknown = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
    const pos = issue.code === 'unrecognized_keys' ? locateKey([...issue.path, issue.keys[0] as string]) : locate(issue.path);
    throw new ConfigError(
      `mapping '${key}': ${issue.message}${unknown}; allowed keys: type (track|identify), userId, anonymousId, event, eventName, timestamp, messageId, properties {name: column}, traits {name: column}`,
      { file, ...pos },
      'invalid_mapping',
    );
  }
  return r.data as CsvMapping;
}

/** One rejected line of an import. */
export interface ImportReject {
  line: number;
  code: string;
  message: string;
}

/** Result of an import run. */
export interface ImportReport {
  file: string;
  format: 'ndjson' | 'csv';
  /** Line the run started after (0 = from the beginning). */
  resumedFrom: number;
  /** Last line committed (the resume point). */
  lastCommittedLine: number;
  /** Totals over all runs of this file (including earlier interrupted ones). */
  imported: number;
  duplicates: number;
  rejected: number;
  /** Rejections found in this run. */
  rejects: ImportReject[];
  completed: boolean;
  /** The file (same path, size and mtime) had been imported completely before; nothing was done. */
  alreadyImported: boolean;
}

/** Inputs of {@link importFile}. */
export interface ImportOptions {
  file: string;
  format: 'ndjson' | 'csv';
  mapping?: CsvMapping;
  delimiter?: string;
  eventLog: EventLog;
  clock: Clock;
  /** Where progress records live (`<dataDir>/imports/`). */
  dataDir: string;
  dedupeWindowMs: number;
  limits: IngestLimits;
  /** Lines per all-or-nothing chunk. */
  chunkSize: number;
  /** Test hook: stop (as if interrupted) once at least this many lines were committed in this run. */
  stopAfter?: number;
  /** Rejected lines are appended here (NDJSON) as their chunk commits. */
  rejectsFile?: string;
  /** Called after each committed chunk with the last committed line. */
  onProgress?: (line: number) => void;
}

interface ProgressRecord {
  file: string;
  size: number;
  mtimeMs: number;
  lastCommittedLine: number;
  imported: number;
  duplicates: number;
  rejected: number;
  completed: boolean;
}

/** One input unit: its first and last line numbers, raw text and decoded message (or a reject). */
interface Unit {
  line: number;
  endLine: number;
  raw: string;
  message: unknown;
  reject?: { code: string; message: string };
}

/** Identity of an input file for progress records: hash of absolute path + size + mtime. */
export function fileKey(file: string): { key: string; size: number; mtimeMs: number; path: string } {
  const path = resolve(file);
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new RapportError('unreadable_file', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!st.isFile()) throw new RapportError('unreadable_file', `${path} is not a file`);
  const key = createHash('sha256').update(`${path}\n${st.size}\n${st.mtimeMs}`).digest('hex').slice(0, 32);
  return { key, size: st.size, mtimeMs: st.mtimeMs, path };
}

/** messageId for a line without one: stable across re-runs (line number + line content). */
export function derivedMessageId(line: number, raw: string): string {
  return `imp-${createHash('sha256').update(`${line}\n${raw}`).digest('hex').slice(0, 32)}`;
}

/**
 * Imports an NDJSON (Segment messages) or CSV file into the event log through the same
 * validate/normalise steps as HTTP (sourceId 'import'). Commits in chunks, each all-or-nothing;
 * the resume point (a progress record in `<dataDir>/imports/`) moves only after a committed chunk,
 * so an interrupted import resumes where it stopped and a re-run never duplicates events.
 * Fatal problems (unreadable file, mapping naming missing columns) throw before anything is committed.
 */
export async function importFile(opts: ImportOptions): Promise<ImportReport> {
  const id = fileKey(opts.file);
  // Readability check up front: a fatal error must come before any commit.
  try {
    closeSync(openSync(id.path, 'r'));
  } catch (err) {
    throw new RapportError('unreadable_file', `cannot read ${id.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (opts.format === 'csv') checkMappingShape(opts.mapping);
  const dir = join(opts.dataDir, 'imports');
  const recordFile = join(dir, `${id.key}.json`);
  const previous = existsSync(recordFile) ? (JSON.parse(readFileSync(recordFile, 'utf8')) as ProgressRecord) : null;
  const progress: ProgressRecord = previous ?? {
    file: id.path,
    size: id.size,
    mtimeMs: id.mtimeMs,
    lastCommittedLine: 0,
    imported: 0,
    duplicates: 0,
    rejected: 0,
    completed: false,
  };
  const report = (rejects: ImportReject[], resumedFrom: number, alreadyImported: boolean): ImportReport => ({
    file: id.path,
    format: opts.format,
    resumedFrom,
    lastCommittedLine: progress.lastCommittedLine,
    imported: progress.imported,
    duplicates: progress.duplicates,
    rejected: progress.rejected,
    rejects,
    completed: progress.completed,
    alreadyImported,
  });
  if (progress.completed) return report([], progress.lastCommittedLine, true);

  const resumedFrom = progress.lastCommittedLine;
  if (opts.rejectsFile && resumedFrom === 0) writeFileSync(opts.rejectsFile, '');
  const allRejects: ImportReject[] = [];
  let chunk: Unit[] = [];
  let linesThisRun = 0;

  const commitChunk = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const receivedAt = opts.clock.now();
    const events: StoredEvent[] = [];
    const rejects: ImportReject[] = [];
    for (const u of chunk) {
      if (u.reject) {
        rejects.push({ line: u.line, ...u.reject });
        continue;
      }
      const ctx: NormaliseContext = {
        receivedAt,
        sentAt: null,
        batchContext: null,
        batchIntegrations: null,
        sourceId: 'import',
        newMessageId: () => derivedMessageId(u.line, u.raw),
      };
      const r = prepareEvent(u.message, opts.format === 'csv' ? (opts.mapping as CsvMapping).type : undefined, ctx, opts.limits.maxEventBytes);
      if (r.kind === 'ok') events.push(r.value);
      else if (r.kind === 'reject') rejects.push({ line: u.line, code: r.code, message: r.message });
    }
    const outcomes = await opts.eventLog.append(events, { now: receivedAt, dedupeWindowMs: opts.dedupeWindowMs });
    const accepted = outcomes.filter((o) => 'seq' in o).length;
    progress.imported += accepted;
    progress.duplicates += outcomes.length - accepted;
    progress.rejected += rejects.length;
    progress.lastCommittedLine = (chunk[chunk.length - 1] as Unit).endLine;
    if (opts.rejectsFile && rejects.length > 0) {
      appendFileSync(opts.rejectsFile, rejects.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
    allRejects.push(...rejects);
    writeRecord(dir, recordFile, progress);
    linesThisRun += chunk.length;
    chunk = [];
    opts.onProgress?.(progress.lastCommittedLine);
  };

  const units = opts.format === 'ndjson' ? readNdjson(id.path) : readCsv(id.path, opts.mapping as CsvMapping, opts.delimiter);
  for await (const u of units) {
    if (u.endLine <= resumedFrom) continue;
    chunk.push(u);
    if (chunk.length >= opts.chunkSize) {
      await commitChunk();
      if (opts.stopAfter !== undefined && linesThisRun >= opts.stopAfter) return report(allRejects, resumedFrom, false);
    }
  }
  await commitChunk();
  progress.completed = true;
  writeRecord(dir, recordFile, progress);
  return report(allRejects, resumedFrom, false);
}

/** Writes the progress record atomically (temp file, fsync, rename). */
function writeRecord(dir: string, file: string, rec: ProgressRecord): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, JSON.stringify(rec, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

async function* readNdjson(path: string): AsyncGenerator<Unit> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    const r = parseBody(text);
    if (r.kind === 'ok') yield { line, endLine: line, raw: text, message: r.value };
    else yield { line, endLine: line, raw: text, message: null, reject: { code: 'invalid_json', message: r.kind === 'reject' ? r.message : 'invalid JSON' } };
  }
}

function checkMappingShape(m: CsvMapping | undefined): void {
  if (!m) throw new ValidationError('CSV import needs a mapping: --mapping FILE.yaml or --user-id/--event/... flags', undefined, 'invalid_mapping');
  if (!m.userId && !m.anonymousId) throw new ValidationError('CSV mapping needs a userId or anonymousId column (--user-id COL)', undefined, 'invalid_mapping');
  if (m.type === 'track' && !m.event && !m.eventName) {
    throw new ValidationError('CSV mapping for track needs an event column (--event COL) or a constant name (--event-name NAME)', undefined, 'invalid_mapping');
  }
}

function mappedColumns(m: CsvMapping): string[] {
  const cols = [m.userId, m.anonymousId, m.event, m.timestamp, m.messageId, ...Object.values(m.properties), ...Object.values(m.traits)];
  return cols.filter((c): c is string => typeof c === 'string');
}

async function* readCsv(path: string, m: CsvMapping, delimiter = ','): AsyncGenerator<Unit> {
  const parser = createReadStream(path).pipe(
    parseCsv({ columns: true, info: true, raw: true, bom: true, skip_empty_lines: true, delimiter, relax_column_count: true }),
  );
  let checked = false;
  for await (const rec of parser as AsyncIterable<{ record: Record<string, string>; raw: string; info: { lines: number; columns?: Array<{ name: string }> } }>) {
    if (!checked) {
      const have = new Set((rec.info.columns ?? []).map((c) => c.name));
      const missing = mappedColumns(m).filter((c) => !have.has(c));
      if (missing.length > 0) {
        parser.destroy();
        throw new ValidationError(
          `mapping names column(s) not in the CSV header: ${missing.join(', ')}; header has: ${[...have].join(', ')}`,
          undefined,
          'invalid_mapping',
        );
      }
      checked = true;
    }
    const raw = rec.raw;
    const extra = raw.replace(/\r?\n$/, '').split('\n').length - 1;
    yield { line: rec.info.lines - extra, endLine: rec.info.lines, raw, message: csvMessage(rec.record, m) };
  }
}

function csvMessage(row: Record<string, string>, m: CsvMapping): Record<string, unknown> {
  const get = (col: string | undefined) => (col === undefined ? undefined : nonEmpty(row[col]));
  const msg: Record<string, unknown> = { type: m.type };
  const put = (k: string, v: unknown) => {
    if (v !== undefined) msg[k] = v;
  };
  put('userId', get(m.userId));
  put('anonymousId', get(m.anonymousId));
  put('event', get(m.event) ?? m.eventName);
  put('timestamp', get(m.timestamp));
  put('messageId', get(m.messageId));
  const props: Record<string, unknown> = {};
  for (const [name, col] of Object.entries(m.properties)) {
    const v = get(col);
    if (v !== undefined) props[name] = typed(v);
  }
  const traits: Record<string, unknown> = {};
  for (const [name, col] of Object.entries(m.traits)) {
    const v = get(col);
    if (v !== undefined) traits[name] = typed(v);
  }
  msg.properties = props;
  msg.traits = traits;
  return msg;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** CSV cells are text; plain numbers and true/false become JSON numbers/booleans (leading zeros stay text). */
function typed(v: string): unknown {
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
}
