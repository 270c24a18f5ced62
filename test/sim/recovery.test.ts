import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/sim/simulate';
import { evaluate } from '../../src/classify/evaluation';
import { extractFeatures, predict, train } from './recovery-helpers';

const START = Date.UTC(2025, 0, 1);

/**
 * The recovery check in miniature: a classifier learned from the survey labels of one seed must
 * recover the latent types of every customer of another seed (macro-F1 >= 0.80 per lens). The
 * features here are a crude stand-in for the indicator engine, so this guards the simulator's
 * traces, not the real classifier.
 */
describe('latent types are recoverable from the traces', () => {
  it('reaches macro-F1 >= 0.80 on another seed for every lens', { timeout: 120_000 }, () => {
    const customers = 5000;
    const a = simulate({ customers, days: 365, seed: 101, start: START });
    const b = simulate({ customers, days: 365, seed: 202, start: START });
    const trainSet = extractFeatures(a.messages(), a.end);
    const testSet = extractFeatures(b.messages(), b.end);
    const truth = new Map([...b.truth()].map((t) => [t.customerId, t]));
    const scores: Record<string, number> = {};
    for (const lens of ['fournier', 'swinscoe', 'canvas', 'lifecycle'] as const) {
      const xs: number[][] = [];
      const ys: string[] = [];
      for (const v of trainSet.values()) {
        const label = v.labels[lens];
        if (label) {
          xs.push(v.x);
          ys.push(label);
        }
      }
      expect(xs.length).toBeGreaterThan(customers * 0.25);
      const model = train(xs, ys, 250);
      const t: string[] = [];
      const p: string[] = [];
      for (const [id, v] of testSet) {
        const rec = truth.get(id);
        if (!rec) continue;
        t.push(rec[lens]);
        p.push(predict(model, v.x));
      }
      expect(t.length).toBe(customers);
      scores[lens] = evaluate(t, p).macroF1;
    }
    for (const [lens, f1] of Object.entries(scores)) expect(f1, `${lens} macro-F1 ${f1.toFixed(3)}`).toBeGreaterThanOrEqual(0.8);
  });
});
