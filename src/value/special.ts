/**
 * Special functions used by the customer-value models. Gamma-family functions and the Gauss
 * hypergeometric function come from stdlib (well tested, Cephes-derived); only the tiny
 * log-space helpers live here.
 */
import gammalnImpl from '@stdlib/math-base-special-gammaln';
import digammaImpl from '@stdlib/math-base-special-digamma';
import hyp2f1Impl from '@stdlib/math-base-special-hyp2f1';

/** ln Γ(x). */
export const lnGamma: (x: number) => number = gammalnImpl;

/** ψ(x) = d/dx ln Γ(x). */
export const digamma: (x: number) => number = digammaImpl;

/** Gauss hypergeometric function ₂F₁(a, b; c; z). */
export const hyp2f1: (a: number, b: number, c: number, z: number) => number = hyp2f1Impl;

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** ln(eᵃ + eᵇ) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** ln(eᵃ − eᵇ) for a ≥ b (−∞ when equal). */
export function logSubExp(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (b >= a) return -Infinity;
  const d = b - a;
  // log(1 - e^d): log1p(-e^d) is accurate for d < -ln 2, log(-expm1(d)) near 0.
  return a + (d < -Math.LN2 ? Math.log1p(-Math.exp(d)) : Math.log(-Math.expm1(d)));
}
