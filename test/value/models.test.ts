import { describe, expect, it } from 'vitest';
import { RapportError } from '../../src/domain/errors';
import {
  bgnbdConditionalExpected,
  bgnbdExpected,
  bgnbdExpectedFast,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  bgnbdProbabilityOfN,
  fitBgNbd,
  fitGammaGamma,
  fitParetoNbd,
  gammaGammaExpectedSpend,
  newCoefficientCache,
  paretoNbdConditionalExpected,
  paretoNbdExpected,
  paretoNbdLogLikelihood,
  paretoNbdProbabilityAlive,
  hyp2f1Cplus1,
  simulateBgNbdCustomers,
  type BgNbdParams,
  type ParetoNbdParams,
} from '../../src/value/index';
import { hyp2f1, lnGamma } from '../../src/value/special';

const BG: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const PN: ParetoNbdParams = { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };

/** Composite Simpson rule on [lo, hi] with n (even) intervals. */
function simpson(f: (x: number) => number, lo: number, hi: number, n = 20000): number {
  const h = (hi - lo) / n;
  let s = f(lo) + f(hi);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(lo + i * h);
  return (s * h) / 3;
}

describe('BG/NBD formulas', () => {
  it('P(X(t)=n) sums to 1 and its mean equals E[X(t)]', () => {
    for (const t of [1, 10, 39, 78]) {
      let total = 0;
      let mean = 0;
      for (let n = 0; n < 400; n++) {
        const pn = bgnbdProbabilityOfN(BG, t, n);
        expect(pn).toBeGreaterThanOrEqual(0);
        total += pn;
        mean += n * pn;
      }
      expect(total).toBeCloseTo(1, 8);
      expect(mean).toBeCloseTo(bgnbdExpected(BG, t), 5);
    }
  });

  it('P(alive) is 1 without repeats and falls as the last purchase ages', () => {
    expect(bgnbdProbabilityAlive(BG, 0, 0, 30)).toBe(1);
    const recent = bgnbdProbabilityAlive(BG, 3, 30, 32);
    const old = bgnbdProbabilityAlive(BG, 3, 5, 32);
    expect(recent).toBeGreaterThan(old);
    expect(old).toBeGreaterThan(0);
    expect(recent).toBeLessThan(1);
  });

  it('conditional expectation for a brand-new customer (x=0, T=0) equals E[X(t)]', () => {
    expect(bgnbdConditionalExpected(BG, 39, 0, 0, 0)).toBeCloseTo(bgnbdExpected(BG, 39), 10);
  });

  it('the cached-coefficient series agrees with stdlib ₂F₁ (incl. z close to 1 and a > 1)', () => {
    for (const p of [BG, { r: 1.3, alpha: 0.5, a: 2.5, b: 4 }, { r: 0.2, alpha: 20, a: 0.3, b: 0.9 }]) {
      const cache = newCoefficientCache();
      for (const x of [0, 1, 5, 30]) {
        for (const T of [0, 1, 38.86, 200]) {
          for (const t of [0.5, 13, 52, 520, 5000]) {
            const fast = bgnbdExpectedFast(cache, p, t, x, T) * bgnbdProbabilityAlive(p, x, T / 2, T);
            const ref = bgnbdConditionalExpected(p, t, x, T / 2, T);
            expect(Math.abs(fast - ref)).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(ref)));
          }
        }
      }
    }
  });

  it('log-likelihood equals the direct (non-log) formula of FHL eq. 6', () => {
    const rows = [
      { x: 0, tx: 0, T: 38.86 },
      { x: 2, tx: 30.43, T: 38.86 },
      { x: 7, tx: 12, T: 20 },
    ];
    const { r, alpha, a, b } = BG;
    const B = (p: number, q: number) => Math.exp(lnGamma(p) + lnGamma(q) - lnGamma(p + q));
    let direct = 0;
    for (const { x, tx, T } of rows) {
      const g = Math.exp(lnGamma(r + x) - lnGamma(r)) * alpha ** r;
      let L = (B(a, b + x) / B(a, b)) * g / (alpha + T) ** (r + x);
      if (x > 0) L += (B(a + 1, b + x - 1) / B(a, b)) * g / (alpha + tx) ** (r + x);
      direct += Math.log(L);
    }
    expect(bgnbdLogLikelihood(BG, rows)).toBeCloseTo(direct, 10);
  });

  it('recovers the parameters of a simulated base (seeded)', () => {
    const truth = { r: 0.5, alpha: 6, a: 0.7, b: 3 };
    const sims = simulateBgNbdCustomers({ customers: 20000, bgnbd: truth, spend: { p: 6, q: 4, v: 15 }, seed: 7 });
    const fit = fitBgNbd(sims);
    expect(fit.converged).toBe(true);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      // Within 3 standard errors of the truth.
      expect(Math.abs(fit.params[k] - truth[k])).toBeLessThan(3 * fit.standardErrors[k]!);
    }
    const gg = fitGammaGamma(sims);
    expect(Math.abs(gg.params.p - 6)).toBeLessThan(3 * gg.standardErrors.p!);
  });
});

