import type { SignInFailures, UserStore } from '../ports/user-store';

/** Limits of {@link createSignInThrottle}. */
export interface SignInThrottleOptions {
  /** Failed sign-ins per account before it is locked (default 5). */
  readonly maxFailuresPerAccount?: number;
  /** Failed sign-ins from one client address, across accounts, before it is locked (default 20: offices share addresses). */
  readonly maxFailuresPerIp?: number;
  /** First lock; doubles with every further failure (default 30 s). */
  readonly baseLockMs?: number;
  /** Longest lock (default 15 min). */
  readonly maxLockMs?: number;
  /** Failures are forgotten after this long without a new one (default 15 min). */
  readonly forgetAfterMs?: number;
  /** Entries kept at most; the least recently failed go first (default 10,000), so a flood cannot exhaust memory. */
  readonly maxEntries?: number;
}

/** Answer of {@link SignInThrottle.check}. */
export type ThrottleCheck = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number; readonly scope: 'account' | 'ip' };

/**
 * Counts failed sign-ins per account and per client address, in memory (a restart forgets them). An attempt is
 * `begin`, then exactly one of `failure`, `success` or `release`.
 */
export interface SignInThrottle {
  /** Whether an attempt for `account` from `ip` would be allowed now (no side effect). */
  check(account: string, ip: string, now: number): ThrottleCheck;
  /**
   * Starts an attempt: refused while locked, and while the attempts already being checked could reach the limit
   * (so parallel guesses cannot overshoot it; retry after 1 s). A refused attempt needs no `failure`/`release`.
   */
  begin(account: string, ip: string, now: number): ThrottleCheck;
  /** Ends an attempt as failed; returns the lock it caused, if any. */
  failure(account: string, ip: string, now: number): ThrottleCheck;
  /** Ends an attempt as successful: clears the account's failures (not the address's: one valid account must not unlock guessing others). */
  success(account: string, ip: string): void;
  /** Ends an attempt that could not be decided (e.g. the user store failed): counts nothing. */
  release(account: string, ip: string): void;
}

interface Entry {
  failures: number;
  /** Attempts begun and not yet ended. */
  pending: number;
  last: number;
  lockedUntil: number;
}

/**
 * The sign-in throttle: after `maxFailuresPerAccount` failures for one account (or `maxFailuresPerIp` from one
 * address) every further attempt is refused until a lock expires; each failure past the limit doubles the lock
 * (30 s, 1 min, 2 min ... up to 15 min). Accounts are keyed by the e-mail as typed (lower-cased), known or not,
 * so the answers do not reveal which accounts exist. Time comes from the caller (the app's clock).
 */
