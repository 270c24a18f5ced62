import { Option, type Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { formatReport } from '../../classify/evaluation';
import {
  crossValidateStatements,
  saveStatementModel,
  trainStatementModel,
  type StatementAlgorithm,
} from '../../indicators/statements/statement-classifier';
import { systemClock } from '../../ports/clock';
import { dataOption, jsonOption, parsePositiveInt, printResult, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

interface TrainFlags {
  text: string;
  label: string;
  folds: number;
  algorithm: StatementAlgorithm;
  data: string;
  json?: boolean;
  seed: number;
  delimiter: string;
  charNgrams: boolean;
}

const parseSeed = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seed must be a non-negative integer, got '${v}'`);
  return n;
};

/** `rapport train-statements FILE.csv --text COL --label COL`: cross-validates and saves a statement classifier. */
export const registerTrainStatementsCommand: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('train-statements')
    .description('train a statement classifier (TF-IDF n-grams + logistic regression or naive Bayes) from a labelled CSV')
    .argument('<file>', 'CSV file with a header row')
    .requiredOption('--text <col>', 'column holding the statement text')
    .requiredOption('--label <col>', 'column holding the label')
    .addOption(new Option('--folds <k>', 'folds of the stratified cross-validation').argParser(parsePositiveInt('--folds')).default(5))
    .addOption(new Option('--algorithm <name>', 'learning algorithm').choices(['logreg', 'nb']).default('logreg'))
    .addOption(new Option('--seed <n>', 'seed of the fold assignment').argParser(parseSeed).default(1))
    .option('--delimiter <char>', 'CSV field delimiter', ',')
    .option('--no-char-ngrams', 'use word 1-2-grams only (no character n-grams)')
    .addOption(dataOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nPrints the cross-validated report (accuracy, macro-F1, per-label scores, confusion matrix), then trains on all\n' +
        'rows and saves the model to <data>/models/statements/<time>.json with latest.json pointing at it.\n' +
        'The engine uses the latest model when present.',
    )
    .action((file: string, opts: TrainFlags) => {
      const { texts, labels } = readLabelledCsv(file, opts.text, opts.label, opts.delimiter);
      const classes = new Set(labels);
      if (classes.size < 2) throw new UsageError(`column '${opts.label}' has ${classes.size} distinct label(s); at least 2 are needed`);
      if (opts.folds < 2) throw new UsageError('--folds must be at least 2');
      if (opts.folds > texts.length) throw new UsageError(`--folds ${opts.folds} is more than the ${texts.length} labelled rows`);
      const bar =
        !opts.json && process.stderr.isTTY
          ? new SingleBar({ format: 'cross-validation [{bar}] fold {value}/{total}', stream: process.stderr }, Presets.shades_classic)
          : null;
      const trainOpts = { algorithm: opts.algorithm, charNgrams: opts.charNgrams };
      let report;
      try {
        bar?.start(opts.folds, 0);
        report = crossValidateStatements(texts, labels, { ...trainOpts, folds: opts.folds, seed: opts.seed, onFold: (d) => bar?.update(d) });
      } finally {
        bar?.stop();
      }
      const model = trainStatementModel(texts, labels, { ...trainOpts, createdAt: systemClock.now(), cv: report });
      const saved = saveStatementModel(model, opts.data);
      const result = {
        file,
        n: texts.length,
        algorithm: opts.algorithm,
        folds: opts.folds,
        seed: opts.seed,
        labels: model.json.labels,
        features: model.json.vocabulary.length,
        report,
        modelPath: saved.path,
        latestPath: saved.latestPath,
      };
      printResult(io, opts.json, result, () =>
        [
          `trained on ${texts.length} statements from ${file} (${opts.algorithm}, ${model.json.vocabulary.length} features)`,
          `${opts.folds}-fold stratified cross-validation (seed ${opts.seed}):`,
          '',
          formatReport(report),
          '',
          `model saved to ${saved.path}`,
          `latest model: ${saved.latestPath}`,
        ].join('\n'),
      );
    });
};

/** Reads text and label columns; rows with an empty text or label are skipped. */
function readLabelledCsv(file: string, textCol: string, labelCol: string, delimiter: string): { texts: string[]; labels: string[] } {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(content, { columns: true, bom: true, skip_empty_lines: true, delimiter, relax_column_count: true, trim: true });
  } catch (err) {
    throw new UsageError(`${file} is not valid CSV: ${(err as Error).message}`);
  }
  const header = rows.length > 0 ? Object.keys(rows[0]!) : readHeader(content, delimiter);
  for (const [flag, col] of [['--text', textCol], ['--label', labelCol]] as const) {
    if (!header.includes(col)) throw new UsageError(`${flag}: no column '${col}' in ${file}; available columns: ${header.join(', ')}`);
  }
  const texts: string[] = [];
  const labels: string[] = [];
  for (const row of rows) {
    const t = row[textCol];
    const l = row[labelCol];
    if (!t || !l) continue;
    texts.push(t);
    labels.push(l);
  }
  if (texts.length === 0) throw new UsageError(`${file} has no rows with both '${textCol}' and '${labelCol}' filled`);
  return { texts, labels };
}

function readHeader(content: Buffer, delimiter: string): string[] {
  const rows = parse(content, { bom: true, to_line: 1, delimiter }) as string[][];
  return rows[0] ?? [];
}
