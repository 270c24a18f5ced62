import nodemailer from 'nodemailer';
import { createHash, randomBytes } from 'node:crypto';
import type { ChannelAdapter, EmailMessage } from '../../ports/channel';

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
  /** Messages per second over the whole pool (0 or absent: unlimited). */
  readonly ratePerSecond?: number;
}

/** SMTP Message-ID derived from the idempotency key, so a retried send is recognisable as the same message. */
export function smtpMessageId(idempotencyKey: string, from: string): string {
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? 'rapport.local';
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}@${domain}>`;
}

// Printable ASCII only: anything else (or a CR/LF that could inject a header) takes nodemailer's own MIME path.
const PLAIN_HEADER = /^[\x20-\x7e]*$/;
// RFC 5322 line limit is 998; stay well clear instead of folding.
const MAX_HEADER_LINE = 900;

/** RFC 2047 encoded words (UTF-8, base64), split on code points so each word stays under 75 characters. */
export function encodeHeaderWords(value: string): string {
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk).toString('base64')}?=`);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(`=?UTF-8?B?${Buffer.from(chunk).toString('base64')}?=`);
  return words.join('\r\n ');
}

/** Base64 in 76-character lines (RFC 2045). */
function base64Lines(s: string): string {
  const b = Buffer.from(s, 'utf8').toString('base64');
  if (b.length <= 76) return b;
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 76) lines.push(b.slice(i, i + 76));
  return lines.join('\r\n');
}

/** The From header and envelope sender, computed once per channel; null when the address needs nodemailer's parser. */
function fastSender(from: string): { header: string; address: string } | null {
  const m = /^\s*(?:(.*?)\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*$/.exec(from);
  if (!m) return null;
  const address = m[2] ?? m[3] ?? '';
  if (!PLAIN_HEADER.test(address)) return null;
  const name = (m[1] ?? '').replace(/^"(.*)"$/, '$1');
  if (!name) return { header: address, address };
  if (!PLAIN_HEADER.test(name)) return { header: `${encodeHeaderWords(name)} <${address}>`, address };
  return { header: `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`, address };
}

/**
 * The complete RFC 5322 message (multipart/alternative, base64 text + HTML parts), or null when a field
 * is outside what this fast path handles (non-ASCII address or header value, very long header): the
 * caller then lets nodemailer compose it. Composing here skips nodemailer's MIME tree and streams,
 * which cost more CPU per message than the rest of the engine's email path.
 */
export function composeEmail(m: EmailMessage, from: string, messageId: string, date: Date): string | null {
  // A bare address only: it is the envelope recipient too.
  if (!/^[!-;=?-~]+@[!-;=?-~]+$/.test(m.to) || m.to.length > MAX_HEADER_LINE) return null;
  const subject = PLAIN_HEADER.test(m.subject) ? m.subject : encodeHeaderWords(m.subject.replace(/[\r\n]+/g, ' '));
  if (subject.length > MAX_HEADER_LINE && !subject.includes('\r\n ')) return null;
  let extra = '';
  for (const name in m.headers) {
    const value = m.headers[name] ?? '';
    if (!/^[!-9;-~]+$/.test(name) || !PLAIN_HEADER.test(value) || name.length + value.length > MAX_HEADER_LINE) return null;
    extra += `${name}: ${value}\r\n`;
  }
  const boundary = `--_rapport_${randomBytes(12).toString('hex')}`;
  return (
    `From: ${from}\r\nTo: ${m.to}\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\nDate: ${date.toUTCString().replace('GMT', '+0000')}\r\n` +
    extra +
    `MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(m.text)}\r\n` +
    `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(m.html)}\r\n` +
    `--${boundary}--\r\n`
  );
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
    ...(opts.ratePerSecond ? { rateDelta: 1000, rateLimit: opts.ratePerSecond } : {}),
  } as Parameters<typeof nodemailer.createTransport>[0]);
  const sender = fastSender(opts.from);
  return {
    channel: 'email',
    idempotent: true,
    async send(m) {
      if (m.channel !== 'email') return { ok: false, permanent: true, error: `email channel got a ${m.channel} message` };
      const messageId = smtpMessageId(m.idempotencyKey, opts.from);
      try {
        const raw = sender ? composeEmail(m, sender.header, messageId, new Date()) : null;
        if (raw !== null && sender) {
          // Pre-composed message: nodemailer only runs the SMTP session (and dot-stuffing).
          await transport.sendMail({ envelope: { from: sender.address, to: [m.to] }, raw });
          return { ok: true, providerId: messageId };
        }
        const info = await transport.sendMail({
          from: opts.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId,
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
