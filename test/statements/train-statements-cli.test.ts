import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/cli-context';
import { loadStatementModel } from '../../src/indicators/statements/statement-classifier';

const FIXTURE = fileURLToPath(new URL('../fixtures/statements/statements.csv', import.meta.url));

function capture(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: {} as NodeJS.ProcessEnv,
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'rapport-cli-stmt-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const run = (args: string[], io: CliIo) => main(['node', 'rapport', ...args], io);

describe('rapport train-statements', () => {
  it('--json prints one JSON document with the CV report and the saved model path', async () => {
    const data = tempDir();
    const io = capture();
    const code = await run(['train-statements', FIXTURE, '--text', 'text', '--label', 'label', '--data', data, '--json', '--folds', '4', '--seed', '7'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(io.out);
    expect(result).toMatchObject({ algorithm: 'logreg', folds: 4, seed: 7, n: 540 });
    expect(result.report.n).toBe(540);
    expect(result.report.macroF1).toBeGreaterThanOrEqual(0.6);
    expect(result.report.confusion).toHaveLength(9);
    expect(result.modelPath.startsWith(join(data, 'models', 'statements'))).toBe(true);
    expect(existsSync(result.modelPath)).toBe(true);
    const model = loadStatementModel(result.latestPath);
    expect(model.json.cv?.macroF1).toBe(result.report.macroF1);
    expect(model.predict('Ich kündige und wechsle zu einem anderen Anbieter.').label).toBe('switching');
  });

  it('prints a human report with the confusion matrix and where the model went (naive Bayes)', async () => {
    const data = tempDir();
    const io = capture();
    const code = await run(['train-statements', FIXTURE, '--text', 'text', '--label', 'label', '--data', data, '--algorithm', 'nb'], io);
    expect(code).toBe(0);
    expect(io.out).toMatch(/macro-F1/);
    expect(io.out).toMatch(/confusion \(rows = true, columns = predicted\)/);
    expect(io.out).toContain(`model saved to ${join(data, 'models', 'statements')}`);
    expect(JSON.parse(readFileSync(join(data, 'models', 'statements', 'latest.json'), 'utf8')).version).toBe(1);
  });

  it('a wrong column name is a usage error (exit 2) naming the available columns', async () => {
    const io = capture();
    const code = await run(['train-statements', FIXTURE, '--text', 'body', '--label', 'label', '--data', tempDir()], io);
    expect(code).toBe(2);
    expect(io.out).toBe('');
    expect(io.err).toContain("no column 'body'");
    expect(io.err).toContain('available columns: id, channel, lang, text, label');
  });

  it('other wrong usage exits 2: unknown algorithm, missing --label, one label only, missing file', async () => {
    const data = tempDir();
    const oneLabel = join(data, 'one.csv');
    writeFileSync(oneLabel, 'text,label\nhello,a\nworld,a\n');
    const cases = [
      ['train-statements', FIXTURE, '--text', 'text', '--label', 'label', '--algorithm', 'svm', '--data', data],
      ['train-statements', FIXTURE, '--text', 'text', '--data', data],
      ['train-statements', oneLabel, '--text', 'text', '--label', 'label', '--data', data],
      ['train-statements', join(data, 'missing.csv'), '--text', 'text', '--label', 'label', '--data', data],
    ];
    for (const args of cases) {
      const io = capture();
      expect(await run(args, io), args.join(' ')).toBe(2);
      expect(io.err.length).toBeGreaterThan(0);
    }
  });

  it('--help describes the command', async () => {
    const io = capture();
    expect(await run(['train-statements', '--help'], io)).toBe(0);
    expect(io.out).toContain('--algorithm');
    expect(io.out).toContain('latest.json');
  });
});
