import { Option, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../../app/config';
import { createApp } from '../../app/create-app';
import { defaultExtensions } from '../../app/default-extensions';
import { RapportError } from '../../domain/errors';
import { simulate } from '../../sim/simulate';
import { streamToServer } from '../../sim/stream-to-server';
import type { SegmentMessage } from '../../sim/types';
import { parsePositiveInt, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';
import { generatePassword } from '../../http/session-auth';

const DAY = 86_400_000;
const DEMO_USER = 'demo@rapport.local';

interface DemoOptions {
  port?: string;
  host?: string;
  data: string;
  customers: number;
  days: number;
  seed: number;
  live: number;
  speed: string;
  logLevel: string;
}

function* split(messages: Iterable<SegmentMessage>, before: number, part: 'history' | 'live'): Generator<SegmentMessage> {
  for (const m of messages) {
    const t = Date.parse(m.timestamp);
    if (part === 'history' ? t < before : t >= before) yield m;
  }
}

/**
 * `rapport demo` (also `npm run demo`): starts the server on a separate demo database, streams the
 * history of simulated customers through the real Segment API, then keeps streaming the last days in
 * accelerated time so a newcomer sees customers arrive, get classified and change type.
 */
export const registerDemoCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('demo')
    .description('run the server on a demo database and stream simulated customers into it, live')
    .addOption(new Option('--port <n>', 'port to listen on (env PORT, default 4100)'))
    .addOption(new Option('--host <host>', 'interface to listen on (default 127.0.0.1)'))
    .addOption(new Option('--data <dir>', 'demo data directory (kept apart from ./data)').default('./data-demo'))
    .option('--customers <n>', 'simulated customers', parsePositiveInt('--customers'), 2000)
    .option('--days <n>', 'simulated days of history', parsePositiveInt('--days'), 365)
    .option('--seed <n>', 'simulation seed', parsePositiveInt('--seed'), 7)
    .option('--live <days>', 'last days streamed in accelerated time', parsePositiveInt('--live'), 30)
    .option('--speed <seconds>', 'real seconds per simulated day in the live part', '20')
    .option('--log-level <level>', 'server log level', 'warn')
    .action(async (o: DemoOptions) => {
      const speed = Number(o.speed);
      if (!Number.isFinite(speed) || speed <= 0) throw new RapportError('usage', '--speed must be a positive number of seconds');
      // The demo always runs on its own embedded database, never on a DATABASE_URL from the environment.
      const config = loadConfig({
        env: { ...io.env, DATABASE_URL: undefined },
        overrides: { port: o.port, host: o.host, dataDir: o.data, logLevel: o.logLevel },
      });
      const ext = defaultExtensions(config, { examplePlaybooks: true, env: io.env });
      const app = await createApp(config, { extensions: ext.list });
      const { url } = await app.start();
      const now = app.clock.now();
      const { writeKey } = await app.keyStore.createSource(`demo ${new Date(now).toISOString()}`, now);
      const { secret } = await app.keyStore.createToken('demo', now);
      // A dashboard user for this run (the password is new each time; earlier demo users are replaced).
      const users = app.store.userStore;
      const password = generatePassword();
      await users.removeUser(DEMO_USER);
      await users.addUser(DEMO_USER, 'admin', password, now);
      io.stdout(
        [
          `Rapport demo listening on ${url}  (data: ${config.dataDir})`,
          `  dashboard:        ${url}  — sign in as ${DEMO_USER} / ${password}`,
          `  admin API token:  ${secret}`,
          `  try:  curl -H 'Authorization: Bearer ${secret}' ${url}/api/lenses/fournier/distribution`,
          `  write key:        ${writeKey}`,
          `Streaming ${o.customers} simulated customers (${o.days} days of history, then the last ${o.live} days live)...`,
          '',
        ].join('\n'),
      );
      const start = Math.floor(now / DAY) * DAY - o.days * DAY;
      const sim = simulate({ customers: o.customers, days: o.days, seed: o.seed, start });
      const liveFrom = sim.end - o.live * DAY;
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const bar = new SingleBar({ format: 'history |{bar}| {value} events', stream: process.stderr }, Presets.shades_classic);
      bar.start(0, 0);
      try {
        const history = await streamToServer(
          { url, writeKey, messages: split(sim.messages(), liveFrom, 'history'), batchSize: 500, signal: controller.signal, onProgress: (p) => bar.update(p.sent) },
        );
        bar.stop();
        io.stdout(`history streamed: ${history.sent} events; now live (${speed} s per simulated day, Ctrl-C to stop)\n`);
        await streamToServer({ url, writeKey, messages: split(sim.messages(), liveFrom, 'live'), speed, signal: controller.signal });
        if (!controller.signal.aborted) {
          io.stdout('simulation finished; the server keeps running (Ctrl-C to stop)\n');
          await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve()));
        }
      } catch (err) {
        bar.stop();
        if (!controller.signal.aborted) throw err;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await app.stop();
      }
    });
};