describe('Pareto/NBD formulas', () => {
  it('the ₂F₁(a, b; a+1; z) series agrees with stdlib on both sides of its z ≤ 0.5 switch', () => {
    for (const a of [0.3, 1.16, 5, 40.5]) {
      for (const b of [0.2, 1.6, 12, 60]) {
        for (const z of [0, 0.01, 0.2, 0.5, 0.51, 0.9, 0.999]) {
          const ref = hyp2f1(a, b, a + 1, z);
          expect(Math.abs(hyp2f1Cplus1(a, b, z) - ref)).toBeLessThanOrEqual(1e-12 * Math.abs(ref));
        }
      }
    }
  });

  it('likelihood matches direct numerical integration over the death time', () => {
    // L = Γ(r+x)αʳβˢ/Γ(r) · [(α+T)^−(r+x) (β+T)^−s + s ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ]
    for (const p of [PN, { ...PN, alpha: 3, beta: 40 }, { ...PN, alpha: 40, beta: 3 }]) {
      for (const [x, tx, T] of [
        [0, 0, 38.86],
        [2, 30.43, 38.86],
        [10, 5, 39],
        [1, 39, 39],
      ] as const) {
        const { r, alpha, s, beta } = p;
        const integral = simpson((tau) => (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), tx, T);
        const front = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha) + s * Math.log(beta);
        const direct = front + Math.log((alpha + T) ** -(r + x) * (beta + T) ** -s + s * integral);
        expect(paretoNbdLogLikelihood(p, [{ x, tx, T }])).toBeCloseTo(direct, 8);
      }
    }
  });

  it('P(alive) is 1 when the last purchase is now, and in (0, 1) otherwise', () => {
    expect(paretoNbdProbabilityAlive(PN, 3, 39, 39)).toBeCloseTo(1, 12);
    const pa = paretoNbdProbabilityAlive(PN, 0, 0, 38.86);
    expect(pa).toBeGreaterThan(0);
    expect(pa).toBeLessThan(1);
  });

  it('conditional expectation of a new customer equals the unconditional one; s = 1 limit is continuous', () => {
    expect(paretoNbdConditionalExpected(PN, 39, 0, 0, 0)).toBeCloseTo(paretoNbdExpected(PN, 39), 10);
    const near = paretoNbdConditionalExpected({ ...PN, s: 1 + 1e-7 }, 20, 2, 10, 30);
    const at = paretoNbdConditionalExpected({ ...PN, s: 1 }, 20, 2, 10, 30);
    expect(at).toBeCloseTo(near, 6);
  });
});

describe('Gamma-Gamma', () => {
  it('conditional spend shrinks the observed mean towards the population mean', () => {
    const g = { p: 6.25, q: 3.74, v: 15.44 };
    const population = (g.p * g.v) / (g.q - 1);
    expect(gammaGammaExpectedSpend(g, 0, 0)).toBeCloseTo(population, 10);
    const one = gammaGammaExpectedSpend(g, 1, 100);
    const many = gammaGammaExpectedSpend(g, 20, 100);
    expect(one).toBeGreaterThan(population);
    expect(one).toBeLessThan(many);
    expect(many).toBeLessThan(100);
  });
});

describe('insufficient data gives a named error, never NaN', () => {
  const noRepeats = [
    { x: 0, tx: 0, T: 10 },
    { x: 0, tx: 0, T: 20 },
  ];
  it.each([
    ['BG/NBD', () => fitBgNbd(noRepeats)],
    ['BG/NBD (empty)', () => fitBgNbd([])],
    ['Pareto/NBD', () => fitParetoNbd(noRepeats)],
    ['Gamma-Gamma', () => fitGammaGamma([{ x: 2, monetary: 10 }])],
  ])('%s', (_name, run) => {
    expect(run).toThrowError(RapportError);
    try {
      run();
    } catch (err) {
      expect((err as RapportError).code).toBe('insufficient_data');
    }
  });

  it('rejects impossible summaries with invalid_input', () => {
    try {
      fitBgNbd([{ x: 1, tx: 50, T: 10 }]);
      expect.unreachable();
    } catch (err) {
      expect((err as RapportError).code).toBe('invalid_input');
    }
  });
});
