import { Command, Option } from 'commander';
import { RapportError } from '../domain/errors';

/** Streams a command writes to; tests pass their own to capture output. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Environment variables (defaults to process.env). */
  env: NodeJS.ProcessEnv;
}

/** Wrong usage of a command: exit code 2. */
export class UsageError extends RapportError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** `--data DIR` (env RAPPORT_DATA_DIR, default ./data), for every command that reads or writes state. */
export function dataOption(): Option {
  return new Option('--data <dir>', 'data directory (embedded SQLite)').env('RAPPORT_DATA_DIR').default('./data');
}

/** `--database-url URL` (env DATABASE_URL): use PostgreSQL instead of the embedded store. */
export function databaseUrlOption(): Option {
  return new Option('--database-url <url>', 'PostgreSQL URL (scaled-out mode)').env('DATABASE_URL');
}

/** `--json`: print one JSON document on stdout and nothing else. */
export function jsonOption(): Option {
  return new Option('--json', 'print one JSON document on stdout');
}

/** Adds the state options (`--data`, `--database-url`) to a command. */
export function withStateOptions(cmd: Command): Command {
  return cmd.addOption(dataOption()).addOption(databaseUrlOption());
}

/**
 * Prints a command's result: JSON when `--json` was given, else the human text.
 * Keeps the `--json` promise: exactly one JSON document on stdout.
 */
export function printResult(io: CliIo, json: boolean | undefined, value: unknown, human: () => string): void {
  if (json) io.stdout(JSON.stringify(value, null, 2) + '\n');
  else io.stdout(human().replace(/\n?$/, '\n'));
}

/** Parses a positive integer option value or throws a UsageError naming the option. */
export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}
