import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/automation/limiter';

describe('channel limiter', () => {
  it('never runs more than `concurrency` at once and starts jobs in FIFO order', async () => {
    const limiter = createLimiter(3, 0);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          started.push(i);
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 1 + (i % 3)));
          active--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a rate limit still runs every job, in order, and propagates failures', async () => {
    const limiter = createLimiter(10, 200);
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        limiter.run(async () => {
          order.push(i);
          if (i === 5) throw new Error('boom');
          return i;
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results[5]).toMatchObject({ status: 'rejected' });
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(7);
  });
});
