import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { openAppStore } from '../../app/app-store';
import type { AutomationStore } from '../../ports/automation-store';
import { parseAutomationConfig } from '../../automation/config';
import { loadCustomersFile } from '../../automation/customers-file';
import { dryRunPlaybook, formatDryRun, type DryRunReport } from '../../automation/dry-run';
import { createPlaybookRegistry } from '../../automation/playbook-registry';
import { createTemplateRenderer } from '../../automation/templates';
import type { CustomerDirectory } from '../../automation/types';
import { CHANNELS, type Channel } from '../../domain/contact-policy';
import { NotFoundError, RapportError } from '../../domain/errors';
import { formatPlaybookError, type PlaybookError } from '../../domain/playbook-parse';
import { dataOption, databaseUrlOption, jsonOption, parsePositiveInt, printResult, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';
import { openCustomerDirectory } from '../../app/open-customer-directory';

/** `--playbooks DIR` (env RAPPORT_PLAYBOOKS_DIR, default ./playbooks). */
export function playbooksOption(): Option {
  return new Option('--playbooks <dir>', 'folder of playbook YAML files').env('RAPPORT_PLAYBOOKS_DIR').default('./playbooks');
}

/** `--templates DIR` (env RAPPORT_TEMPLATES_DIR, default ./templates). */
export function templatesOption(): Option {
  return new Option('--templates <dir>', 'folder of message templates').env('RAPPORT_TEMPLATES_DIR').default('./templates');
}

/** Playbook files are invalid; `details` carry file:line:column. */
export class PlaybookFilesError extends RapportError {
  constructor(errors: readonly PlaybookError[]) {
    super('invalid_playbook', errors.map(formatPlaybookError).join('\n'), errors);
  }
}


function openRegistry(dir: string) {
  const reg = createPlaybookRegistry({ dirs: [dir] });
  if (reg.lastErrors().length) throw new PlaybookFilesError(reg.lastErrors());
  return reg;
}

/** `rapport playbooks list|validate|dry-run`. */
export const registerPlaybooksCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const cmd = program.command('playbooks').description('list, validate and dry-run automation playbooks');

  cmd
    .command('list')
    .description('list the playbooks in the playbook folder')
    .addOption(playbooksOption())
    .addOption(jsonOption())
    .action((opts: { playbooks: string; json?: boolean }) => {
      const reg = openRegistry(opts.playbooks);
      const rows = reg.current().map((p) => ({ id: p.id, name: p.name, enabled: p.enabled, trigger: p.trigger, holdout: p.holdout, steps: p.steps.length }));
      printResult(io, opts.json, { playbooks: rows }, () =>
        rows.map((r) => `${r.id.padEnd(32)} ${r.enabled ? 'on ' : 'off'} holdout ${Math.round(r.holdout * 100)}%  ${r.steps} steps  ${r.name}`).join('\n') || '(no playbooks)',
      );
    });

  cmd
    .command('validate')
    .description('check every playbook (file:line:column errors) and that their templates exist')
    .addOption(playbooksOption())
    .addOption(templatesOption())
    .addOption(jsonOption())
    .action((opts: { playbooks: string; templates: string; json?: boolean }) => {
      const reg = createPlaybookRegistry({ dirs: [opts.playbooks] });
      const errors: PlaybookError[] = [...reg.lastErrors()];
      const templates = createTemplateRenderer([opts.templates]);
      if (errors.length === 0) {
        for (const p of reg.current()) {
          for (const s of p.steps) {
            if (!('send' in s)) continue;
            for (const t of typeof s.send.template === 'string' ? [s.send.template] : Object.values(s.send.template)) {
              if (!templates.has(t)) errors.push({ file: join(opts.playbooks, `${p.id}.yaml`), line: 1, column: 1, message: `step ${s.id}: template '${t}' not found in ${opts.templates}` });
            }
          }
        }
      }
      const ok = errors.length === 0;
      printResult(io, opts.json, { ok, playbooks: reg.current().length, errors }, () =>
        ok ? `ok: ${reg.current().length} playbooks valid` : errors.map(formatPlaybookError).join('\n'),
      );
      if (!ok) process.exitCode = 1;
    });

  cmd
    .command('dry-run')
    .description('who would get what and when over the current population, without sending')
    .argument('<name>', 'playbook id')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(playbooksOption())
    .addOption(templatesOption())
    .option('--customers <file>', 'JSON-lines file of customer views (default: the engine state, when wired)')
    .option('--at <iso>', 'simulated start time (default: now)')
    .option('--limit <n>', 'customers listed in detail', parsePositiveInt('--limit'), 20)
    .option('--consent-required <channels>', 'comma-separated channels needing opt-in (e.g. email)', '')
    .addOption(jsonOption())
    .action(async (name: string, opts: { data: string; databaseUrl?: string; playbooks: string; templates: string; customers?: string; at?: string; limit: number; consentRequired: string; json?: boolean }) => {
      const at = opts.at ? Date.parse(opts.at) : Date.now();
      if (Number.isNaN(at)) throw new UsageError(`--at must be an ISO date-time, got '${opts.at}'`);
      const consent = opts.consentRequired ? opts.consentRequired.split(',').map((s) => s.trim()) : [];
      for (const c of consent) if (!CHANNELS.includes(c as Channel)) throw new UsageError(`--consent-required: unknown channel '${c}' (${CHANNELS.join(', ')})`);
      const reg = openRegistry(opts.playbooks);
      const pb = reg.get(name);
      if (!pb) throw new NotFoundError('playbook', name);
      const where = { dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null };
      let customers: CustomerDirectory;
      let store: AutomationStore;
      let close: () => Promise<void>;
      if (opts.customers) {
        customers = loadCustomersFile(opts.customers);
        const app = await openAppStore(where);
        store = app.automationStore;
        close = () => app.close();
      } else {
        ({ customers, automation: store, close } = await openCustomerDirectory(where));
      }
      try {
        const config = parseAutomationConfig({ publicUrl: 'http://127.0.0.1', signingSecret: 'dry-run-does-not-sign-anything', templateDirs: [opts.templates], consentRequired: consent as Channel[] });
        const report: DryRunReport = await dryRunPlaybook(pb, { store, customers, config, templates: createTemplateRenderer([opts.templates]) }, { now: at, limit: opts.limit });
        printResult(io, opts.json, report, () => formatDryRun(report));
      } finally {
        await close();
      }
    });
};
