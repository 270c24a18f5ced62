import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { loadConfig, type LoadConfigOptions } from '../../src/app/config';
import { createApp, type App, type AppDeps } from '../../src/app/create-app';

/** Repository root (for spawning bin/rapport.mjs). */
export const ROOT = resolve(import.meta.dirname, '../..');

/** A fresh temporary directory; remove it with `rmSync(dir, {recursive: true})`. */
export function tempDir(prefix = 'rapport-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real app on an ephemeral port with a fresh data dir and one source. */
export interface TestServer {
  app: App;
  url: string;
  dataDir: string;
  writeKey: string;
  sourceId: string;
  close(): Promise<void>;
}

/** Starts the real app (real SQLite file, real HTTP) with a silent logger. */
export async function startTestServer(
  overrides: LoadConfigOptions['overrides'] = {},
  deps: AppDeps = {},
): Promise<TestServer> {
  const dataDir = tempDir();
  const config = loadConfig({ cwd: dataDir, env: {}, overrides: { port: 0, dataDir, ...overrides } });
  const app = await createApp(config, { logger: pino({ level: 'silent' }), ...deps });
  const { source, writeKey } = await app.keyStore.createSource('test', Date.now());
  const { url } = await app.start();
  return {
    app,
    url,
    dataDir,
    writeKey,
    sourceId: source.id,
    close: async () => {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `Authorization: Basic base64(writeKey + ":")`. */
export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** POSTs JSON (or raw text) with a write key; returns status, headers and parsed body. */
export async function post(
  url: string,
  body: unknown,
  opts: { writeKey?: string; raw?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.writeKey) headers.authorization = basicAuth(opts.writeKey);
  const res = await fetch(url, { method: 'POST', headers, body: opts.raw ? (body as string) : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** A `rapport` child process. */
export interface ChildServer {
  proc: ChildProcessWithoutNullStreams;
  url: string;
  pid: number;
  stderr: () => string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node bin/rapport.mjs start --port 0 --data DIR ...` and waits for its JSON "listening" line. */
export async function spawnServer(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/rapport.mjs'), 'start', '--port', '0', '--data', dataDir, '--log-level', 'warn', ...args], {
    cwd: dataDir,
    env: { ...process.env, ...env },
  });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  const rl = createInterface({ input: proc.stdout });
  const url = await new Promise<string>((res, rej) => {
    rl.once('line', (line) => {
      try {
        res((JSON.parse(line) as { url: string }).url);
      } catch (e) {
        rej(e as Error);
      }
    });
    void exited.then(({ code }) => rej(new Error(`server exited (${code}) before listening: ${err}`)));
  });
  return { proc, url, pid: proc.pid as number, stderr: () => err, exited };
}

/** Runs `rapport ...` as a child process and collects its output. */
export async function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/rapport.mjs'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => proc.on('exit', (c) => res(c)));
  return { code, stdout, stderr };
}
