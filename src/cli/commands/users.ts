import { Option, type Command } from 'commander';
import type { Readable } from 'node:stream';
import { openAppStore } from '../../app/app-store';
import { NotFoundError } from '../../domain/errors';
import { isoTime } from '../../domain/event';
import { systemClock } from '../../ports/clock';
import { USER_ROLES, type UserRole } from '../../ports/user-store';
import { generatePassword } from '../../http/session-auth';
import { dataOption, databaseUrlOption, jsonOption, printResult, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** Reads all of a stream (the password piped on stdin), without the trailing newline. */
async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** `rapport users add|list|remove`: dashboard users with roles (admin, editor, viewer). */
export const registerUsersCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const users = program.command('users').description('manage dashboard users (roles: admin, editor, viewer)');
  users
    .command('add')
    .description('create a dashboard user; prints a generated password unless --password-stdin is given')
    .argument('<email>', 'sign-in email')
    .addOption(new Option('--role <role>', 'admin | editor | viewer').choices(USER_ROLES as string[]).makeOptionMandatory())
    .addOption(new Option('--password-stdin', 'read the password from stdin (at least 10 characters)'))
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExample: echo "$PASSWORD" | rapport users add ana@example.com --role editor --password-stdin')
    .action(async (email: string, opts: { role: UserRole; passwordStdin?: boolean; data: string; databaseUrl?: string; json?: boolean }) => {
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError(`'${email}' is not an email address`);
      let password = generatePassword();
      const generated = !opts.passwordStdin;
      if (opts.passwordStdin) {
        password = await readAll(process.stdin);
        if (password.length < 10) throw new UsageError('the password from stdin must have at least 10 characters');
      }
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const user = await store.userStore.addUser(email, opts.role, password, systemClock.now());
        const view = { id: user.id, email: user.email, role: user.role, createdAt: isoTime(user.createdAt), ...(generated ? { password } : {}) };
        printResult(io, opts.json, { user: view }, () =>
          `user ${user.email} (${user.role}) created${generated ? `\npassword: ${password}\nKeep it now: it cannot be shown again.` : ''}`,
        );
      } finally {
        await store.close();
      }
    });
  users
    .command('list')
    .description('list dashboard users')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const list = await store.userStore.listUsers();
        printResult(io, opts.json, { users: list.map((u) => ({ ...u, createdAt: isoTime(u.createdAt) })) }, () =>
          list.length === 0 ? 'no users (create one with: rapport users add EMAIL --role admin)' : list.map((u) => `${u.id}  ${u.email}  ${u.role}  created ${isoTime(u.createdAt)}`).join('\n'),
        );
      } finally {
        await store.close();
      }
    });
  users
    .command('remove')
    .description('remove a dashboard user (by id or email) and end their sessions')
    .argument('<id-or-email>')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (idOrEmail: string, opts: { data: string; databaseUrl?: string; json?: boolean }) => {
      const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        if (!(await store.userStore.removeUser(idOrEmail))) throw new NotFoundError('user', idOrEmail);
        printResult(io, opts.json, { removed: idOrEmail }, () => `removed user ${idOrEmail}`);
      } finally {
        await store.close();
      }
    });
  for (const c of users.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
};
