import type { Command } from 'commander';
import { openAppStore } from '../../app/app-store';
import { NotFoundError } from '../../domain/errors';
import { isoTime } from '../../domain/event';
import { systemClock } from '../../ports/clock';
import { dataOption, databaseUrlOption, jsonOption, printResult, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** `rapport sources add|list|revoke`: sources and their write keys. */
export const registerSourcesCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const sources = program.command('sources').description('manage sources (producers of events) and their write keys');
  sources
    .command('add')
    .description('create a source and print its write key (shown once; only its hash is stored)')
    .argument('<name>', 'source name, e.g. web or backend')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const { source, writeKey } = await store.keyStore.createSource(name, systemClock.now());
        printResult(io, opts.json, { source, writeKey }, () => `source ${source.name} (${source.id})\nwrite key: ${writeKey}\nKeep it now: it cannot be shown again.`);
      } finally {
        await store.close();
      }
    });
  sources
    .command('list')
    .description('list sources')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const list = await store.keyStore.listSources();
        printResult(io, opts.json, { sources: list }, () =>
          list.length === 0
            ? 'no sources (create one with: rapport sources add NAME)'
            : list.map((s) => `${s.id}  ${s.name}  created ${isoTime(s.createdAt)}${s.revokedAt ? `  REVOKED ${isoTime(s.revokedAt)}` : ''}`).join('\n'),
        );
      } finally {
        await store.close();
      }
    });
  sources
    .command('revoke')
    .description('revoke a source by id or name; its write key stops working at once')
    .argument('<id-or-name>')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (idOrName: string, opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        if (!(await store.keyStore.revokeSource(idOrName, systemClock.now()))) throw new NotFoundError('active source', idOrName);
        printResult(io, opts.json, { revoked: idOrName }, () => `revoked source ${idOrName}`);
      } finally {
        await store.close();
      }
    });
  for (const c of sources.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
};
