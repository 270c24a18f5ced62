/** Public API of the customer-value models (BG/NBD, Pareto/NBD, Gamma-Gamma, CLV, RFM). */
export * from './bgnbd';
export * from './pareto-nbd';
export * from './gamma-gamma';
export * from './clv';
export * from './rfm';
export * from './summary';
export * from './transactions';
export * from './validation';
export type { FitDiagnostics } from './fit-result';
export * from './simulate';
