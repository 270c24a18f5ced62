import type { ChannelAdapter } from '../../ports/channel';
import { webhookSignature } from '../../automation/tokens';

/** Options of the webhook channel. */
export interface WebhookChannelOptions {
  /** HMAC-SHA256 key for X-Rapport-Signature. */
  readonly secret: string;
  /** Request timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** Clock for the signature timestamp (default Date.now). */
  readonly now?: () => number;
}

/**
 * Webhooks: POST JSON with `X-Rapport-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
 * and `Idempotency-Key` (the action's key, so a receiver can drop repeats after a crash-retry).
 * 2xx is success; 4xx other than 408/409/425/429 is permanent; the rest are retried by the
 * scheduler with exponential backoff and dead-lettered after the last attempt.
 */
export function createWebhookChannel(opts: WebhookChannelOptions): ChannelAdapter {
  const now = opts.now ?? Date.now;
  return {
    channel: 'webhook',
    idempotent: true,
    async send(m) {
      if (m.channel !== 'webhook') return { ok: false, permanent: true, error: `webhook channel got a ${m.channel} message` };
      const body = JSON.stringify(m.body);
      try {
        const res = await fetch(m.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'rapport-automation/0.1',
            'idempotency-key': m.idempotencyKey,
            'x-rapport-signature': webhookSignature(opts.secret, Math.floor(now() / 1000), body),
          },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return { ok: true };
        const retryable = res.status >= 500 || [408, 409, 425, 429].includes(res.status);
        return { ok: false, permanent: !retryable, error: `webhook HTTP ${res.status}` };
      } catch (err) {
        return { ok: false, permanent: false, error: `webhook ${err instanceof Error ? err.message : String(err)}` };
      }
    },
  };
}
