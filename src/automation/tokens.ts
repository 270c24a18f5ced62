import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring tokens for tracking and unsubscribe links: base64url(JSON) + '.' +
 * base64url(HMAC-SHA256). The payload is visible but cannot be changed (so a click link cannot
 * be turned into an open redirect) and stops working after `exp`.
 */

/** What a link token carries. */
export interface LinkToken {
  /** o = open pixel, c = click, u = unsubscribe/preferences. */
  readonly k: 'o' | 'c' | 'u';
  /** Action id (email_id). */
  readonly a: string;
  /** Customer id. */
  readonly c: string;
  /** Target URL (clicks). */
  readonly u?: string;
  /** Expiry, epoch ms. */
  readonly e: number;
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

/** Signs a token. */
export function signToken(secret: string, t: LinkToken): string {
  const body = Buffer.from(JSON.stringify(t)).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** Verifies a token; null when forged, malformed, of another kind or expired. */
export function verifyToken(secret: string, token: string, kind: LinkToken['k'], now: number): LinkToken | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  const sig = Buffer.from(token.slice(dot + 1));
  const want = Buffer.from(mac(secret, body));
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return null;
  try {
    const t = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkToken;
    if (t.k !== kind || typeof t.e !== 'number' || t.e < now || typeof t.a !== 'string' || typeof t.c !== 'string') return null;
    return t;
  } catch {
    return null;
  }
}

/** `t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` — the X-Rapport-Signature header value. */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}

/** Verifies an X-Rapport-Signature header (for receivers); tolerance in seconds. */
export function verifyWebhookSignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !parts.v1) return false;
  const want = Buffer.from(webhookSignature(secret, t, body).split('v1=')[1] ?? '');
  const got = Buffer.from(parts.v1);
  return want.length === got.length && timingSafeEqual(want, got);
}
