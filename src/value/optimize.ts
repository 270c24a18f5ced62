/**
 * Small unconstrained optimiser (BFGS with a backtracking Armijo line search) and a
 * finite-difference Hessian for standard errors.
 *
 * Why hand-rolled: the one maintained-looking npm optimiser, `fmin` 0.0.4, ships a UMD build
 * inside a `"type": "module"` package, so Node's ESM loader sees no exports; its conjugate-gradient
 * routine also stops on a fixed absolute gradient norm of 1e-5 and reports no convergence status.
 * The value models have 3-4 parameters, analytic gradients (except Pareto/NBD, which uses central
 * differences) and need to fit in milliseconds, which a dense BFGS does in a few dozen iterations.
 * It is tested in test/value/optimize.test.ts (Rosenbrock, quadratic, non-finite regions).
 */

/** Objective: returns f(x) and, when `grad` is given, writes ∇f(x) into it. */
export type Objective = (x: Float64Array, grad: Float64Array | null) => number;

/** Options for {@link minimizeBfgs}. */
export interface BfgsOptions {
  /** Stop when max |∇f| falls below this (default 1e-8). */
  gradientTolerance?: number;
  /** Stop when the relative decrease of f in one step is below this for two steps (default 1e-14). */
  functionTolerance?: number;
  /** Iteration cap (default 500). */
  maxIterations?: number;
  /** Largest step (max-norm) tried in one line search (default 4). Keeps log-parameters from overflowing. */
  maxStep?: number;
}

/** Outcome of a minimisation. */
export interface MinimizeResult {
  x: Float64Array;
  f: number;
  gradient: Float64Array;
  iterations: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

/** Minimises `f` from `x0` with BFGS (inverse-Hessian form). */
export function minimizeBfgs(f: Objective, x0: ArrayLike<number>, opts: BfgsOptions = {}): MinimizeResult {
  const n = x0.length;
  const gtol = opts.gradientTolerance ?? 1e-8;
  const ftol = opts.functionTolerance ?? 1e-14;
  const maxIter = opts.maxIterations ?? 500;
  const maxStep = opts.maxStep ?? 4;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let fx = f(x, g);
  let evaluations = 1;
  if (!Number.isFinite(fx) || !allFinite(g)) {
    return { x, f: fx, gradient: g, iterations: 0, evaluations, converged: false, message: 'objective not finite at the start' };
  }
  const H = identity(n);
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  const Hy = new Float64Array(n);
  let smallSteps = 0;
  let firstUpdate = true;
  for (let iter = 1; iter <= maxIter; iter++) {
    if (maxAbs(g) < gtol) return done(iter - 1, true, 'gradient below tolerance');
    // Search direction d = -H g; fall back to steepest descent if not a descent direction.
    let slope = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v -= H[i * n + j]! * g[j]!;
      d[i] = v;
      slope += v * g[i]!;
    }
    if (!(slope < 0)) {
      resetIdentity(H, n);
      firstUpdate = true;
      slope = 0;
      for (let i = 0; i < n; i++) {
        d[i] = -g[i]!;
        slope -= g[i]! * g[i]!;
      }
    }
    let step = Math.min(1, maxStep / Math.max(maxAbs(d), 1e-300));
    let fNew = NaN;
    let accepted = false;
    for (let k = 0; k < 60; k++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * d[i]!;
      fNew = f(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && allFinite(gNew) && fNew <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= Number.isFinite(fNew) ? 0.5 : 0.1;
    }
    if (!accepted) {
      if (!firstUpdate) {
        // Stale curvature: restart from steepest descent once before giving up.
        resetIdentity(H, n);
        firstUpdate = true;
        continue;
      }
      return done(iter, maxAbs(g) < Math.sqrt(gtol), 'line search found no decrease');
    }
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
      sy += s[i]! * y[i]!;
      yy += y[i]! * y[i]!;
    }
    const relDecrease = (fx - fNew) / Math.max(1, Math.abs(fx));
    x = Float64Array.from(xNew);
    g = Float64Array.from(gNew);
    fx = fNew;
    if (sy > 1e-300) {
      if (firstUpdate) {
        // Scale the initial inverse Hessian (Nocedal & Wright 6.20).
        const scale = sy / yy;
        resetIdentity(H, n, scale);
        firstUpdate = false;
      }
      // H <- (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ
      const rho = 1 / sy;
      let yHy = 0;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j]! * y[j]!;
        Hy[i] = v;
        yHy += y[i]! * v;
      }
      const c = (1 + rho * yHy) * rho;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] = H[i * n + j]! - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!) + c * s[i]! * s[j]!;
        }
      }
    }
    smallSteps = relDecrease < ftol ? smallSteps + 1 : 0;
    if (smallSteps >= 2) return done(iter, maxAbs(g) < Math.sqrt(gtol), 'function change below tolerance');
  }
  return done(maxIter, false, 'iteration limit reached');

  function done(iterations: number, converged: boolean, message: string): MinimizeResult {
    return { x, f: fx, gradient: g, iterations, evaluations, converged, message };
  }
}

