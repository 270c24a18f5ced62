import { describe, expect, it } from 'vitest';
import { createSignInThrottle } from '../../src/http/sign-in-throttle';

const S = 1000;

describe('sign-in throttle', () => {
  it('locks an account after 5 failures, doubling the lock with each further failure up to the cap', () => {
    const t = createSignInThrottle({ maxLockMs: 4 * 60 * S });
    let now = 0;
    for (let i = 1; i <= 4; i++) expect(t.failure('Ana@Example.com', '10.0.0.1', (now += S))).toEqual({ allowed: true });
    expect(t.failure('ana@example.com', '10.0.0.1', (now += S))).toEqual({ allowed: false, retryAfterMs: 30 * S, scope: 'account' });
    // Case and spaces do not make a new account key.
    expect(t.check(' ANA@example.com ', '10.0.0.9', now + 29 * S)).toEqual({ allowed: false, retryAfterMs: S, scope: 'account' });
    expect(t.check('ana@example.com', '10.0.0.1', (now += 30 * S))).toEqual({ allowed: true });
    expect(t.failure('ana@example.com', '10.0.0.1', now)).toMatchObject({ retryAfterMs: 60 * S });
    now += 60 * S;
    expect(t.failure('ana@example.com', '10.0.0.1', now)).toMatchObject({ retryAfterMs: 120 * S });
    now += 120 * S;
    expect(t.failure('ana@example.com', '10.0.0.1', now)).toMatchObject({ retryAfterMs: 240 * S });
    now += 240 * S;
    expect(t.failure('ana@example.com', '10.0.0.1', now)).toMatchObject({ retryAfterMs: 240 * S });
    // Other accounts are not affected.
    expect(t.check('bo@example.com', '10.0.0.2', now)).toEqual({ allowed: true });
  });

  it('clears an account on success and forgets failures after a quiet period', () => {
    const t = createSignInThrottle({ forgetAfterMs: 60 * S });
    for (let i = 0; i < 4; i++) t.failure('ana@example.com', '10.0.0.1', i);
    t.success('ana@example.com', '10.0.0.1');
    for (let i = 0; i < 4; i++) expect(t.failure('ana@example.com', '10.0.0.1', 10 + i).allowed).toBe(true);
    // Four more after a quiet minute start from zero again.
    for (let i = 0; i < 4; i++) expect(t.failure('ana@example.com', '10.0.0.3', 200 * S + i).allowed).toBe(true);
  });

  it('locks a client address that fails across many accounts, and a success does not unlock it', () => {
    const t = createSignInThrottle({ maxFailuresPerIp: 20 });
    for (let i = 0; i < 19; i++) expect(t.failure(`user${i}@example.com`, '203.0.113.7', i).allowed).toBe(true);
    expect(t.failure('user19@example.com', '203.0.113.7', 19)).toEqual({ allowed: false, retryAfterMs: 30 * S, scope: 'ip' });
    t.success('mine@example.com', '203.0.113.7');
    expect(t.check('mine@example.com', '203.0.113.7', 20)).toMatchObject({ allowed: false, scope: 'ip' });
    expect(t.check('mine@example.com', '198.51.100.1', 20)).toEqual({ allowed: true });
  });

  it('does not let parallel guesses overshoot the limit', () => {
    const t = createSignInThrottle();
    for (let i = 0; i < 5; i++) expect(t.begin('ana@example.com', '10.0.0.1', 0)).toEqual({ allowed: true });
    // Five are being checked: a sixth would exceed the limit if they all fail.
    expect(t.begin('ana@example.com', '10.0.0.2', 0)).toEqual({ allowed: false, retryAfterMs: 1000, scope: 'account' });
    for (let i = 0; i < 4; i++) expect(t.failure('ana@example.com', '10.0.0.1', 1).allowed).toBe(true);
    expect(t.failure('ana@example.com', '10.0.0.1', 1)).toMatchObject({ allowed: false, retryAfterMs: 30 * S });
    // An attempt that could not be decided counts nothing.
    expect(t.begin('bo@example.com', '10.0.0.1', 2).allowed).toBe(true);
    t.release('bo@example.com', '10.0.0.1');
    for (let i = 0; i < 5; i++) expect(t.begin('bo@example.com', '10.0.0.1', 3).allowed).toBe(true);
  });

  it('keeps at most maxEntries keys', () => {
    const t = createSignInThrottle({ maxEntries: 10, maxFailuresPerAccount: 1 });
    t.failure('first@example.com', 'ip-0', 0);
    expect(t.check('first@example.com', 'ip-x', 1).allowed).toBe(false);
    for (let i = 1; i <= 20; i++) t.failure(`u${i}@example.com`, `ip-${i}`, i);
    // The oldest entry went first.
    expect(t.check('first@example.com', 'ip-x', 21).allowed).toBe(true);
  });
});
