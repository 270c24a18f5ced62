import type { Command } from 'commander';
import { openAppStore } from '../../app/app-store';
import { NotFoundError } from '../../domain/errors';
import { isoTime } from '../../domain/event';
import { systemClock } from '../../ports/clock';
import { dataOption, databaseUrlOption, jsonOption, printResult, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** `rapport tokens create|list|revoke`: admin API tokens (Authorization: Bearer ...). */
export const registerTokensCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const tokens = program.command('tokens').description('manage admin API tokens (Authorization: Bearer <token> on /api/*)');
  tokens
    .command('create')
    .description('create an admin token and print it (shown once; only its hash is stored)')
    .argument('[name]', 'a label for the token', 'admin')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const { token, secret } = await store.keyStore.createToken(name, systemClock.now());
        printResult(io, opts.json, { token, secret }, () => `token ${token.name} (${token.id})\n${secret}\nKeep it now: it cannot be shown again.`);
      } finally {
        await store.close();
      }
    });
  tokens
    .command('list')
    .description('list admin tokens (never the secrets)')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const list = await store.keyStore.listTokens();
        printResult(io, opts.json, { tokens: list }, () =>
          list.length === 0
            ? 'no tokens (create one with: rapport tokens create NAME)'
            : list.map((t) => `${t.id}  ${t.name}  created ${isoTime(t.createdAt)}${t.revokedAt ? `  REVOKED ${isoTime(t.revokedAt)}` : ''}`).join('\n'),
        );
      } finally {
        await store.close();
      }
    });
  tokens
    .command('revoke')
    .description('revoke an admin token by id or name')
    .argument('<id-or-name>')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (idOrName: string, opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        if (!(await store.keyStore.revokeToken(idOrName, systemClock.now()))) throw new NotFoundError('active token', idOrName);
        printResult(io, opts.json, { revoked: idOrName }, () => `revoked token ${idOrName}`);
      } finally {
        await store.close();
      }
    });
  for (const c of tokens.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
};
