import { Option, type Command } from 'commander';
import pino, { type Logger } from 'pino';
import { loadConfig, type RapportConfig } from '../../app/config';
import { RapportError } from '../../domain/errors';
import { createApp } from '../../app/create-app';
import { defaultExtensions } from '../../app/default-extensions';
import type { RoleHandle } from '../../app/roles/role-handle';
import { loadScaleConfig, type ScaleConfig } from '../../app/scale-config';
import { dataOption, databaseUrlOption, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** Roles `rapport start --role` runs. `all` is the single-process server (embedded store, or PostgreSQL without NATS). */
export const ROLES = ['all', 'ingest', 'worker', 'dispatcher', 'api'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

interface StartOptions {
  port?: string;
  host?: string;
  data: string;
  config?: string;
  logLevel?: string;
  maxPendingEvents?: string;
  role: string;
  databaseUrl?: string;
  natsUrl?: string;
}

/** `rapport start`: runs the server (or one scaled-out role) until SIGTERM/SIGINT, then shuts down gracefully. */
export const registerStartCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('start')
    .description('run the server (Segment tracking API, admin API) on the embedded store, or one role of the scaled-out mode')
    .addOption(new Option('--role <role>', 'all (one process) | ingest | worker | dispatcher | api (scaled out: need --database-url and --nats-url)').default('all'))
    .addOption(new Option('--port <n>', 'port to listen on (env PORT, default 4100; 0 = any free port)'))
    .addOption(new Option('--host <host>', 'interface to listen on (env RAPPORT_HOST, default 127.0.0.1)'))
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(new Option('--nats-url <url>', 'NATS server URL(s), comma-separated (scaled-out roles)').env('NATS_URL'))
    .addOption(new Option('--config <file>', 'config file (default: rapport.config.yaml in the working directory, if present)'))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env RAPPORT_LOG_LEVEL)'))
    .addOption(new Option('--max-pending-events <n>', 'write queue bound (ingest: events in flight); above it requests get 429 (env RAPPORT_MAX_PENDING_EVENTS)'))
    .addHelpText(
      'after',
      '\nPrints one JSON line {"event":"listening","url":...} on stdout once listening; logs go to stderr.\n' +
        'Scaled-out roles: `ingest` (stateless Segment API → NATS JetStream), `worker` (stream → PostgreSQL, processing),\n' +
        '`dispatcher` (playbook planning and delivery), `api` (admin API and dashboard, read side). Each serves /healthz, /readyz\n' +
        'and /metrics on --port. See docs/deploy.md.',
    )
    .action(async (opts: StartOptions, cmd: Command) => {
      const role = opts.role as Role;
      if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got '${opts.role}'`);
      // --data has commander's env/default handling; only an explicit flag overrides the config file.
      const dataFromFlag = cmd.getOptionValueSource('data') === 'cli';
      const config = loadConfig({
        env: io.env,
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: {
          port: opts.port,
          host: opts.host,
          dataDir: dataFromFlag ? opts.data : undefined,
          databaseUrl: cmd.getOptionValueSource('databaseUrl') === 'cli' ? opts.databaseUrl : undefined,
          logLevel: opts.logLevel,
          maxPendingEvents: opts.maxPendingEvents,
        },
      });
      if (role === 'all') {
        // With --database-url / DATABASE_URL (config.databaseUrl) the all-in-one server runs on PostgreSQL.
        await runAll(config, io);
        return;
      }
      // Flag, DATABASE_URL or `databaseUrl:` in the config file, validated by loadConfig.
      const databaseUrl = config.databaseUrl;
      if (!databaseUrl) throw new UsageError(`--role ${role} needs --database-url (or DATABASE_URL): scaled-out roles keep their state in PostgreSQL`);
      const scale = loadScaleConfig(config, { env: io.env, ...(opts.natsUrl ? { natsUrl: opts.natsUrl } : {}) });
      if (!scale.natsUrl) throw new UsageError(`--role ${role} needs --nats-url (or NATS_URL): scaled-out roles exchange events through NATS JetStream`);
      const logger = pino({ level: config.logLevel, base: { role } }, pino.destination({ fd: 2, sync: false }));
      let handle: RoleHandle;
      try {
        handle = await startRole(role, config, scale, databaseUrl, scale.natsUrl, logger, io.env);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') throw new RapportError('listen_failed', `cannot listen on ${config.host}:${config.port}: ${code}`);
        throw err;
      }
      io.stdout(JSON.stringify({ event: 'listening', role, url: handle.url ?? null, pid: process.pid }) + '\n');
      await untilSignal(logger, () => handle.stop());
    });
};

/** Starts one scaled-out role. The role modules load on demand: `--role all` never pulls in NATS. */
async function startRole(role: Exclude<Role, 'all'>, config: RapportConfig, scale: ScaleConfig, databaseUrl: string, natsUrl: string, logger: Logger, env: NodeJS.ProcessEnv): Promise<RoleHandle> {
  const stream = {
    partitions: scale.partitions,
    stream: scale.stream,
    subjectPrefix: scale.subjectPrefix,
    replicas: scale.replicas,
    maxAgeMs: scale.maxAgeHours * 3_600_000,
  };
  const common = { databaseUrl, natsUrl, port: config.port, host: config.host, stream, logger };
  if (role === 'ingest') {
    const { startIngestRole } = await import('../../app/roles/ingest-role');
    return startIngestRole({
      ...common,
      limits: { maxEventBytes: config.ingest.maxEventBytes, maxRequestBytes: config.ingest.maxRequestBytes, maxBatchEvents: config.ingest.maxBatchEvents },
      maxInFlightEvents: config.ingest.maxPendingEvents,
      retryAfterSeconds: config.ingest.retryAfterSeconds,
    });
  }
  if (role === 'api') {
    const { startApiRole } = await import('../../app/roles/api-role');
    return startApiRole({ config, natsUrl, stream, logger, env });
  }
  if (role === 'dispatcher') {
    const { startDispatcherRole } = await import('../../app/roles/dispatcher-role');
    return startDispatcherRole({ ...common, dataDir: config.dataDir, mapping: config.file['mapping'], configFile: config.configFile, env });
  }
  const { startWorkerRole } = await import('../../app/roles/worker-role');
  return startWorkerRole({ ...common, config });
}

/** Today's single-process server on the embedded store. */
async function runAll(config: RapportConfig, io: CliIo): Promise<void> {
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
  await untilSignal(app.logger, () => app.stop());
}

/** Resolves after SIGTERM or SIGINT once `stop` finished (exit code 1 when it failed). */
function untilSignal(logger: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ signal }, 'shutting down');
      stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
