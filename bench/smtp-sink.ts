/**
 * A minimal SMTP sink for throughput benchmarks (like Postfix's smtp-sink): accepts and discards.
 * Speaks just enough SMTP for nodemailer's pooled transport: EHLO/HELO (PIPELINING advertised),
 * MAIL, RCPT, DATA with dot-termination, RSET, NOOP, QUIT. It does not parse messages, so the
 * benchmark measures the sender rather than the receiver's MIME parsing. Functional tests keep
 * using `smtp-server` (real SMTP); this is for bench/ only.
 */
import { createServer, type AddressInfo } from 'node:net';

const EHLO = '250-rapport-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250 SMTPUTF8\r\n';

/** A running sink: its port, how many messages it accepted, and how to stop it. */
export interface SmtpSink {
  readonly port: number;
  count(): number;
  close(): Promise<void>;
}

/** Start the sink on 127.0.0.1 (port 0 = any free port). */
export async function startSmtpSink(opts: { port?: number; host?: string } = {}): Promise<SmtpSink> {
  let mails = 0;
  const server = createServer((sock) => {
    sock.setNoDelay(true);
    let inData = false;
    let pending = '';
    sock.write('220 rapport-sink ESMTP\r\n');
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      const s = pending + chunk.toString('latin1');
      pending = '';
      let out = '';
      let i = 0;
      while (i < s.length) {
        if (inData) {
          // The body ends at CRLF.CRLF; the CRLF of the DATA line itself counts as the first CRLF.
          const end = s.indexOf('\r\n.\r\n', i);
          if (end === -1) {
            pending = s.slice(Math.max(i, s.length - 4));
            break;
          }
          inData = false;
          mails++;
          out += '250 2.0.0 Ok: queued\r\n';
          i = end + 5;
          continue;
        }
        const nl = s.indexOf('\r\n', i);
        if (nl === -1) {
          pending = s.slice(i);
          break;
        }
        const verb = s.slice(i, Math.min(nl, i + 4)).toUpperCase();
        i = nl + 2;
        if (verb === 'EHLO') out += EHLO;
        else if (verb === 'HELO') out += '250 rapport-sink\r\n';
        else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') out += '250 2.0.0 Ok\r\n';
        else if (verb === 'DATA') {
          out += '354 End data with <CR><LF>.<CR><LF>\r\n';
          inData = true;
          i = nl; // keep the CRLF so an empty body ("\r\n.\r\n") is found too
        } else if (verb === 'QUIT') {
          sock.end(out + '221 2.0.0 Bye\r\n');
          return;
        } else out += '502 5.5.2 Command not implemented\r\n';
      }
      if (out) sock.write(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve()));
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    count: () => mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
