import nodemailer from 'nodemailer';

/** What the SMTP server answered to a test e-mail, or exactly how it failed. */
export type SmtpTestResult =
  | { readonly ok: true; readonly response: string; readonly messageId: string; readonly accepted: readonly string[]; readonly rejected: readonly string[] }
  | {
      readonly ok: false;
      readonly error: {
        readonly message: string;
        /** nodemailer's code: ECONNECTION, ETIMEDOUT, EAUTH, EENVELOPE, EMESSAGE, ESOCKET, EDNS, ... */
        readonly code: string | null;
        /** The SMTP reply code (e.g. 535, 550) when the server answered. */
        readonly responseCode: number | null;
        /** The SMTP command that failed (e.g. AUTH PLAIN, RCPT TO). */
        readonly command: string | null;
        /** The server's reply line, when it answered. */
        readonly response: string | null;
      };
    };

/** Options of {@link sendSmtpTestEmail}. */
export interface SmtpTestOptions {
  readonly url: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** Connection, greeting and socket timeout (default 10 s), so an unreachable server fails with ETIMEDOUT, not a hang. */
  readonly timeoutMs?: number;
}

const addr = (a: unknown): string => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? a));

/**
 * Sends one e-mail over its own (unpooled) SMTP connection and reports the server's final reply, or the
 * precise failure (connection, TLS, authentication, refused sender or recipient). Never throws.
 */
export async function sendSmtpTestEmail(opts: SmtpTestOptions): Promise<SmtpTestResult> {
  const timeout = opts.timeoutMs ?? 10_000;
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  try {
    transport = nodemailer.createTransport({ url: opts.url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout * 2 } as Parameters<typeof nodemailer.createTransport>[0]);
    const info = (await transport.sendMail({ from: opts.from, to: opts.to, subject: opts.subject, text: opts.text })) as {
      response?: string;
      messageId?: string;
      accepted?: unknown[];
      rejected?: unknown[];
    };
    return { ok: true, response: String(info.response ?? ''), messageId: String(info.messageId ?? ''), accepted: (info.accepted ?? []).map(addr), rejected: (info.rejected ?? []).map(addr) };
  } catch (err) {
    const e = err as { message?: string; code?: string; responseCode?: number; command?: string; response?: string };
    return {
      ok: false,
      error: {
        message: e.message ?? String(err),
        code: e.code ?? null,
        responseCode: typeof e.responseCode === 'number' ? e.responseCode : null,
        command: e.command ?? null,
        response: e.response ?? null,
      },
    };
  } finally {
    transport?.close();
  }
}
