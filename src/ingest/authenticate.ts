import { ok, reject, type StepResult } from '../domain/result';
import type { KeyStore, Source } from '../ports/key-store';

/**
 * Reads the write key the Segment way: `Authorization: Basic base64(writeKey + ":")`,
 * else a `writeKey` field in the body. Returns null when neither is present.
 */
export function extractWriteKey(authorization: string | undefined, body: unknown): string | null {
  if (authorization && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const key = colon >= 0 ? decoded.slice(0, colon) : decoded;
    if (key) return key;
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const k = (body as { writeKey?: unknown }).writeKey;
    if (typeof k === 'string' && k) return k;
  }
  return null;
}

/** Authenticates a request: the active source owning its write key, or `unauthorized`. */
export async function authenticate(
  authorization: string | undefined,
  body: unknown,
  keyStore: KeyStore,
): Promise<StepResult<Source>> {
  const key = extractWriteKey(authorization, body);
  if (key === null) {
    return reject('unauthorized', 'missing write key: send Authorization: Basic base64(writeKey + ":") or writeKey in the body');
  }
  const source = await keyStore.verifyWriteKey(key);
  return source ? ok(source) : reject('unauthorized', 'unknown or revoked write key');
}
