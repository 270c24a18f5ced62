import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { DEFAULT_CONTACT_POLICY, type ContactPolicy } from '../../src/domain/contact-policy';
import type { CustomerView } from '../../src/automation/types';

/** One email received by the test SMTP sink, with its parts decoded. */
export interface ReceivedEmail {
  raw: string;
  headers: Record<string, string>;
  text: string;
  html: string;
  to: string[];
}

function decodeQp(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function parseHeaders(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

function decodePart(headers: Record<string, string>, body: string): string {
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (enc === 'quoted-printable') return decodeQp(body);
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** Minimal MIME parse: top headers, text/plain and text/html parts (multipart/alternative or mixed). */
export function parseEmail(raw: string, to: string[] = []): ReceivedEmail {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  let text = '';
  let html = '';
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  const walk = (ct: string, h: Record<string, string>, b: string): void => {
    const bd = /boundary="?([^";]+)"?/i.exec(ct)?.[1];
    if (bd) {
      for (const part of b.split(`--${bd}`).slice(1)) {
        if (part.startsWith('--')) break;
        const p = part.replace(/^\r?\n/, '');
        const i = p.search(/\r?\n\r?\n/);
        const ph = parseHeaders(p.slice(0, i));
        walk(ph['content-type'] ?? 'text/plain', ph, p.slice(i).replace(/^\r?\n\r?\n/, ''));
      }
    } else if (/text\/plain/i.test(ct)) text = decodePart(h, b);
    else if (/text\/html/i.test(ct)) html = decodePart(h, b);
  };
  if (boundary) walk(headers['content-type'] ?? '', headers, body);
  else walk(headers['content-type'] ?? 'text/plain', headers, body);
  return { raw, headers, text, html, to };
}

/**
 * A real SMTP server collecting messages. `delayMs` slows each DATA reply; `reject` answers 550 for matching
 * recipients; `rejectData` answers 554 after the end of data for matching recipients; `log` hears the
 * session steps ('rcpt <address>', 'data' when the server answered DATA, 'received', 'closed').
 */
export async function startSmtpSink(
  opts: { delayMs?: number; reject?: (rcpt: string) => boolean; rejectData?: (rcpt: string) => boolean; log?: (step: string) => void } = {},
): Promise<{
  port: number;
  url: string;
  messages: ReceivedEmail[];
  close: () => Promise<void>;
}> {
  const messages: ReceivedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    // No reverse DNS of 127.0.0.1: without a resolver it can stall the greeting for seconds.
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address, _session, cb) {
      if (opts.reject?.(address.address)) {
        const e = new Error('mailbox unavailable') as Error & { responseCode: number };
        e.responseCode = 550;
        cb(e);
        return;
      }
      opts.log?.(`rcpt ${address.address}`);
      cb();
    },
    onData(stream, session, cb) {
      opts.log?.('data');
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        if (opts.rejectData && to.some(opts.rejectData)) {
          const e = new Error('message content rejected') as Error & { responseCode: number };
          e.responseCode = 554;
          cb(e);
          return;
        }
        messages.push(parseEmail(Buffer.concat(chunks).toString('utf8'), to));
        opts.log?.('received');
        if (opts.delayMs) setTimeout(() => cb(), opts.delayMs);
        else cb();
      });
    },
    onClose() {
      opts.log?.('closed');
    },
  });
  // A client killed mid-session (the crash tests do that on purpose) resets its socket: not a test failure.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** One request received by the webhook receiver. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  url: string;
}

/** A real HTTP receiver; `status` decides the reply per request (default 200). */
export async function startWebhookReceiver(opts: { delayMs?: number; status?: (n: number) => number } = {}): Promise<{
  port: number;
  url: string;
  requests: ReceivedWebhook[];
  close: () => Promise<void>;
  server: Server;
}> {
  const requests: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), url: req.url ?? '' });
      const reply = (): void => {
        res.statusCode = opts.status ? opts.status(requests.length) : 200;
        res.end('{}');
      };
      if (opts.delayMs) setTimeout(reply, opts.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A customer view with sensible defaults. */
export function customer(id: string, patch: Partial<CustomerView> = {}, policy: Partial<ContactPolicy> = {}): CustomerView {
  const p: ContactPolicy = { ...DEFAULT_CONTACT_POLICY, ...policy };
  return {
    customerId: id,
    userId: `user-${id}`,
    email: `${id}@example.test`,
    timezone: 'UTC',
    traits: { first_name: id.toUpperCase() },
    indicators: {},
    types: { lifecycle: 'established' },
    policies: { lifecycle: p, fournier: p, swinscoe: p, canvas: p },
    ...patch,
  };
}
