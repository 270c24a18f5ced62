/** The clock port: domain code never reads the wall clock directly. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock a test or simulation sets by hand. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  /** Moves the clock to `t` (ms). */
  set(t: number): void {
    this.t = t;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
}
