import type { Command } from 'commander';
import type { CliIo } from '../cli-context';

/** A command module registers its sub-command(s) on the program. */
export type RegisterCommand = (program: Command, io: CliIo) => void;

/** Every CLI command, in help order. Each lives in its own file in this folder. */
export const COMMANDS: RegisterCommand[] = [];
