import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../domain/errors';

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Validated server configuration. */
export interface RapportConfig {
  port: number;
  host: string;
  /** Absolute path of the data directory (holds `rapport.db`). */
  dataDir: string;
  /** PostgreSQL URL (`--database-url` / `DATABASE_URL` / `databaseUrl:`): when set, all state lives there instead of `dataDir`'s SQLite file. */
  databaseUrl: string | null;
  logLevel: (typeof LOG_LEVELS)[number];
  /**
   * Which proxies in front of the server to believe about the client's address (`X-Forwarded-For`), which
   * sign-in throttling counts per address: false (none, the default), true (any), a number of hops, or a
   * list of addresses / CIDR ranges (`loopback`, `linklocal`, `uniquelocal` name the usual ranges).
   */
  trustProxy: boolean | number | string[];
  ingest: {
    maxEventBytes: number;
    maxRequestBytes: number;
    maxBatchEvents: number;
    /** Bound of the write queue; above it the API answers 429. */
    maxPendingEvents: number;
    retryAfterSeconds: number;
    dedupeWindowHours: number;
    /** Commit on a worker thread so fsync overlaps HTTP parsing (default true). */
    writerThread: boolean;
  };
  /** Path of the YAML file that was read, or null. */
  configFile: string | null;
  /** The whole YAML document as read (other components validate their own sections). */
  file: Record<string, unknown>;
}

/** Inputs of {@link loadConfig}; `overrides` are command-line flags and win over everything. */
export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Explicit `--config FILE`; must exist. Otherwise `rapport.config.yaml` in cwd is read when present. */
  configFile?: string;
  overrides?: Partial<{ port: string | number; host: string; dataDir: string; databaseUrl: string; logLevel: string; maxPendingEvents: string | number }>;
}

/** Default name of the optional config file in the working directory. */
export const CONFIG_FILE_NAME = 'rapport.config.yaml';

const int = (min: number, max: number) =>
  z.union([z.number(), z.string().trim().regex(/^-?\d+$/, 'not an integer').transform(Number)]).pipe(z.number().int().min(min).max(max));

const schema = z.object({
  port: int(0, 65535),
  host: z.string().min(1),
  dataDir: z.string().min(1),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\/\S+$/).nullable(),
  logLevel: z.enum(LOG_LEVELS),
  trustProxy: z.union([
    z.boolean(),
    z.number().int().min(1).max(32),
    z.array(z.string().trim().refine(isProxySpec)).min(1),
    z.string().trim().transform(parseTrustProxy).pipe(
      z.union([z.boolean(), z.number().int().min(1).max(32), z.array(z.string().refine(isProxySpec)).min(1)]),
    ),
  ]),
  ingest: z.object({
    maxEventBytes: int(1, 16 * 1024 * 1024),
    maxRequestBytes: int(1, 256 * 1024 * 1024),
    maxBatchEvents: int(1, 1_000_000),
    maxPendingEvents: int(1, 100_000_000),
    retryAfterSeconds: int(1, 3600),
    dedupeWindowHours: int(1, 24 * 365),
    writerThread: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]),
  }),
});

/** What each key allows, for error messages. */
const ALLOWED: Record<string, string> = {
  port: 'an integer from 0 to 65535 (0 = any free port)',
  host: 'a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0',
  dataDir: 'a directory path',
  databaseUrl: 'a postgres:// or postgresql:// URL',
  logLevel: `one of ${LOG_LEVELS.join(', ')}`,
  trustProxy: 'false, true, a number of proxy hops (1-32), or a comma-separated list of IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal)',
  'ingest.maxEventBytes': 'a positive integer (bytes)',
  'ingest.maxRequestBytes': 'a positive integer (bytes)',
  'ingest.maxBatchEvents': 'a positive integer',
  'ingest.maxPendingEvents': 'a positive integer (events)',
  'ingest.retryAfterSeconds': 'an integer from 1 to 3600',
  'ingest.dedupeWindowHours': 'a positive integer (hours)',
  'ingest.writerThread': 'true or false',
};

