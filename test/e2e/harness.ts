import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/app/config';
import { createApp, type App } from '../../src/app/create-app';
import { defaultExtensions } from '../../src/app/default-extensions';
import type { AutomationStore } from '../../src/ports/automation-store';
import type { UserRole } from '../../src/ports/user-store';
import { simulate } from '../../src/sim/simulate';
import { streamToServer } from '../../src/sim/stream-to-server';

/** Repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** A running full server with demo data and dashboard users. */
export interface DashboardServer {
  app: App;
  url: string;
  dataDir: string;
  writeKey: string;
  automation: AutomationStore;
  users: Record<UserRole, { email: string; password: string }>;
  /** Waits until the processor has processed every committed event. */
  caughtUp(): Promise<void>;
  /** POSTs a Segment batch with the write key. */
  send(batch: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts the full server (engine + automation + dashboard) on a fresh data dir and streams simulated customers into it. */
export async function startDashboardServer(opts: {
  customers: number;
  days: number;
  seed?: number;
  extra?: unknown[];
  env?: NodeJS.ProcessEnv;
  /** Environment the server's configuration is read from (e.g. RAPPORT_TRUST_PROXY). */
  configEnv?: NodeJS.ProcessEnv;
}): Promise<DashboardServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rapport-e2e-'));
  const config = loadConfig({ cwd: dataDir, env: opts.configEnv ?? {}, overrides: { port: 0, dataDir } });
  const defaults = defaultExtensions(config, { examplePlaybooks: true, env: { RAPPORT_SIGNING_SECRET: 'e2e-secret-0123456789abcdef', ...opts.env } });
  // The default extensions include the dashboard (with the engine's live lens registry).
  const extensions = defaults.list;
  const app = await createApp(config, { logger: pino({ level: 'silent' }), extensions });
  const { writeKey } = await app.keyStore.createSource('e2e', Date.now());
  const { url } = await app.start();
  const userStore = app.store.userStore;
  const users = {
    admin: { email: 'admin@example.com', password: 'admin-password-1' },
    editor: { email: 'editor@example.com', password: 'editor-password-1' },
    viewer: { email: 'viewer@example.com', password: 'viewer-password-1' },
  } satisfies Record<UserRole, { email: string; password: string }>;
  for (const [role, u] of Object.entries(users)) await userStore.addUser(u.email, role as UserRole, u.password, Date.now());

  const caughtUp = async () => {
    const last = () => app.eventLog.lastSeq();
    const deadline = Date.now() + 60_000;
    while ((await defaults.engineExtension.processor().checkpoint()) < (await last())) {
      if (Date.now() > deadline) throw new Error('the processor did not catch up within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const send = async (batch: unknown[]) => {
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ batch }),
    });
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  };

  const end = Date.now() - 86_400_000;
  const sim = simulate({ customers: opts.customers, days: opts.days, seed: opts.seed ?? 7, start: end - opts.days * 86_400_000 });
  await streamToServer({ url, writeKey, messages: sim.messages(), batchSize: 500 });
  if (opts.extra?.length) await send(opts.extra);
  await caughtUp();
  return {
    app,
    url,
    dataDir,
    writeKey,
    automation: app.store.automationStore,
    users,
    caughtUp,
    send,
    close: async () => {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
