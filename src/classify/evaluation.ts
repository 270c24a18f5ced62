import { createRng, shuffle } from '../domain/random';

/** Per-class precision, recall and F1. */
export interface ClassScores {
  readonly label: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

/** A classification report: what every CV command prints. */
export interface EvaluationReport {
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perClass: ClassScores[];
  /** Labels in row/column order of `confusion`. */
  readonly labels: string[];
  /** confusion[i][j] = count of true labels[i] predicted as labels[j]. */
  readonly confusion: number[][];
  readonly n: number;
}

/**
 * Stratified k-fold split: returns, per fold, the indices of the test part.
 * Each class is spread evenly over the folds; the order is seeded.
 */
export function stratifiedFolds(labels: readonly string[], k: number, seed: number): number[][] {
  const rng = createRng(seed);
  const byClass = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const list = byClass.get(l) ?? [];
    list.push(i);
    byClass.set(l, list);
  });
  const folds: number[][] = Array.from({ length: k }, () => []);
  let offset = 0;
  for (const key of [...byClass.keys()].sort()) {
    const idx = shuffle([...(byClass.get(key) ?? [])], rng);
    idx.forEach((i, j) => folds[(j + offset) % k]!.push(i));
    offset += idx.length;
  }
  return folds.map((f) => f.sort((a, b) => a - b));
}

/** Builds the report from true and predicted labels. */
export function evaluate(truth: readonly string[], predicted: readonly string[], labelOrder?: readonly string[]): EvaluationReport {
  const labels = labelOrder ? [...labelOrder] : [...new Set([...truth, ...predicted])].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  const confusion = labels.map(() => labels.map(() => 0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = index.get(truth[i]!);
    const p = index.get(predicted[i]!);
    if (t === undefined || p === undefined) continue;
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const perClass = labels.map((label, i) => {
    const tp = confusion[i]![i]!;
    const support = confusion[i]!.reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((a, row) => a + row[i]!, 0);
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const present = perClass.filter((c) => c.support > 0);
  const macroF1 = present.length ? present.reduce((a, c) => a + c.f1, 0) / present.length : 0;
  return { accuracy: truth.length ? correct / truth.length : 0, macroF1, perClass, labels, confusion, n: truth.length };
}

/** Renders a report as a plain-text table for the CLI. */
export function formatReport(report: EvaluationReport): string {
  const pct = (x: number) => (x * 100).toFixed(1).padStart(5) + ' %';
  const width = Math.max(8, ...report.labels.map((l) => l.length));
  const lines = [
    `n=${report.n}  accuracy ${pct(report.accuracy)}  macro-F1 ${pct(report.macroF1)}`,
    '',
    `${'type'.padEnd(width)}  precision     recall         F1  support`,
    ...report.perClass.map(
      (c) => `${c.label.padEnd(width)}  ${pct(c.precision)}  ${pct(c.recall)}  ${pct(c.f1)}  ${String(c.support).padStart(7)}`,
    ),
    '',
    'confusion (rows = true, columns = predicted):',
    `${''.padEnd(width)}  ${report.labels.map((_, j) => String(j).padStart(6)).join('')}`,
    ...report.confusion.map((row, i) => `${`${i} ${report.labels[i]}`.padEnd(width + 2).slice(0, width + 2)}${row.map((v) => String(v).padStart(6)).join('')}`),
  ];
  return lines.join('\n');
}
