import type { Command } from 'commander';
import type { CliIo } from '../cli-context';
import { registerStartCommand } from './start';
import { registerDemoCommand } from './demo';
import { registerReplayCommand } from './replay';
import { registerSourcesCommand } from './sources';
import { registerTokensCommand } from './tokens';
import { registerImportCommand } from './import';
import { registerTrainStatementsCommand } from './train-statements';
import { registerClvCommand } from './clv';
import { registerLensesCommand } from './lenses';
import { registerTrainCommand } from './train';
import { registerDiscoverCommand } from './discover';
import { registerPlaybooksCommand } from './playbooks';
import { registerReportCommand } from './report';
import { registerSimulateCommand } from './simulate';
import { registerUsersCommand } from './users';
import { registerMigrateCommand } from './migrate';

/** A command module registers its sub-command(s) on the program. */
export type RegisterCommand = (program: Command, io: CliIo) => void;

/** Every CLI command, in help order. Each lives in its own file in this folder. */
export const COMMANDS: RegisterCommand[] = [
  registerStartCommand,
  registerDemoCommand,
  registerReplayCommand,
  registerSourcesCommand,
  registerTokensCommand,
  registerImportCommand,
  registerTrainStatementsCommand,
  registerClvCommand,
  registerLensesCommand,
  registerTrainCommand,
  registerDiscoverCommand,
  registerPlaybooksCommand,
  registerReportCommand,
  registerSimulateCommand,
  registerUsersCommand,
  registerMigrateCommand,
];
