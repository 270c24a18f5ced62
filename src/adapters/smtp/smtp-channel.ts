import nodemailer from 'nodemailer';
import { createHash } from 'node:crypto';
import type { ChannelAdapter } from '../../ports/channel';

/** Options of the SMTP channel. */
export interface SmtpChannelOptions {
  /** smtp://user:pass@host:port or smtps://... (env RAPPORT_SMTP_URL). */
  readonly url: string;
  /** Sender (env RAPPORT_SMTP_FROM). */
  readonly from: string;
  /** Pooled connections (default 5). */
  readonly maxConnections?: number;
  /** Messages per connection before it is recycled (default 1000). */
  readonly maxMessages?: number;
}

/** SMTP Message-ID derived from the idempotency key, so a retried send is recognisable as the same message. */
export function smtpMessageId(idempotencyKey: string, from: string): string {
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? 'rapport.local';
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}@${domain}>`;
}

/**
 * Email over SMTP with nodemailer's pooled transport. HTML + text parts; the engine's headers
 * (List-Unsubscribe, List-Unsubscribe-Post, X-Rapport-*) are passed through. A 5xx reply is a
 * permanent failure (hard bounce for 550-554 on the recipient); anything else is retried.
 */
export function createSmtpChannel(opts: SmtpChannelOptions): ChannelAdapter {
  // Transport options go in the first argument (with `url`); a second argument would only be message defaults.
  const transport = nodemailer.createTransport({
    url: opts.url,
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: opts.maxMessages ?? 1000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    channel: 'email',
    idempotent: true,
    async send(m) {
      if (m.channel !== 'email') return { ok: false, permanent: true, error: `email channel got a ${m.channel} message` };
      try {
        const info = await transport.sendMail({
          from: opts.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: smtpMessageId(m.idempotencyKey, opts.from),
          headers: { ...m.headers },
          // Base64 bodies are encoded natively (Buffer); quoted-printable runs in JS and costs more per message.
          textEncoding: 'base64',
        });
        return { ok: true, providerId: String(info.messageId ?? '') };
      } catch (err) {
        const e = err as { responseCode?: number; message?: string; code?: string };
        const code = e.responseCode ?? 0;
        const permanent = code >= 500 && code < 600;
        return { ok: false, permanent, hardBounce: permanent && code >= 550 && code <= 554, error: `smtp ${code || e.code || ''} ${e.message ?? String(err)}`.trim() };
      }
    },
    async close() {
      transport.close();
    },
  };
}

/** The SMTP channel from the environment (RAPPORT_SMTP_URL, RAPPORT_SMTP_FROM), or null when not configured. */
export function smtpChannelFromEnv(env: NodeJS.ProcessEnv = process.env): ChannelAdapter | null {
  if (!env.RAPPORT_SMTP_URL) return null;
  return createSmtpChannel({ url: env.RAPPORT_SMTP_URL, from: env.RAPPORT_SMTP_FROM ?? 'Rapport <no-reply@localhost>' });
}
