import { describe, expect, it } from 'vitest';
import { evaluate, stratifiedFolds } from '../../src/classify/evaluation';

describe('evaluate', () => {
  it('computes accuracy, macro-F1 and the confusion matrix', () => {
    const r = evaluate(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'b']);
    expect(r.accuracy).toBe(0.75);
    expect(r.confusion).toEqual([
      [1, 1],
      [0, 2],
    ]);
    // a: p=1 r=.5 f1=.667; b: p=.667 r=1 f1=.8
    expect(r.macroF1).toBeCloseTo((2 / 3 + 0.8) / 2, 6);
  });
});

describe('stratifiedFolds', () => {
  it('covers every index once and spreads each class over the folds', () => {
    const labels = [...Array(30)].map((_, i) => (i % 3 === 0 ? 'x' : 'y'));
    const folds = stratifiedFolds(labels, 5, 7);
    expect(folds.flat().sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    for (const f of folds) expect(f.filter((i) => labels[i] === 'x').length).toBe(2);
    expect(stratifiedFolds(labels, 5, 7)).toEqual(folds);
  });
});
