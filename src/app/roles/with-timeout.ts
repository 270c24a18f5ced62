/**
 * Rejects with `onTimeout()` when `promise` has not settled after `ms` (the work itself goes on; its
 * result is dropped). Roles use it so a dependency that hangs instead of refusing (a black-holed
 * network path) still gives the caller a prompt 503 rather than a request that never ends.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
