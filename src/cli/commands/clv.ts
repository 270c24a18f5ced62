import { Option, type Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { openAppStore } from '../../app/app-store';
import { VOCABULARY } from '../../domain/vocabulary';
import { RapportError, ValidationError } from '../../domain/errors';
import type { StoredEvent } from '../../domain/event';
import type { EventLog } from '../../ports/event-log';
import {
  DAY_MS,
  customerLifetimeValue,
  fitBgNbd,
  fitGammaGamma,
  fitParetoNbd,
  fitValueModels,
  gammaGammaExpectedSpend,
  holdoutPurchases,
  holdoutReport,
  parseDate,
  parseTransactionsCsv,
  paretoNbdConditionalExpected,
  paretoNbdProbabilityAlive,
  scoreCustomer,
  summarizeTransactions,
  transactionsFromEvents,
  type FitDiagnostics,
  type HoldoutReport,
  type NamedSummary,
  type Transaction,
} from '../../value/index';
import { dataOption, databaseUrlOption, jsonOption, printResult, UsageError, type CliIo } from '../cli-context';
import type { RegisterCommand } from './index';

interface SourceFlags {
  data: string;
  databaseUrl?: string;
  json?: boolean;
  fromLog?: boolean;
  csv?: string;
  customer: string;
  date: string;
  amount: string;
  timeUnit: 'day' | 'week';
}

interface FitFlags extends SourceFlags {
  model: 'bgnbd' | 'pareto' | 'gamma-gamma';
  until?: string;
}

interface ValidateFlags extends SourceFlags {
  model: 'bgnbd' | 'pareto';
  calibrationEnd: string;
  holdoutEnd: string;
}

interface PredictFlags extends SourceFlags {
  model: 'bgnbd' | 'pareto';
  out: string;
  until?: string;
  horizonDays: number;
  discountRate: number;
}

/** Adds the shared data-source options (`--from-log` or `--csv` with column names). */
function withSource(cmd: Command): Command {
  return cmd
    .addOption(dataOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .option('--from-log', 'read Order Completed / Order Refunded events from the event log in --data (or --database-url)')
    .option('--csv <file>', 'read transactions from a CSV file with a header row')
    .option('--customer <col>', 'CSV: customer id column', 'customer_id')
    .option('--date <col>', 'CSV: purchase date column (YYYY-MM-DD, YYYYMMDD, ISO time or epoch ms)', 'date')
    .option('--amount <col>', 'CSV: amount column', 'amount')
    .addOption(new Option('--time-unit <unit>', 'model time unit').choices(['day', 'week']).default('week'));
}

/** `rapport clv fit|validate|predict`: customer-value models (BG/NBD, Pareto/NBD, Gamma-Gamma). */
export const registerClvCommand: RegisterCommand = (program: Command, io: CliIo) => {
  const clv = program
    .command('clv')
    .description('customer-value models: fit BG/NBD, Pareto/NBD, Gamma-Gamma; validate on a holdout; predict CLV')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  withSource(
    clv
      .command('fit')
      .description('fit a model and print its parameters, standard errors, log-likelihood and convergence')
      .addOption(new Option('--model <model>', 'model to fit').choices(['bgnbd', 'pareto', 'gamma-gamma']).default('bgnbd'))
      .option('--until <date>', 'last day of the calibration period (default: the last purchase day)'),
  )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText('after', '\nRepeat purchases count distinct purchase days after the first, as in Fader, Hardie & Lee (2005).')
    .action(async (opts: FitFlags) => {
      const tx = await loadTransactions(opts);
      const until = opts.until !== undefined ? dateFlag('--until', opts.until) : lastDay(tx);
      const unitDays = opts.timeUnit === 'day' ? 1 : 7;
      const summaries = summarizeTransactions(tx, { calibrationEnd: until, unitDays });
      const fit: FitDiagnostics<string> & { model: string } =
        opts.model === 'pareto' ? fitParetoNbd(summaries) : opts.model === 'gamma-gamma' ? fitGammaGamma(summaries) : fitBgNbd(summaries);
      const result = { ...fit, timeUnit: opts.timeUnit, calibrationEnd: isoDay(until), transactions: tx.length };
      printResult(io, opts.json, result, () => formatFit(result));
    });

  withSource(
    clv
      .command('validate')
      .description('fit on a calibration period and compare predicted with actual holdout purchases')
      .requiredOption('--calibration-end <date>', 'last day of the calibration period')
      .requiredOption('--holdout-end <date>', 'last day of the holdout period')
      .addOption(new Option('--model <model>', 'purchase model').choices(['bgnbd', 'pareto']).default('bgnbd')),
  )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText('after', '\nPrints total, per-frequency-group (0..7+), per-customer correlation and cumulative tracking by period.')
    .action(async (opts: ValidateFlags) => {
      const calEnd = dateFlag('--calibration-end', opts.calibrationEnd);
      const holdEnd = dateFlag('--holdout-end', opts.holdoutEnd);
      if (holdEnd <= calEnd) throw new UsageError('--holdout-end must be after --calibration-end');
      const tx = await loadTransactions(opts);
      const unitDays = opts.timeUnit === 'day' ? 1 : 7;
      const summaries = summarizeTransactions(tx, { calibrationEnd: calEnd, unitDays });
      const fit = opts.model === 'pareto' ? fitParetoNbd(summaries) : fitBgNbd(summaries);
      const model = fit.model === 'pareto' ? { model: 'pareto' as const, params: fit.params } : { model: 'bgnbd' as const, params: fit.params as FitDiagnostics<'r' | 'alpha' | 'a' | 'b'>['params'] };
      const report = holdoutReport({
        model,
        summaries,
        holdout: holdoutPurchases(tx, calEnd, holdEnd),
        transactions: tx,
        calibrationEnd: calEnd,
        holdoutEnd: holdEnd,
        unitDays,
      });
      const result = { model: fit.model, params: fit.params, logLikelihood: fit.logLikelihood, timeUnit: opts.timeUnit, calibrationEnd: isoDay(calEnd), holdoutEnd: isoDay(holdEnd), ...report };
      printResult(io, opts.json, result, () => formatValidation(fit.model, fit.params, report, opts.timeUnit));
    });

  withSource(
    clv
      .command('predict')
      .description('write per-customer P(alive), expected purchases and CLV to a CSV file')
      .requiredOption('--out <file>', 'CSV file to write')
      .option('--until <date>', 'end of the observed history (default: the last purchase day)')
      .addOption(new Option('--model <model>', 'purchase model (spend: Gamma-Gamma)').choices(['bgnbd', 'pareto']).default('bgnbd'))
      .addOption(new Option('--horizon-days <n>', 'CLV horizon in days').argParser(positiveNumber('--horizon-days')).default(365))
      .addOption(new Option('--discount-rate <r>', 'yearly discount rate').argParser(nonNegativeNumber('--discount-rate')).default(0.1)),
  )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (opts: PredictFlags) => {
      const tx = await loadTransactions(opts);
      const until = opts.until !== undefined ? dateFlag('--until', opts.until) : lastDay(tx);
      const unitDays = opts.timeUnit === 'day' ? 1 : 7;
      const summaries = summarizeTransactions(tx, { calibrationEnd: until, unitDays });
      const lines = ['customer_id,x,t_x,T,monetary,p_alive,expected_purchases_90d,expected_purchases_horizon,expected_spend,clv'];
      let totalClv = 0;
      let models: Record<string, unknown>;
      if (opts.model === 'bgnbd') {
        const m = fitValueModels(summaries, { unitDays, now: until });
        models = { bgnbd: m.bgnbd.params, gammaGamma: m.gammaGamma?.params ?? null };
        for (const s of summaries) {
          const sc = scoreCustomer(m, s, { horizonDays: opts.horizonDays, discountRate: opts.discountRate });
          const horizon = scoreCustomer(m, s, { horizonDays: opts.horizonDays, discountRate: 0, purchaseWindowDays: opts.horizonDays });
          totalClv += sc.clv12m;
          lines.push(row(s, sc.pAlive, sc.expectedPurchases90d, horizon.expectedPurchases90d, sc.expectedSpend, sc.clv12m));
        }
      } else {
        const pn = fitParetoNbd(summaries);
        const gg = fitGammaGamma(summaries);
        models = { pareto: pn.params, gammaGamma: gg.params };
        const purchase = { model: 'pareto' as const, params: pn.params };
        for (const s of summaries) {
          const value = customerLifetimeValue({ purchase, spend: gg.params, unitDays, horizonDays: opts.horizonDays, discountRate: opts.discountRate }, s);
          const spend = gammaGammaExpectedSpend(gg.params, s.x, s.monetary ?? 0);
          totalClv += value;
          lines.push(
            row(
              s,
              paretoNbdProbabilityAlive(pn.params, s.x, s.tx, s.T),
              paretoNbdConditionalExpected(pn.params, 90 / unitDays, s.x, s.tx, s.T),
              paretoNbdConditionalExpected(pn.params, opts.horizonDays / unitDays, s.x, s.tx, s.T),
              spend,
              value,
            ),
          );
        }
      }
      writeFileSync(opts.out, lines.join('\n') + '\n');
      const result = { out: opts.out, customers: summaries.length, model: opts.model, params: models, horizonDays: opts.horizonDays, discountRate: opts.discountRate, totalClv, until: isoDay(until) };
      printResult(io, opts.json, result, () => `wrote ${summaries.length} customers to ${opts.out}; total CLV over ${opts.horizonDays} days: ${totalClv.toFixed(2)}`);
    });
};

function row(s: NamedSummary, pAlive: number, e90: number, eH: number, spend: number, clv: number): string {
  const id = /[",\n]/.test(s.customerId) ? `"${s.customerId.replace(/"/g, '""')}"` : s.customerId;
  return [id, s.x, num(s.tx), num(s.T), num(s.monetary ?? 0), num(pAlive), num(e90), num(eH), num(spend), num(clv)].join(',');
}

function num(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '';
}

/** Loads transactions from the CSV or the event log, turning bad input into usage errors (exit 2). */
async function loadTransactions(opts: SourceFlags): Promise<Transaction[]> {
  if (opts.fromLog && opts.csv) throw new UsageError('give either --from-log or --csv, not both');
  if (!opts.fromLog && !opts.csv) throw new UsageError('give a data source: --csv FILE (with --customer/--date/--amount) or --from-log');
  let tx: Transaction[];
  if (opts.csv) {
    let text: string;
    try {
      text = readFileSync(opts.csv, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --csv ${opts.csv}: ${(err as Error).message}`);
    }
    try {
      tx = parseTransactionsCsv(text, { customer: opts.customer, date: opts.date, amount: opts.amount });
    } catch (err) {
      if (err instanceof ValidationError) throw new UsageError(`${opts.csv}: ${err.message}`);
      throw err;
    }
  } else {
    const store = await openAppStore({ dataDir: opts.data, databaseUrl: opts.databaseUrl ?? null });
    try {
      // Customers as the engine resolved them (anonymous purchases joined to the identified customer);
      // events the processor has not seen yet fall back to their userId / anonymousId.
      const resolved = await store.engineFeed.customersOfEvents([VOCABULARY.orderCompleted, VOCABULARY.orderRefunded]);
      tx = await transactionsFromEvents(readAll(store.eventLog), (e) => resolved.get(e.seq) ?? e.userId ?? e.anonymousId ?? '');
    } finally {
      await store.close();
    }
  }
  if (tx.length === 0) throw new RapportError('insufficient_data', 'no transactions found in the data source');
  return tx;
}

/** Streams the whole event log in batches. */
async function* readAll(log: EventLog, batch = 5000): AsyncGenerator<StoredEvent> {
  let after = 0;
  for (;;) {
    const events = await log.read(after, batch);
    if (events.length === 0) return;
    yield* events;
    after = events[events.length - 1]!.seq;
  }
}

function dateFlag(name: string, v: string): number {
  const t = parseDate(v);
  if (t === null) throw new UsageError(`${name} must be a date like 1997-09-30, got '${v}'`);
  return t;
}

function lastDay(tx: readonly Transaction[]): number {
  let m = -Infinity;
  for (const t of tx) m = Math.max(m, t.time);
  return Math.floor(m / DAY_MS) * DAY_MS;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number ≥ 0, got '${v}'`);
    return n;
  };
}

const MODEL_NAMES: Record<string, string> = { bgnbd: 'BG/NBD', pareto: 'Pareto/NBD', 'gamma-gamma': 'Gamma-Gamma' };

function formatFit(f: FitDiagnostics<string> & { model: string; timeUnit: string; calibrationEnd: string; transactions: number }): string {
  const lines = [
    `${MODEL_NAMES[f.model] ?? f.model} fit on ${f.customers} customers (${f.distinctRows} distinct rows; ${f.transactions} transactions up to ${f.calibrationEnd}; time unit: ${f.timeUnit})`,
    '',
    `  ${'parameter'.padEnd(10)} ${'estimate'.padStart(12)} ${'std. error'.padStart(12)}`,
  ];
  for (const [name, value] of Object.entries(f.params)) {
    const se = f.standardErrors[name];
    lines.push(`  ${name.padEnd(10)} ${fmt(value).padStart(12)} ${(se == null ? 'n/a' : fmt(se)).padStart(12)}`);
  }
  lines.push('', `log-likelihood: ${f.logLikelihood.toFixed(4)}`);
  lines.push(`converged: ${f.converged ? 'yes' : 'NO'} (${f.iterations} iterations, ${f.evaluations} evaluations; ${f.message})`);
  return lines.join('\n');
}

function formatValidation(model: string, params: Record<string, number>, r: HoldoutReport, unit: string): string {
  const lines = [
    `${MODEL_NAMES[model]} calibrated on ${r.customers} customers: ${Object.entries(params).map(([k, v]) => `${k}=${fmt(v)}`).join(', ')}`,
    `holdout: ${fmt(r.holdoutLength)} ${unit}s`,
    '',
    `total repeat purchases in the holdout: actual ${r.totalActual}, predicted ${r.totalPredicted.toFixed(1)} (${pct(r.totalPredicted, r.totalActual)})`,
    `per-customer correlation (predicted vs actual): ${r.correlation.toFixed(3)}; mean absolute error: ${r.meanAbsoluteError.toFixed(3)}`,
    '',
    'by calibration repeat purchases:',
    `  ${'x'.padEnd(4)} ${'customers'.padStart(9)} ${'actual'.padStart(8)} ${'predicted'.padStart(10)}`,
  ];
  for (const g of r.frequencyGroups) {
    lines.push(`  ${g.group.padEnd(4)} ${String(g.customers).padStart(9)} ${g.actual.toFixed(3).padStart(8)} ${g.predicted.toFixed(3).padStart(10)}`);
  }
  lines.push('', `cumulative repeat purchases by ${unit} (* = holdout):`, `  ${unit.padEnd(6)} ${'actual'.padStart(8)} ${'predicted'.padStart(10)}`);
  for (const p of r.tracking) {
    lines.push(`  ${(String(p.period) + (p.holdout ? '*' : '')).padEnd(6)} ${String(p.actual).padStart(8)} ${p.predicted.toFixed(1).padStart(10)}`);
  }
  return lines.join('\n');
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toPrecision(5);
}

function pct(pred: number, actual: number): string {
  if (actual === 0) return 'n/a';
  const d = ((pred - actual) / actual) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} %`;
}
