import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ChannelAdapter, EmailMessage, SendResult } from '../../ports/channel';

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
  // Base64 never contains '_', and no header line starts with '--', so the boundary cannot occur in the
  // message: it needs no randomness (random bytes per message cost more CPU than the whole header).
  const boundary = `--_rapport_${messageId.replace(/[^0-9A-Za-z]/g, '').slice(0, 32) || 'part'}`;
  return (
    `From: ${from}\r\nTo: ${m.to}\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\nDate: ${date.toUTCString().replace('GMT', '+0000')}\r\n` +
    extra +
    `MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(m.text)}\r\n` +
    `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(m.html)}\r\n` +
    `--${boundary}--\r\n`
  );
}

function endsWithNewline(raw: string | Buffer): boolean {
  return raw.length > 0 && (typeof raw === 'string' ? raw.charCodeAt(raw.length - 1) : raw[raw.length - 1]) === 0x0a;
}

/** Why a send stopped at its commit point (the stream's error; nodemailer reports it as ESTREAM). */
export class CommitRefusedError extends Error {
  readonly code = 'COMMIT_REFUSED';
  constructor(cause?: unknown) {
    super(cause === undefined ? 'commit point refused the hand-over' : `commit point failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'CommitRefusedError';
  }
}

/**
 * A whole MIME message whose end is held back until the commit point agrees.
 *
 * The content is pushed at once; the stream ends (and so nodemailer writes the terminating
 * `<CRLF>.<CRLF>`, the moment the server takes responsibility) only when `commitPoint()` resolves true.
 * If it resolves false or rejects, the stream is destroyed with an error: nodemailer fails the send with
 * ESTREAM and closes that connection mid-DATA, and the server discards the unfinished message.
 *
 * Where the commit point falls: the channel hands the stream to the pooled SMTP connection itself (see
 * directSender), which reads it only once the server accepted the recipients and answered DATA with 354.
 * So the first read is the commit point: a refused recipient never marks anything, and what separates the
 * mark from the server's acceptance is only the rest of the body and the final dot.
 */
export class CommitStream extends Readable {
  private decision: Promise<boolean> | null = null;
  /** True once the commit point said yes: the stream ended, the final dot follows. */
  committed = false;
  /** True once the commit point said no or failed: the stream was destroyed, nothing is delivered. */
  aborted = false;

  constructor(
    private readonly content: string | Buffer,
    private readonly commitPoint: () => Promise<boolean>,
  ) {
    super();
  }

  override _read(): void {
    if (this.decision || this.destroyed) return;
    this.push(this.content);
    this.decision = Promise.resolve()
      .then(this.commitPoint)
      .then(
        (ok) => {
          if (ok) {
            // Torn down meanwhile (the connection failed): the dot never goes out, nothing was delivered.
            if (this.destroyed) return ok;
            this.committed = true;
            this.push(null);
          } else {
            this.aborted = true;
            this.destroy(new CommitRefusedError());
          }
          return ok;
        },
        (err: unknown) => {
          this.aborted = true;
          this.destroy(new CommitRefusedError(err));
          return false;
        },
      );
  }

  /** True once the commit point was called (the server had answered DATA). */
  get asked(): boolean {
    return this.decision !== null;
  }

  /** Resolves once the commit point (if it was called) has answered, so its effects are settled. */
  settled(): Promise<unknown> {
    return this.decision ?? Promise.resolve();
  }
}

/** A whole message as a stream, ended at once (no commit point). */
class RawStream extends Readable {
  constructor(private content: string | Buffer | null) {
    super();
  }

  override _read(): void {
    if (this.content === null) return;
    this.push(this.content);
    this.content = null;
    this.push(null);
  }
}

/** The part of nodemailer's pooled SMTP transport (SMTPPool) that {@link directSender} uses. */
interface PoolTransporter {
  readonly name?: string;
  send(mail: PoolMail, callback: (err: Error | null, info?: unknown) => void): unknown;
}

/** What SMTPPool reads of a mail: `data` (options such as dsn, signal) and `message` (a MimeNode's API). */
interface PoolMail {
  readonly data: Record<string, never>;
  readonly message: {
    getEnvelope(): { from: string; to: string[] };
    messageId(): string;
    getHeader(name: string): string | undefined;
    createReadStream(): Readable;
  };
}

/**
 * A sender that hands the composed message straight to nodemailer's connection pool (the transport's
 * `transporter.send(mail, callback)`, the interface every nodemailer transport implements).
 * `transport.sendMail` would first build a MailComposer/MimeNode tree around the raw message (address
 * parsing, random boundaries) and stream it through a PassThrough, a newline transform and a `pipeline` (an AbortController per message): together more CPU than composing
 * the message. The pool calls `createReadStream` each time a connection takes the message (again when it
 * requeues one a closed connection never read), and the SMTP connection pipes that stream into its DATA
 * stream only after the server answered DATA with 354 — so a {@link CommitStream} made there is first
 * read at the commit point.
 */
function directSender(transport: unknown): (envelope: { from: string; to: string[] }, messageId: string, stream: () => Readable) => Promise<void> {
  const t = (transport as { transporter?: Partial<PoolTransporter> }).transporter;
  // The channel always builds a pooled transport: anything else means nodemailer's pool changed shape,
  // and the commit point could no longer be placed inside DATA. Fail at start-up rather than send blind.
  if (!t || t.name !== 'SMTP (pool)' || typeof t.send !== 'function') {
    throw new Error(`nodemailer's pooled SMTP transport is not as expected (transporter ${JSON.stringify(t?.name ?? null)}): check the nodemailer version`);
  }
  const pool = t as PoolTransporter;
  return (envelope, messageId, stream) =>
    new Promise<void>((resolve, reject) => {
      const mail: PoolMail = {
        data: {},
        message: {
          // A fresh copy each time: the connection keeps (and annotates) the envelope it is given.
          getEnvelope: () => ({ from: envelope.from, to: [...envelope.to] }),
          messageId: () => messageId,
          getHeader: (name) => (name.toLowerCase() === 'message-id' ? messageId : undefined),
          createReadStream: stream,
        },
      };
      pool.send(mail, (err) => (err ? reject(err) : resolve()));
    });
}

/**
 * Email over SMTP with nodemailer's pooled transport. HTML + text parts; the engine's headers
 * (List-Unsubscribe, List-Unsubscribe-Post, X-Rapport-*) are passed through. A 5xx reply is a
 * permanent failure (hard bounce for 550-554 on the recipient); anything else is retried.
 *
 * Every message is composed here (the fast composer, or nodemailer's MailComposer for what it does not
 * handle) and handed as a whole to the connection pool (see directSender); with a `commitPoint` (see
 * SendOptions) as a {@link CommitStream}, so the final dot is only sent once the caller durably recorded
 * the hand-over.
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
  const direct = directSender(transport);

  /** The message and its envelope: the fast composer, else nodemailer's MailComposer (same headers). */
  async function compose(m: EmailMessage, messageId: string): Promise<{ raw: string | Buffer; envelope: { from: string; to: string[] } }> {
    const raw = sender ? composeEmail(m, sender.header, messageId, new Date()) : null;
    if (raw !== null && sender) return { raw, envelope: { from: sender.address, to: [m.to] } };
    const node = new MailComposer({
      from: opts.from,
      to: m.to,
      subject: m.subject,
      text: m.text,
      html: m.html,
      messageId,
      headers: { ...m.headers },
      // Base64 bodies are encoded natively (Buffer); quoted-printable runs in JS and costs more per message.
      textEncoding: 'base64',
    }).compile();
    const envelope = node.getEnvelope();
    return { raw: await node.build(), envelope: { from: String(envelope.from || ''), to: envelope.to.map(String) } };
  }

