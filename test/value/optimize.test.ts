import { describe, expect, it } from 'vitest';
import { invertSymmetric, minimizeBfgs, numericalHessian, standardErrors, withNumericGradient } from '../../src/value/optimize';

describe('minimizeBfgs', () => {
  it('finds the Rosenbrock minimum with an analytic gradient', () => {
    const res = minimizeBfgs((x, g) => {
      const a = x[0]!;
      const b = x[1]!;
      if (g) {
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
      }
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    }, [-1.2, 1]);
    expect(res.converged).toBe(true);
    expect(res.x[0]).toBeCloseTo(1, 6);
    expect(res.x[1]).toBeCloseTo(1, 6);
  });

  it('minimises a quadratic with a numeric gradient', () => {
    const f = withNumericGradient((x) => (x[0]! - 3) ** 2 + 2 * (x[1]! + 1) ** 2 + (x[0]! - 3) * (x[1]! + 1));
    const res = minimizeBfgs(f, [0, 0], { gradientTolerance: 1e-7 });
    expect(res.x[0]).toBeCloseTo(3, 5);
    expect(res.x[1]).toBeCloseTo(-1, 5);
  });

  it('backs off from regions where the objective is not finite', () => {
    // −log(x) + x has its minimum at 1 and is NaN for x ≤ 0; a full step from 0.1 overshoots into x < 0.
    const res = minimizeBfgs((x, g) => {
      const v = x[0]!;
      if (g) g[0] = -1 / v + 1;
      return v > 0 ? -Math.log(v) + v : NaN;
    }, [0.01], { maxStep: 100 });
    expect(res.converged).toBe(true);
    expect(res.x[0]).toBeCloseTo(1, 6);
  });

  it('reports a non-finite start instead of looping', () => {
    const res = minimizeBfgs(() => NaN, [1]);
    expect(res.converged).toBe(false);
    expect(res.message).toMatch(/not finite/);
  });
});

describe('Hessian and standard errors', () => {
  it('numerical Hessian of a quadratic form is exact enough; SEs are √diag(H⁻¹)', () => {
    const A = [4, 1, 1, 3];
    const f = (x: Float64Array) => 0.5 * (A[0]! * x[0]! ** 2 + 2 * A[1]! * x[0]! * x[1]! + A[3]! * x[1]! ** 2);
    const H = numericalHessian(f, [0.5, 2]);
    for (let i = 0; i < 4; i++) expect(H[i]).toBeCloseTo(A[i]!, 4);
    const inv = invertSymmetric(Float64Array.from(A), 2)!;
    // A⁻¹ = 1/11 · [3 −1; −1 4]
    expect(inv[0]).toBeCloseTo(3 / 11, 12);
    expect(inv[1]).toBeCloseTo(-1 / 11, 12);
    expect(standardErrors(Float64Array.from(A), 2)).toEqual([Math.sqrt(3 / 11), Math.sqrt(4 / 11)].map((v) => expect.closeTo(v, 12)));
  });

  it('gives null standard errors for a matrix that is not positive definite', () => {
    expect(standardErrors(Float64Array.of(1, 2, 2, 1), 2)).toEqual([null, null]);
  });
});