const DEFAULTS = {
  port: 4100,
  host: '127.0.0.1',
  dataDir: './data',
  databaseUrl: null,
  logLevel: 'info',
  trustProxy: false,
  ingest: {
    maxEventBytes: 32 * 1024,
    maxRequestBytes: 500 * 1024,
    maxBatchEvents: 2500,
    maxPendingEvents: 100_000,
    retryAfterSeconds: 1,
    dedupeWindowHours: 24,
    writerThread: true,
  },
};

/** Environment variables and the config key each sets. */
const ENV_KEYS: ReadonlyArray<[string, string[]]> = [
  ['PORT', ['port']],
  ['RAPPORT_HOST', ['host']],
  ['RAPPORT_DATA_DIR', ['dataDir']],
  ['DATABASE_URL', ['databaseUrl']],
  ['RAPPORT_LOG_LEVEL', ['logLevel']],
  ['RAPPORT_TRUST_PROXY', ['trustProxy']],
  ['RAPPORT_MAX_PENDING_EVENTS', ['ingest', 'maxPendingEvents']],
  ['RAPPORT_WRITER_THREAD', ['ingest', 'writerThread']],
];

type Origin = { kind: 'default' } | { kind: 'file' } | { kind: 'env'; name: string } | { kind: 'flag'; name: string };

/**
 * Builds the configuration: defaults < rapport.config.yaml < environment < flags, validated with zod.
 * Throws {@link ConfigError} naming the key, where the bad value came from (file:line:column,
 * env variable or flag) and what is allowed.
 */