  return {
    channel: 'email',
    idempotent: true,
    async send(m, sendOpts): Promise<SendResult> {
      if (m.channel !== 'email') return { ok: false, permanent: true, error: `email channel got a ${m.channel} message` };
      const messageId = smtpMessageId(m.idempotencyKey, opts.from);
      let stream: CommitStream | null = null;
      try {
        const composed = await compose(m, messageId);
        const { envelope } = composed;
        // nodemailer's composer would add the final line break a raw message lacks (the fast composer's has one).
        const raw = endsWithNewline(composed.raw) ? composed.raw : `${composed.raw.toString()}\r\n`;
        const commitPoint = sendOpts?.commitPoint;
        for (let attempt = 1; ; attempt++) {
          // Set when a pooled connection took the message (after it connected).
          let taken = false;
          stream = null;
          try {
            await direct(envelope, messageId, () => {
              taken = true;
              // Without a commit point nodemailer only runs the SMTP session (and dot-stuffing) on the text.
              stream = commitPoint ? new CommitStream(raw, commitPoint) : null;
              return stream ?? new RawStream(raw);
            });
            return { ok: true, providerId: messageId };
          } catch (err) {
            const s = stream as CommitStream | null;
            await s?.settled();
            // The connection failed (no server reply) after a connection took the message but before the
            // commit point: nothing can have been delivered. Nodemailer requeues such a message itself only
            // on a reused connection the server had closed: try once more with a fresh stream.
            const code = (err as { responseCode?: number }).responseCode;
            if (attempt === 1 && s && taken && !s.asked && !code) continue;
            throw err;
          }
        }
      } catch (err) {
        // The commit point's store write is finished before the result is reported (no race with the
        // caller's own bookkeeping of this action). (Set inside the pool's callback: TypeScript cannot see it.)
        const s = stream as CommitStream | null;
        await s?.settled();
        const e = err as { responseCode?: number; message?: string; code?: string };
        if (s?.aborted) return { ok: false, permanent: false, aborted: true, error: `smtp aborted before the end of data: ${e.message ?? String(err)}` };
        const code = e.responseCode ?? 0;
        // Past the commit point with no reply from the server: the message may well have been accepted.
        // Sending it again could deliver it twice, so it counts as sent, unconfirmed.
        if (s?.committed && !code) return { ok: true, providerId: messageId, unconfirmed: `no reply after the end of data: ${e.code ?? ''} ${e.message ?? String(err)}`.trim() };
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
