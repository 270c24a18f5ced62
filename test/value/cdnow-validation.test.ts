import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  bgnbdConditionalExpected,
  fitBgNbd,
  fitGammaGamma,
  fitParetoNbd,
  holdoutPurchases,
  holdoutReport,
  parseCdnow,
  summarizeTransactions,
} from '../../src/value/index';
import { cdnowSummaries, cdnowText } from './cdnow-helpers';

const CAL_END = Date.UTC(1997, 8, 30);
const HOLDOUT_END = Date.UTC(1998, 5, 30);

/** |estimate − published| / published ≤ 1 %. */
function within1pct(actual: number, published: number): void {
  expect(Math.abs(actual - published) / published).toBeLessThanOrEqual(0.01);
}

describe('published CDNOW estimates (summary file, 2,357 customers)', () => {
  const rows = cdnowSummaries();

  it('has the documented shape', () => {
    expect(rows).toHaveLength(2357);
    expect(rows.reduce((s, r) => s + r.x, 0)).toBe(2457);
    expect(rows.filter((r) => r.x > 0)).toHaveLength(946);
  });

  it('BG/NBD: r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4 (FHL 2005)', () => {
    const fit = fitBgNbd(rows);
    expect(fit.converged).toBe(true);
    within1pct(fit.params.r, 0.243);
    within1pct(fit.params.alpha, 4.414);
    within1pct(fit.params.a, 0.793);
    within1pct(fit.params.b, 2.426);
    expect(Math.abs(fit.logLikelihood - -9582.4)).toBeLessThanOrEqual(0.1);
    for (const se of Object.values(fit.standardErrors)) expect(se).toBeGreaterThan(0);
    // Customer 1 (x=2, t_x=30.43, T=38.86): 1.226 expected purchases in the next 39 weeks.
    expect(bgnbdConditionalExpected(fit.params, 39, 2, 30.43, 38.86)).toBeCloseTo(1.226, 3);
  });

  it('Pareto/NBD: r=0.553, alpha=10.578, s=0.606, beta=11.669, LL=-9595.0', () => {
    const fit = fitParetoNbd(rows);
    expect(fit.converged).toBe(true);
    within1pct(fit.params.r, 0.553);
    within1pct(fit.params.alpha, 10.578);
    within1pct(fit.params.s, 0.606);
    within1pct(fit.params.beta, 11.669);
    expect(Math.abs(fit.logLikelihood - -9595.0)).toBeLessThanOrEqual(0.1);
  });

  it('Gamma-Gamma: p=6.25, q=3.74, v=15.44 on the 946 repeat customers', () => {
    const fit = fitGammaGamma(rows);
    expect(fit.customers).toBe(946);
    expect(fit.converged).toBe(true);
    within1pct(fit.params.p, 6.25);
    within1pct(fit.params.q, 3.74);
    within1pct(fit.params.v, 15.44);
  });
});

describe('transaction-log path: CDNOW_master transactions -> summaries', () => {
  // The paper's 1/10 sample: CDNOW_sample.txt lists the master ids of its 2,357 customers.
  const sample = cdnowText('CDNOW_sample.txt');
  const sampleIds = new Map<string, string>();
  for (const line of sample.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 5) sampleIds.set(String(Number(f[0])), String(Number(f[1])));
  }
  const master = parseCdnow(cdnowText('CDNOW_master.txt'));
  const tx = master
    .filter((t) => sampleIds.has(t.customerId))
    .map((t) => ({ ...t, customerId: sampleIds.get(t.customerId)! }));
  const summaries = summarizeTransactions(tx, { calibrationEnd: CAL_END, unitDays: 7 });
  const published = new Map(cdnowSummaries().map((r) => [r.id, r]));

  it('parses the full master file (69,659 rows, 23,570 customers)', () => {
    expect(master).toHaveLength(69659);
    expect(new Set(master.map((t) => t.customerId)).size).toBe(23570);
    expect(sampleIds.size).toBe(2357);
  });

  it('reproduces the summary file: x exactly, t_x and T to 2 decimals, zbar to the cent', () => {
    expect(summaries).toHaveLength(2357);
    for (const s of summaries) {
      const p = published.get(s.customerId)!;
      expect(s.x).toBe(p.x);
      expect(Math.abs(s.tx - p.tx)).toBeLessThanOrEqual(0.0051);
      expect(Math.abs(s.T - p.T)).toBeLessThanOrEqual(0.0051);
      expect(Math.abs((s.monetary ?? 0) - (p.monetary ?? 0))).toBeLessThanOrEqual(0.0051);
    }
  });

  it('gives the same fits as the summary file', () => {
    const fromLog = fitBgNbd(summaries);
    const fromFile = fitBgNbd(cdnowSummaries());
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      expect(Math.abs(fromLog.params[k] - fromFile.params[k]) / fromFile.params[k]).toBeLessThan(1e-3);
    }
    expect(Math.abs(fromLog.logLikelihood - -9582.4)).toBeLessThanOrEqual(0.1);
    const gg = fitGammaGamma(summaries);
    within1pct(gg.params.p, 6.25);
    within1pct(gg.params.q, 3.74);
    within1pct(gg.params.v, 15.44);
  });

  it('holdout: 1,882 actual repeat purchases in weeks 40-78; predictions track them', () => {
    const fit = fitBgNbd(summaries);
    const holdout = holdoutPurchases(tx, CAL_END, HOLDOUT_END);
    const report = holdoutReport({
      model: { model: 'bgnbd', params: fit.params },
      summaries,
      holdout,
      transactions: tx,
      calibrationEnd: CAL_END,
      holdoutEnd: HOLDOUT_END,
      unitDays: 7,
    });
    expect(report.totalActual).toBe(1882);
    expect(report.holdoutLength).toBeCloseTo(39, 6);
    expect(report.frequencyGroups.map((g) => g.customers)).toEqual([1411, 439, 214, 100, 62, 38, 29, 64]);
    // Frequency groups: actual rises with calibration frequency and predictions follow (FHL fig. 4).
    const g0 = report.frequencyGroups[0]!;
    const g7 = report.frequencyGroups[7]!;
    expect(Math.abs(g0.predicted - g0.actual)).toBeLessThan(0.05);
    expect(Math.abs(g7.predicted - g7.actual) / g7.actual).toBeLessThan(0.1);
    expect(report.correlation).toBeGreaterThan(0.55);
    // Cumulative tracking over 78 weeks ends at Σx + holdout = 2,457 + 1,882 repeat purchases.
    const last = report.tracking[report.tracking.length - 1]!;
    expect(report.tracking).toHaveLength(78);
    expect(last.actual).toBe(2457 + 1882);
    expect(Math.abs(last.predicted - last.actual) / last.actual).toBeLessThan(0.1);
    // Calibration ends 38.86 weeks after 1997-01-01: week 38 is the last whole calibration week.
    const calibrationWeeks = report.tracking.filter((p) => !p.holdout);
    expect(calibrationWeeks).toHaveLength(Math.floor((CAL_END - Date.UTC(1997, 0, 1)) / (7 * DAY_MS)));
    const wk38 = calibrationWeeks[calibrationWeeks.length - 1]!;
    expect(wk38.actual).toBeLessThanOrEqual(2457);
    expect(Math.abs(wk38.predicted - wk38.actual) / wk38.actual).toBeLessThan(0.05);
  });
});
