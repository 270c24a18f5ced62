import type { Command } from 'commander';
import { openAppStore } from '../../app/app-store';
import { computeEffectiveness, formatEffectiveness, type EffectivenessReport } from '../../automation/effectiveness';
import { createPlaybookRegistry } from '../../automation/playbook-registry';
import { NotFoundError } from '../../domain/errors';
import { dataOption, databaseUrlOption, jsonOption, printResult, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';
import { playbooksOption, PlaybookFilesError } from './playbooks';

/** `rapport report playbooks [ID]`: effectiveness per playbook x variant x type with uplift against the holdout. */
export const registerReportCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const cmd = program.command('report').description('reports on measures');
  cmd
    .command('playbooks')
    .description('reach, conversion, revenue, unsubscribes and uplift vs holdout (95 % CI) per playbook x variant x type')
    .argument('[id]', 'only this playbook')
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(playbooksOption())
    .addOption(jsonOption())
    .action(async (id: string | undefined, opts: { data: string; databaseUrl?: string; playbooks: string; json?: boolean }) => {
      const reg = createPlaybookRegistry({ dirs: [opts.playbooks] });
      if (reg.lastErrors().length) throw new PlaybookFilesError(reg.lastErrors());
      const list = id ? [reg.get(id)] : reg.current();
      if (id && !list[0]) throw new NotFoundError('playbook', id);
      const app = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
      try {
        const store = app.automationStore;
        const reports: EffectivenessReport[] = [];
        for (const p of list) if (p) reports.push(computeEffectiveness(p, await store.outcomes(p.id)));
        printResult(io, opts.json, { reports }, () => reports.map(formatEffectiveness).join('\n\n') || '(no playbooks)');
      } finally {
        await app.close();
      }
    });
};
