import type { Command } from 'commander';
import type { CliIo } from '../cli-context';
import { registerCredentialCommands } from './credential-commands';
import type { RegisterCommand } from './index';

/** `rapport tokens create|list|revoke`: admin API tokens (Authorization: Bearer ...). */
export const registerTokensCommand: RegisterCommand = (program: Command, io: CliIo) =>
  registerCredentialCommands(program, io, {
    group: 'tokens',
    description: 'manage admin API tokens (Authorization: Bearer <token> on /api/*)',
    noun: 'token',
    create: { command: 'create', description: 'create an admin token and print it (shown once; only its hash is stored)', argument: ['[name]', 'a label for the token', 'admin'] },
    async add(keys, name, now) {
      const { token, secret } = await keys.createToken(name, now);
      return { json: { token, secret }, text: `token ${token.name} (${token.id})\n${secret}\nKeep it now: it cannot be shown again.` };
    },
    listDescription: 'list admin tokens (never the secrets)',
    listKey: 'tokens',
    list: (keys) => keys.listTokens(),
    revokeDescription: 'revoke an admin token by id or name',
    revoke: (keys, idOrName, now) => keys.revokeToken(idOrName, now),
  });
