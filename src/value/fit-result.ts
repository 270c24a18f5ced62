/** Shared shape of a maximum-likelihood fit report, and the helper that builds one. */
import { RapportError } from '../domain/errors';
import { hessianFromGradient, minimizeBfgs, numericalHessian, standardErrors, type Objective } from './optimize';

/** Diagnostics every model fit reports. */
export interface FitDiagnostics<P extends string> {
  /** Maximum-likelihood estimates. */
  params: Record<P, number>;
  /** Standard errors from the inverse numerical Hessian of −LL at the optimum (null if not positive definite). */
  standardErrors: Record<P, number | null>;
  /** Total log-likelihood at the optimum. */
  logLikelihood: number;
  /** Customers the model was fitted on. */
  customers: number;
  /** Distinct rows after aggregation (the likelihood is evaluated once per row). */
  distinctRows: number;
  converged: boolean;
  iterations: number;
  evaluations: number;
  message: string;
}

/**
 * Maximises a log-likelihood over positive parameters: BFGS on log-parameters of the mean
 * negative log-likelihood, then standard errors from the Hessian in natural parameters.
 * `meanNll(logParams, grad)` must return −LL / customers and its gradient w.r.t. log-parameters.
 */
export function fitPositive<P extends string>(
  names: readonly P[],
  start: readonly number[],
  meanNll: Objective,
  customers: number,
  distinctRows: number,
  model: string,
  analyticGradient = true,
): FitDiagnostics<P> {
  const opt = minimizeBfgs(meanNll, start.map(Math.log), { gradientTolerance: 1e-9 });
  const params = Array.from(opt.x, Math.exp);
  if (!params.every((p) => Number.isFinite(p) && p > 0) || !Number.isFinite(opt.f)) {
    throw new RapportError('fit_failed', `${model} fit did not reach a finite optimum (${opt.message})`);
  }
  // Hessian of the total −LL in natural parameters: from the analytic gradient when there is one.
  const toLog = (p: Float64Array) => Float64Array.from(p, (v) => (v > 0 ? Math.log(v) : NaN));
  const H = analyticGradient
    ? hessianFromGradient((p, out) => {
        meanNll(toLog(p), out);
        for (let i = 0; i < out.length; i++) out[i] = (out[i]! * customers) / p[i]!;
      }, params)
    : numericalHessian((p) => meanNll(toLog(p), null) * customers, params);
  const se = standardErrors(H, names.length);
  const paramRecord = {} as Record<P, number>;
  const seRecord = {} as Record<P, number | null>;
  names.forEach((name, i) => {
    paramRecord[name] = params[i]!;
    seRecord[name] = se[i] ?? null;
  });
  return {
    params: paramRecord,
    standardErrors: seRecord,
    logLikelihood: -opt.f * customers,
    customers,
    distinctRows,
    converged: opt.converged,
    iterations: opt.iterations,
    evaluations: opt.evaluations,
    message: opt.message,
  };
}
