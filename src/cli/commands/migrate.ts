import type { Command } from 'commander';
import { Option } from 'commander';
import { migratePostgres, openPostgresPool } from '../../adapters/postgres/open-pool';
import { openSqliteDatabase } from '../../adapters/sqlite/open-database';
import { databasePath } from '../../app/open-event-log';
import { dataOption, databaseUrlOption, jsonOption, printResult, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

/** One line of the migrate report. */
interface MigrationLine {
  version: number;
  name: string;
  applied: boolean;
}

/** What `rapport migrate --json` prints. */
export interface MigrateReport {
  backend: 'postgres' | 'sqlite';
  /** Versions applied by this run. */
  applied: number[];
  migrations: MigrationLine[];
}

/**
 * `rapport migrate`: applies pending schema migrations and prints every version with whether this run
 * applied it. PostgreSQL with `--database-url` / `DATABASE_URL` (safe from several processes at once:
 * an advisory lock serialises them), else the embedded SQLite database in `--data`.
 */
export const registerMigrateCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('migrate')
    .description('apply pending schema migrations (PostgreSQL with --database-url, else the SQLite file in --data)')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(new Option('--schema <name>', 'PostgreSQL schema to migrate (default: the connection\u2019s search_path)'))
    .addOption(jsonOption())
    .action(async (opts: { data: string; databaseUrl?: string; schema?: string; json?: boolean }) => {
      let report: MigrateReport;
      if (opts.databaseUrl) {
        if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
          throw new UsageError(`--database-url must be a postgres:// or postgresql:// URL, got '${opts.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}'`);
        }
        const pool = await openPostgresPool(opts.databaseUrl, { migrate: false, max: 1, ...(opts.schema ? { schema: opts.schema } : {}) });
        try {
          const lines = await migratePostgres(pool);
          report = { backend: 'postgres', applied: lines.filter((l) => l.applied).map((l) => l.version), migrations: lines.map((l) => ({ ...l })) };
        } finally {
          await pool.end();
        }
      } else {
        if (opts.schema) throw new UsageError('--schema needs --database-url (SQLite has no schemas)');
        report = migrateSqlite(opts.data);
      }
      printResult(io, opts.json, report, () =>
        [
          `${report.backend}: ${report.applied.length ? `applied ${report.applied.join(', ')}` : 'up to date'}`,
          ...report.migrations.map((m) => `  ${String(m.version).padStart(3)}  ${m.applied ? 'applied now' : 'present    '}  ${m.name}`),
        ].join('\n'),
      );
    })
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
};

/** Opens (and so migrates) the embedded database and reports which versions this run added. */
function migrateSqlite(dataDir: string): MigrateReport {
  // schema_migrations.applied_at is wall-clock ms; rows stamped from now on were applied by this run.
  const start = Date.now();
  const db = openSqliteDatabase(databasePath(dataDir));
  try {
    const rows = db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as Array<{
      version: number;
      name: string;
      applied_at: number;
    }>;
    const migrations = rows.map((r) => ({ version: r.version, name: r.name, applied: r.applied_at >= start }));
    return { backend: 'sqlite', applied: migrations.filter((m) => m.applied).map((m) => m.version), migrations };
  } finally {
    db.close();
  }
}
