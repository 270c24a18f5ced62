import type { Command } from 'commander';
import { openAppStore } from '../../app/app-store';
import { NotFoundError } from '../../domain/errors';
import { isoTime } from '../../domain/event';
import { systemClock } from '../../ports/clock';
import type { KeyStore } from '../../ports/key-store';
import { dataOption, databaseUrlOption, jsonOption, printResult, type CliIo } from '../cli-context';

/** A listed credential (source or admin token): never its secret. */
interface Listed {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** What differs between `rapport sources` and `rapport tokens`. */
export interface CredentialCommandSpec {
  /** Command group, e.g. `sources`. */
  readonly group: string;
  readonly description: string;
  /** What one is called in messages, e.g. `source`. */
  readonly noun: string;
  /** The create subcommand: its name, description and name argument. */
  readonly create: { readonly command: string; readonly description: string; readonly argument: readonly [spec: string, description: string, defaultValue?: string] };
  /** Creates one; `json` is printed with `--json`, `text` otherwise. */
  readonly add: (keys: KeyStore, name: string, now: number) => Promise<{ json: Record<string, unknown>; text: string }>;
  readonly listDescription: string;
  /** Key of the list in the JSON output (`sources`, `tokens`). */
  readonly listKey: string;
  readonly list: (keys: KeyStore) => Promise<readonly Listed[]>;
  readonly revokeDescription: string;
  readonly revoke: (keys: KeyStore, idOrName: string, now: number) => Promise<boolean>;
}

type StoreOptions = { data: string; databaseUrl?: string; json?: boolean };

/** Runs `fn` on the key store of `--data` / `--database-url`, closing the store after. */
async function withKeyStore<T>(opts: StoreOptions, fn: (keys: KeyStore) => Promise<T>): Promise<T> {
  const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
  try {
    return await fn(store.keyStore);
  } finally {
    await store.close();
  }
}

/** Registers `<group> <create>|list|revoke` for one kind of hashed credential. */
export function registerCredentialCommands(program: Command, io: CliIo, spec: CredentialCommandSpec): void {
  const group = program.command(spec.group).description(spec.description);
  const withStoreOptions = (c: Command): Command => c.addOption(dataOption()).addOption(databaseUrlOption()).addOption(jsonOption());
  const [argSpec, argDescription, argDefault] = spec.create.argument;
  withStoreOptions(group.command(spec.create.command).description(spec.create.description).argument(argSpec, argDescription, argDefault)).action(
    async (name: string, opts: StoreOptions) =>
      withKeyStore(opts, async (keys) => {
        const created = await spec.add(keys, name, systemClock.now());
        printResult(io, opts.json, created.json, () => created.text);
      }),
  );
  withStoreOptions(group.command('list').description(spec.listDescription)).action(async (opts: StoreOptions) =>
    withKeyStore(opts, async (keys) => {
      const list = await spec.list(keys);
      printResult(io, opts.json, { [spec.listKey]: list }, () =>
        list.length === 0
          ? `no ${spec.group} (create one with: rapport ${spec.group} ${spec.create.command} NAME)`
          : list.map((s) => `${s.id}  ${s.name}  created ${isoTime(s.createdAt)}${s.revokedAt ? `  REVOKED ${isoTime(s.revokedAt)}` : ''}`).join('\n'),
      );
    }),
  );
  withStoreOptions(group.command('revoke').description(spec.revokeDescription).argument('<id-or-name>')).action(async (idOrName: string, opts: StoreOptions) =>
    withKeyStore(opts, async (keys) => {
      if (!(await spec.revoke(keys, idOrName, systemClock.now()))) throw new NotFoundError(`active ${spec.noun}`, idOrName);
      printResult(io, opts.json, { revoked: idOrName }, () => `revoked ${spec.noun} ${idOrName}`);
    }),
  );
  for (const c of group.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}
