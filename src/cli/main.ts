import { Command, CommanderError } from 'commander';
import { RapportError } from '../domain/errors';
import { UsageError, type CliIo } from './cli-context';
import { COMMANDS } from './commands/index';

/** Builds the `rapport` program with every command registered. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('rapport')
    .description('Rapport — relationship-aware CRM engine')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of COMMANDS) register(program, io);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 success, 1 failure, 2 wrong usage.
 * Errors are printed on stderr as one line (plus details when present).
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    io.stderr(`rapport: ${err.message}\n`);
    return 2;
  }
  if (err instanceof RapportError) {
    io.stderr(`rapport: ${err.message} (${err.code})\n`);
    return 1;
  }
  io.stderr(`rapport: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

function defaultIo(): CliIo {
  // The reader went away (`rapport ... | head`): stop quietly, as Unix tools do on SIGPIPE.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  };
}