/**
 * Finite-difference gradient for a function-only objective (models without analytic gradients).
 * Far from the optimum (max |∇f| above `switchAt`) forward differences are used — n+1 evaluations
 * instead of 2n+1, and their O(h) error does not matter there; near the optimum central differences
 * give the accuracy the convergence test needs. The choice depends only on the previous gradient,
 * so a fit is deterministic.
 */
export function withNumericGradient(fn: (x: Float64Array) => number, opts: { switchAt?: number } = {}): Objective {
  const switchAt = opts.switchAt ?? 1e-3;
  let lastMax = Infinity;
  return (x, grad) => {
    const f0 = fn(x);
    if (grad) {
      const central = lastMax <= switchAt;
      const xp = Float64Array.from(x);
      let m = 0;
      for (let i = 0; i < x.length; i++) {
        const scale = Math.max(1, Math.abs(x[i]!));
        if (central) {
          const h = 1e-6 * scale;
          xp[i] = x[i]! + h;
          const fp = fn(xp);
          xp[i] = x[i]! - h;
          const fm = fn(xp);
          grad[i] = (fp - fm) / (2 * h);
        } else {
          const h = 1e-8 * scale;
          xp[i] = x[i]! + h;
          grad[i] = (fn(xp) - f0) / h;
        }
        xp[i] = x[i]!;
        m = Math.max(m, Math.abs(grad[i]!));
      }
      if (Number.isFinite(f0)) lastMax = m;
    }
    return f0;
  };
}

/**
 * Hessian of `fn` at `x` by central differences of function values (symmetric by construction).
 * Step per coordinate is `relStep · max(|xᵢ|, 1e-3)`.
 */
export function numericalHessian(fn: (x: Float64Array) => number, x: ArrayLike<number>, relStep = 1e-4): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const p = Float64Array.from(x);
  const h = Array.from(x, (v) => relStep * Math.max(Math.abs(v), 1e-3));
  const f0 = fn(p);
  const at = (i: number, di: number, j: number, dj: number): number => {
    p[i] = p[i]! + di;
    p[j] = p[j]! + dj;
    const v = fn(p);
    p[i] = x[i]!;
    p[j] = x[j]!;
    return v;
  };
  for (let i = 0; i < n; i++) {
    const hi = h[i]!;
    H[i * n + i] = (at(i, hi, i, 0) - 2 * f0 + at(i, -hi, i, 0)) / (hi * hi);
    for (let j = i + 1; j < n; j++) {
      const hj = h[j]!;
      const v = (at(i, hi, j, hj) - at(i, hi, j, -hj) - at(i, -hi, j, hj) + at(i, -hi, j, -hj)) / (4 * hi * hj);
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * Hessian from an analytic gradient by central differences (2n gradient calls instead of the
 * 2n² + 1 function calls of {@link numericalHessian}), symmetrised.
 */
export function hessianFromGradient(grad: (x: Float64Array, out: Float64Array) => void, x: ArrayLike<number>, relStep = 1e-5): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const p = Float64Array.from(x);
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = relStep * Math.max(Math.abs(x[i]!), 1e-3);
    p[i] = x[i]! + h;
    grad(p, gp);
    p[i] = x[i]! - h;
    grad(p, gm);
    p[i] = x[i]!;
    for (let j = 0; j < n; j++) H[i * n + j] = (gp[j]! - gm[j]!) / (2 * h);
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = (H[i * n + j]! + H[j * n + i]!) / 2;
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * Standard errors from a Hessian of the negative log-likelihood: √diag(H⁻¹).
 * Returns null entries when H is not positive definite (the optimum is not a proper maximum).
 */
export function standardErrors(H: Float64Array, n: number): (number | null)[] {
  const inv = invertSymmetric(H, n);
  if (!inv) return new Array<number | null>(n).fill(null);
  return Array.from({ length: n }, (_, i) => {
    const v = inv[i * n + i]!;
    return v > 0 && Number.isFinite(v) ? Math.sqrt(v) : null;
  });
}

/** Inverse of a symmetric positive-definite matrix by Cholesky; null if not positive definite. */
export function invertSymmetric(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) return null;
        L[i * n + i] = Math.sqrt(sum);
      } else {
        L[i * n + j] = sum / L[j * n + j]!;
      }
    }
  }
  // inv = L⁻ᵀ L⁻¹ ; compute L⁻¹ column by column.
  const Linv = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let sum = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) sum -= L[i * n + k]! * Linv[k * n + c]!;
      Linv[i * n + c] = sum / L[i * n + i]!;
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += Linv[k * n + i]! * Linv[k * n + j]!;
      inv[i * n + j] = sum;
    }
  }
  return inv;
}

function identity(n: number): Float64Array {
  const H = new Float64Array(n * n);
  resetIdentity(H, n);
  return H;
}

function resetIdentity(H: Float64Array, n: number, scale = 1): void {
  H.fill(0);
  for (let i = 0; i < n; i++) H[i * n + i] = scale;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

function allFinite(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false;
  return true;
}