export function createSignInThrottle(opts: SignInThrottleOptions = {}): SignInThrottle {
  const { perAccount, perIp, base, maxLock, forget, maxEntries } = settingsOf(opts);
  const entries = new Map<string, Entry>();

  const live = (key: string, now: number): Entry | undefined => {
    const e = entries.get(key);
    if (e && e.pending === 0 && e.lockedUntil <= now && now - e.last > forget) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const lockOf = (key: string, now: number): number => {
    const e = live(key, now);
    return e && e.lockedUntil > now ? e.lockedUntil - now : 0;
  };
  const check = (account: string, ip: string, now: number): ThrottleCheck =>
    verdictOf(lockOf(keyOf('account', account), now), lockOf(keyOf('ip', ip), now));
  const touch = (key: string, e: Entry) => {
    // Re-insert so the map's order is least recently used first.
    entries.delete(key);
    entries.set(key, e);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
  };
  const release = (key: string) => {
    const e = entries.get(key);
    if (e && e.pending > 0) e.pending--;
  };
  const record = (key: string, limit: number, now: number) => {
    release(key);
    const e = live(key, now) ?? { failures: 0, pending: 0, last: now, lockedUntil: 0 };
    e.failures++;
    e.last = now;
    if (e.failures >= limit) e.lockedUntil = now + lockMs(e.failures, limit, base, maxLock);
    touch(key, e);
  };

  return {
    check,
    begin(account, ip, now) {
      const locked = check(account, ip, now);
      if (!locked.allowed) return locked;
      const keys = [
        { key: keyOf('account', account), limit: perAccount, scope: 'account' as const },
        { key: keyOf('ip', ip), limit: perIp, scope: 'ip' as const },
      ];
      for (const k of keys) {
        const e = live(k.key, now);
        if (e && e.failures + e.pending >= k.limit) return { allowed: false, retryAfterMs: 1_000, scope: k.scope };
      }
      for (const k of keys) {
        const e = live(k.key, now) ?? { failures: 0, pending: 0, last: now, lockedUntil: 0 };
        e.pending++;
        touch(k.key, e);
      }
      return { allowed: true };
    },
    failure(account, ip, now) {
      record(keyOf('account', account), perAccount, now);
      record(keyOf('ip', ip), perIp, now);
      return check(account, ip, now);
    },
    success(account, ip) {
      entries.delete(keyOf('account', account));
      release(keyOf('ip', ip));
    },
    release(account, ip) {
      release(keyOf('account', account));
      release(keyOf('ip', ip));
    },
  };
}

/** The options with their defaults (see {@link SignInThrottleOptions}). */
function settingsOf(opts: SignInThrottleOptions) {
  return {
    perAccount: opts.maxFailuresPerAccount ?? 5,
    perIp: opts.maxFailuresPerIp ?? 20,
    base: opts.baseLockMs ?? 30_000,
    maxLock: opts.maxLockMs ?? 15 * 60_000,
    forget: opts.forgetAfterMs ?? 15 * 60_000,
    maxEntries: opts.maxEntries ?? 10_000,
  };
}

/** The answer from the locks left on the account and on the address (ms; 0 = none): the longer one decides. */
function verdictOf(account: number, ip: number): ThrottleCheck {
  if (account === 0 && ip === 0) return { allowed: true };
  return account >= ip ? { allowed: false, retryAfterMs: account, scope: 'account' } : { allowed: false, retryAfterMs: ip, scope: 'ip' };
}

/** Throttle key of an account (the e-mail as typed, lower-cased) or a client address. */
const keyOf = (scope: 'account' | 'ip', v: string): string => `${scope}:${scope === 'account' ? v.trim().toLowerCase() : v}`;

/** The lock after `failures` failures against a limit: `base`, doubling with each failure past it, at most `maxLock`. */
function lockMs(failures: number, limit: number, base: number, maxLock: number): number {
  return Math.min(maxLock, base * 2 ** Math.min(30, failures - limit));
}

/** Where failed sign-ins are kept for every process (the user store). */
export type SignInFailureStore = Pick<UserStore, 'signInFailures' | 'addSignInFailures' | 'clearSignInFailures'>;

/** {@link SignInThrottle} with failures kept in a shared store: the answers are promises. */
export interface SharedSignInThrottle {
  begin(account: string, ip: string, now: number): Promise<ThrottleCheck>;
  failure(account: string, ip: string, now: number): Promise<ThrottleCheck>;
  success(account: string, ip: string): Promise<void>;
  release(account: string, ip: string): void;
}

/**
 * The sign-in throttle for several processes on one store: failures and locks live in the store (every api
 * process sees them, a restart keeps them); this process's throttle still counts the attempts it has in
 * flight, so parallel guesses to one process cannot overshoot a limit. The same limits and locks as
 * {@link createSignInThrottle} (`maxLockMs` must not exceed `forgetAfterMs`, as by default).
 */
export function createSharedSignInThrottle(store: SignInFailureStore, opts: SignInThrottleOptions = {}): SharedSignInThrottle {
  const local = createSignInThrottle(opts);
  const { perAccount, perIp, base, maxLock, forget } = settingsOf(opts);
  const left = (f: SignInFailures | undefined, limit: number, now: number): number => {
    if (!f || f.failures < limit || now - f.last > forget) return 0;
    return Math.max(0, f.last + lockMs(f.failures, limit, base, maxLock) - now);
  };
  const verdict = (failures: Map<string, SignInFailures>, account: string, ip: string, now: number): ThrottleCheck =>
    verdictOf(left(failures.get(keyOf('account', account)), perAccount, now), left(failures.get(keyOf('ip', ip)), perIp, now));
  return {
    async begin(account, ip, now) {
      const gate = local.begin(account, ip, now);
      if (!gate.allowed) return gate;
      let shared: ThrottleCheck;
      try {
        shared = verdict(await store.signInFailures([keyOf('account', account), keyOf('ip', ip)]), account, ip, now);
      } catch (err) {
        local.release(account, ip);
        throw err;
      }
      if (!shared.allowed) local.release(account, ip);
      return shared;
    },
    async failure(account, ip, now) {
      const mine = local.failure(account, ip, now);
      const counts = await store.addSignInFailures([keyOf('account', account), keyOf('ip', ip)], now, now - forget);
      const shared = verdict(counts, account, ip, now);
      if (shared.allowed) return mine;
      return mine.allowed || shared.retryAfterMs >= mine.retryAfterMs ? shared : mine;
    },
    async success(account, ip) {
      local.success(account, ip);
      await store.clearSignInFailures(keyOf('account', account));
    },
    release(account, ip) {
      local.release(account, ip);
    },
  };
}
