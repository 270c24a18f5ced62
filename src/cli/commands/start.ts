import { Option, type Command } from 'commander';
import { loadConfig } from '../../app/config';
import { RapportError } from '../../domain/errors';
import { createApp } from '../../app/create-app';
import { defaultExtensions } from '../../app/default-extensions';
import { dataOption, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** `rapport start`: runs the HTTP server until SIGTERM/SIGINT, then shuts down gracefully. */
export const registerStartCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('start')
    .description('run the server (Segment tracking API, admin API) on the embedded store')
    .addOption(new Option('--port <n>', 'port to listen on (env PORT, default 4100; 0 = any free port)'))
    .addOption(new Option('--host <host>', 'interface to listen on (env RAPPORT_HOST, default 127.0.0.1)'))
    .addOption(dataOption())
    .addOption(new Option('--config <file>', 'config file (default: rapport.config.yaml in the working directory, if present)'))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env RAPPORT_LOG_LEVEL)'))
    .addOption(new Option('--max-pending-events <n>', 'write queue bound; above it requests get 429 (env RAPPORT_MAX_PENDING_EVENTS)'))
    .addHelpText('after', '\nPrints one JSON line {"url": ...} on stdout once listening; logs go to stderr.')
    .action(async (opts: { port?: string; host?: string; data: string; config?: string; logLevel?: string; maxPendingEvents?: string }, cmd: Command) => {
      // --data has commander's env/default handling; only an explicit flag overrides the config file.
      const dataFromFlag = cmd.getOptionValueSource('data') === 'cli';
      const config = loadConfig({
        env: io.env,
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: {
          port: opts.port,
          host: opts.host,
          dataDir: dataFromFlag ? opts.data : undefined,
          logLevel: opts.logLevel,
          maxPendingEvents: opts.maxPendingEvents,
        },
      });
      const app = await createApp(config, { extensions: defaultExtensions(config).list });
      let url: string;
      try {
        ({ url } = await app.start());
      } catch (err) {
        await app.stop();
        const code = (err as NodeJS.ErrnoException).code;
        throw new RapportError('listen_failed', `cannot listen on ${config.host}:${config.port}: ${code ?? (err as Error).message}`);
      }
      io.stdout(JSON.stringify({ event: 'listening', url, dataDir: config.dataDir, pid: process.pid }) + '\n');
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          app.logger.info({ signal }, 'shutting down');
          app.stop().then(resolve, (err: unknown) => {
            app.logger.error({ err }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    });
};
