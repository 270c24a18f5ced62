/**
 * Bounded concurrency plus a token-bucket rate per channel. FIFO, so due actions start in order.
 */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** Creates a limiter: at most `concurrency` at once, at most `ratePerSecond` starts per second (0 = no rate limit). */
export function createLimiter(concurrency: number, ratePerSecond: number): Limiter {
  let active = 0;
  const queue: (() => void)[] = [];
  let tokens = ratePerSecond;
  let last = performance.now();
  let timer: NodeJS.Timeout | null = null;

  const refill = (): void => {
    if (ratePerSecond <= 0) return;
    const now = performance.now();
    tokens = Math.min(ratePerSecond, tokens + ((now - last) / 1000) * ratePerSecond);
    last = now;
  };
  const pump = (): void => {
    while (queue.length > 0 && active < concurrency) {
      if (ratePerSecond > 0) {
        refill();
        if (tokens < 1) {
          if (!timer) {
            timer = setTimeout(() => {
              timer = null;
              pump();
            }, Math.ceil(((1 - tokens) / ratePerSecond) * 1000));
          }
          return;
        }
        tokens -= 1;
      }
      active++;
      queue.shift()?.();
    }
  };
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push(() => {
          fn().then(resolve, reject).finally(() => {
            active--;
            pump();
          });
        });
        pump();
      });
    },
  };
}