export function loadConfig(opts: LoadConfigOptions = {}): RapportConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const merged: Record<string, unknown> = structuredClone(DEFAULTS);
  const origins = new Map<string, Origin>();

  let file: string | null = null;
  let fileData: Record<string, unknown> = {};
  type Locate = (path: readonly PropertyKey[]) => { line: number; column: number } | undefined;
  let locate: Locate = () => undefined;
  let locateKey: Locate = () => undefined;
  if (opts.configFile) {
    file = isAbsolute(opts.configFile) ? opts.configFile : resolve(cwd, opts.configFile);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`);
  } else if (existsSync(resolve(cwd, CONFIG_FILE_NAME))) {
    file = resolve(cwd, CONFIG_FILE_NAME);
  }
  if (file) {
    const parsed = readYamlFile(file);
    fileData = parsed.data;
    locate = parsed.locate;
    locateKey = parsed.locateKey;
    for (const key of ['port', 'host', 'dataDir', 'databaseUrl', 'logLevel', 'trustProxy']) {
      if (key in fileData) {
        merged[key] = fileData[key];
        origins.set(key, { kind: 'file' });
      }
    }
    const ing = fileData.ingest;
    if (ing !== undefined) {
      if (ing === null || typeof ing !== 'object' || Array.isArray(ing)) {
        const pos = locate(['ingest']);
        throw new ConfigError(`'ingest' must be a mapping of ingest settings`, { file, ...pos });
      }
      for (const [k, v] of Object.entries(ing)) {
        if (!(k in DEFAULTS.ingest)) {
          const pos = locateKey(['ingest', k]);
          throw new ConfigError(`unknown key 'ingest.${k}'; allowed: ${Object.keys(DEFAULTS.ingest).join(', ')}`, { file, ...pos });
        }
        (merged.ingest as Record<string, unknown>)[k] = v;
        origins.set(`ingest.${k}`, { kind: 'file' });
      }
    }
  }
  for (const [name, path] of ENV_KEYS) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(merged, path, v);
    origins.set(path.join('.'), { kind: 'env', name });
  }
  const flagNames: Record<string, [string, string[]]> = {
    port: ['--port', ['port']],
    host: ['--host', ['host']],
    dataDir: ['--data', ['dataDir']],
    databaseUrl: ['--database-url', ['databaseUrl']],
    logLevel: ['--log-level', ['logLevel']],
    maxPendingEvents: ['--max-pending-events', ['ingest', 'maxPendingEvents']],
  };
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    const f = flagNames[k];
    if (v === undefined || !f) continue;
    setPath(merged, f[1], v);
    origins.set(f[1].join('.'), { kind: 'flag', name: f[0] });
  }

  const r = schema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    // An issue inside a value (an element of a list) is reported for its key, with the value as given.
    let path = issue.path.map(String);
    while (path.length > 1 && ALLOWED[path.join('.')] === undefined) path = path.slice(0, -1);
    const key = path.join('.');
    const origin = origins.get(key) ?? { kind: 'default' };
    const raw = getPath(merged, path);
    // A database URL may carry a password: never echo it.
    const value = key === 'databaseUrl' && typeof raw === 'string' ? raw.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') : raw;
    const allowed = ALLOWED[key] ?? issue.message;
    const what = `invalid value ${JSON.stringify(value)} for '${key}': expected ${allowed}`;
    if (origin.kind === 'file') throw new ConfigError(what, { file: file ?? undefined, ...(locate(issue.path) ?? locate(path)) });
    if (origin.kind === 'env') throw new ConfigError(`environment variable ${origin.name}: ${what}`);
    if (origin.kind === 'flag') throw new ConfigError(`option ${origin.name}: ${what}`);
    throw new ConfigError(what);
  }
  const c = r.data;
  return {
    ...c,
    dataDir: resolve(cwd, c.dataDir),
    configFile: file,
    file: fileData,
  };
}

/** `trustProxy` as written in an env variable or YAML string: true/false, a hop count, or a comma-separated list. */
function parseTrustProxy(v: string): boolean | number | string[] {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((p) => p.trim());
}

/** An IP address, a CIDR range (address/prefix) or one of proxy-addr's named ranges. */
function isProxySpec(v: string): boolean {
  if (v === 'loopback' || v === 'linklocal' || v === 'uniquelocal') return true;
  const [addr, prefix, ...rest] = v.split('/');
  if (rest.length > 0 || !addr) return false;
  const kind = isIP(addr);
  if (kind === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (kind === 4 ? 32 : 128);
}

/** Reads a YAML file; syntax errors become ConfigError with file:line:column. `locate` maps a key path to its position. */
export function readYamlFile(file: string): {
  data: Record<string, unknown>;
  locate: (path: readonly PropertyKey[]) => { line: number; column: number } | undefined;
  locateKey: (path: readonly PropertyKey[]) => { line: number; column: number } | undefined;
} {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${(err as Error).message}`, { file });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw new ConfigError(`YAML syntax error: ${first.message.split('\n')[0]}; fix the syntax at this position`, {
      file,
      line: pos?.line,
      column: pos?.col,
    });
  }
  const data = doc.toJS() as unknown;
  if (data === null || data === undefined) return { data: {}, locate: () => undefined, locateKey: () => undefined };
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError('the config file must be a YAML mapping (key: value lines)', { file, line: 1, column: 1 });
  }
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate = (path: readonly PropertyKey[]) => {
    const node = doc.getIn(path.map(String), true);
    if (!isNode(node) || !node.range) return undefined;
    return at(node.range[0]);
  };
  /** Position of the key itself (for unknown-key errors). */
  const locateKey = (path: readonly PropertyKey[]) => {
    const parent = path.length > 1 ? doc.getIn(path.slice(0, -1).map(String), true) : doc.contents;
    if (!isMap(parent)) return locate(path);
    const last = String(path[path.length - 1]);
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last);
    const key = pair?.key;
    return isNode(key) && key.range ? at(key.range[0]) : locate(path);
  };
  return { data: data as Record<string, unknown>, locate, locateKey };
}

function setPath(o: Record<string, unknown>, path: readonly string[], v: unknown): void {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) cur = cur[path[i] as string] as Record<string, unknown>;
  cur[path[path.length - 1] as string] = v;
}

function getPath(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const p of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}
