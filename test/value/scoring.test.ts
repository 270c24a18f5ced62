import { describe, expect, it } from 'vitest';
import {
  clvHistogram,
  customerLifetimeValue,
  fitValueModels,
  heavyUserThreshold,
  paretoCurve,
  rfmScores,
  scoreCustomer,
} from '../../src/value/index';
import { cdnowSummaries } from './cdnow-helpers';

const rows = cdnowSummaries();
const models = fitValueModels(rows, { unitDays: 7, now: Date.UTC(1997, 8, 30) });

describe('fitValueModels / scoreCustomer', () => {
  it('fits BG/NBD and Gamma-Gamma and records the given fit time', () => {
    expect(models.bgnbd.params.r).toBeCloseTo(0.2426, 3);
    expect(models.gammaGamma?.params.p).toBeCloseTo(6.25, 1);
    expect(models.fittedAt).toBe(Date.UTC(1997, 8, 30));
  });

  it('agrees with the reference CLV (stdlib ₂F₁, no caches) for every CDNOW customer', () => {
    const opts = { horizonDays: 365, discountRate: 0.1 };
    for (const s of rows) {
      const fast = scoreCustomer(models, s, opts);
      const ref = customerLifetimeValue(
        { purchase: { model: 'bgnbd', params: models.bgnbd.params }, spend: models.gammaGamma!.params, unitDays: 7, ...opts },
        s,
      );
      expect(Math.abs(fast.clv12m - ref)).toBeLessThanOrEqual(1e-8 * Math.max(1, ref));
      expect(fast.pAlive).toBeGreaterThan(0);
      expect(fast.pAlive).toBeLessThanOrEqual(1);
      expect(Number.isFinite(fast.expectedPurchases90d)).toBe(true);
    }
  });

  it('is deterministic and unaffected by its caches (same result twice, other options in between)', () => {
    const s = rows[0]!;
    const first = scoreCustomer(models, s);
    scoreCustomer(models, s, { horizonDays: 100, discountRate: 0 });
    expect(scoreCustomer(models, s)).toEqual(first);
  });

  it('discounting lowers CLV; a longer horizon raises it', () => {
    const s = rows[0]!;
    const base = scoreCustomer(models, s, { discountRate: 0.1 }).clv12m;
    expect(scoreCustomer(models, s, { discountRate: 0 }).clv12m).toBeGreaterThan(base);
    expect(scoreCustomer(models, s, { horizonDays: 730, discountRate: 0.1 }).clv12m).toBeGreaterThan(base);
  });

  it('uses the fallback spend when Gamma-Gamma cannot be fitted', () => {
    const few = [
      { x: 0, tx: 0, T: 30 },
      { x: 2, tx: 20, T: 30, monetary: 10 },
      { x: 1, tx: 5, T: 30 },
      { x: 0, tx: 0, T: 12 },
    ];
    const m = fitValueModels(few, { now: 0 });
    expect(m.gammaGamma).toBeNull();
    expect(m.fallbackSpend).toBe(10);
    expect(scoreCustomer(m, few[1]!).expectedSpend).toBe(10);
  });
});

describe('distribution helpers', () => {
  it('heavyUserThreshold picks the value at the top-20 % boundary', () => {
    const values = Array.from({ length: 10 }, (_, i) => i + 1); // 1..10
    expect(heavyUserThreshold(values)).toBe(9);
    expect(heavyUserThreshold(values, 0.5)).toBe(6);
    expect(heavyUserThreshold([])).toBe(Infinity);
  });

  it('paretoCurve is monotone and ends at 100 %', () => {
    const curve = paretoCurve([100, 1, 1, 1, 1, 1, 1, 1, 1, 1], 10);
    expect(curve).toHaveLength(10);
    expect(curve[0]).toEqual({ percentile: 10, revenueShare: 100 / 109 });
    expect(curve[9]!.revenueShare).toBe(1);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.revenueShare).toBeGreaterThanOrEqual(curve[i - 1]!.revenueShare);
  });

  it('clvHistogram counts every value once', () => {
    const values = rows.map((s) => scoreCustomer(models, s).clv12m);
    const hist = clvHistogram(values, 10);
    expect(hist).toHaveLength(10);
    expect(hist.reduce((s, b) => s + b.count, 0)).toBe(values.length);
    expect(hist[0]!.from).toBe(0);
  });

  it('rfmScores gives quintiles and segments', () => {
    const input = Array.from({ length: 10 }, (_, i) => ({ customerId: `c${i}`, recency: 10 - i, frequency: i, monetary: i * 10 }));
    const scores = rfmScores(input);
    expect(scores[9]).toMatchObject({ r: 5, f: 5, m: 5, code: '555', segment: 'champions' });
    expect(scores[0]).toMatchObject({ r: 1, f: 1, m: 1, segment: 'lost' });
  });
});
