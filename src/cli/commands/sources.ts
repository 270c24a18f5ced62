import type { Command } from 'commander';
import type { CliIo } from '../cli-context';
import { registerCredentialCommands } from './credential-commands';
import type { RegisterCommand } from './index';

/** `rapport sources add|list|revoke`: sources and their write keys. */
export const registerSourcesCommand: RegisterCommand = (program: Command, io: CliIo) =>
  registerCredentialCommands(program, io, {
    group: 'sources',
    description: 'manage sources (producers of events) and their write keys',
    noun: 'source',
    create: { command: 'add', description: 'create a source and print its write key (shown once; only its hash is stored)', argument: ['<name>', 'source name, e.g. web or backend'] },
    async add(keys, name, now) {
      const { source, writeKey } = await keys.createSource(name, now);
      return { json: { source, writeKey }, text: `source ${source.name} (${source.id})\nwrite key: ${writeKey}\nKeep it now: it cannot be shown again.` };
    },
    listDescription: 'list sources',
    listKey: 'sources',
    list: (keys) => keys.listSources(),
    revokeDescription: 'revoke a source by id or name; its write key stops working at once',
    revoke: (keys, idOrName, now) => keys.revokeSource(idOrName, now),
  });
