import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSmtpChannel } from '../../src/adapters/smtp/smtp-channel';
import type { EmailMessage } from '../../src/ports/channel';
import { startSmtpSink } from './helpers';

const message = (key: string, patch: Partial<EmailMessage> = {}): EmailMessage => ({
  channel: 'email',
  idempotencyKey: key,
  actionId: key,
  customerId: 'c1',
  userId: 'u1',
  playbookId: 'pb',
  stepId: 'mail',
  variant: null,
  promotional: false,
  transactional: false,
  to: 'c1@example.test',
  subject: 'Hello',
  text: 'hello',
  html: '<p>hello</p>',
  headers: { 'X-Rapport-Idempotency-Key': key },
  ...patch,
});

/** A commit point that records when it was asked (in the sink's step log) and answers `answer`. */
const commitPoint = (log: string[], answer: () => Promise<boolean>) => async (): Promise<boolean> => {
  log.push('commit');
  return answer();
};

/**
 * A bare SMTP server that accepts the envelope and the data, then drops the connection without answering
 * the final dot: the client cannot know whether the message was taken. With `dropFirstMail`, the first
 * connection is dropped at MAIL FROM instead, and later ones answer the final dot with 250.
 */
async function startSilentServer(opts: { dropFirstMail?: boolean; dropSecondMail?: boolean } = {}): Promise<{ url: string; got: number; close: () => Promise<void> }> {
  const state = { got: 0 };
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    const first = ++connections === 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let data = false;
    let mails = 0;
    let buf = '';
    socket.write('220 silent ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      if (data) {
        if (buf.includes('\r\n.\r\n')) {
          state.got++;
          if (opts.dropFirstMail || opts.dropSecondMail) {
            data = false;
            buf = '';
            socket.write('250 queued\r\n');
          } else socket.destroy();
        }
        return;
      }
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 silent\r\n');
        else if (verb === 'DATA') {
          data = true;
          socket.write('354 go ahead\r\n');
          return;
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else if (verb === 'MAIL' && first && (opts.dropFirstMail || (opts.dropSecondMail && ++mails === 2))) {
          socket.destroy();
          return;
        } else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    get got() {
      return state.got;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('SMTP channel commit point (exactly-once hand-over)', () => {
  it('refused: nothing reaches a real smtp-server (the connection is dropped mid-DATA), and the pool sends the next message', async () => {
    const steps: string[] = [];
    const smtp = await startSmtpSink({ log: (s) => steps.push(s) });
    // One connection: the next message must go out on a replacement of the dropped one.
    const email = createSmtpChannel({ url: smtp.url, from: 'Shop <news@shop.test>', maxConnections: 1 });
    try {
      const refused = await email.send(message('k1'), { commitPoint: commitPoint(steps, async () => false) });
      expect(refused).toMatchObject({ ok: false, aborted: true, permanent: false });
      // The server had the whole body but never the final dot: it discarded the message.
      await new Promise((r) => setTimeout(r, 100));
      expect(smtp.messages).toHaveLength(0);
      expect(steps).toEqual(['rcpt c1@example.test', 'data', 'commit', 'closed']);

      const failing = await email.send(message('k2'), { commitPoint: commitPoint(steps, () => Promise.reject(new Error('store down'))) });
      expect(failing).toMatchObject({ ok: false, aborted: true, error: expect.stringMatching(/store down/) });
      await new Promise((r) => setTimeout(r, 100));
      expect(smtp.messages).toHaveLength(0);

      steps.length = 0;
      const sent = await email.send(message('k3'), { commitPoint: commitPoint(steps, async () => true) });
      expect(sent).toMatchObject({ ok: true });
      expect(smtp.messages.map((m) => m.headers['x-rapport-idempotency-key'])).toEqual(['k3']);
      // The commit point came after the server accepted the recipient and answered DATA, before it had the message.
      expect(steps).toEqual(['rcpt c1@example.test', 'data', 'commit', 'received']);
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });

  it('accepted: every composing path (fast, nodemailer MailComposer, large body) is received once, intact', async () => {
    const steps: string[] = [];
    const smtp = await startSmtpSink({ log: (s) => steps.push(s) });
    const email = createSmtpChannel({ url: smtp.url, from: 'Boutique Zoë <news@shop.test>', maxConnections: 2 });
    try {
      const big = '<p>' + 'long line of html '.repeat(20_000) + '</p>';
      const results = await Promise.all([
        email.send(message('fast'), { commitPoint: commitPoint(steps, async () => true) }),
        // A display-name recipient and a non-ASCII header take nodemailer's composer.
        email.send(message('slow', { to: 'Zoë <zoe@example.test>', headers: { 'X-Rapport-Idempotency-Key': 'slow', 'X-Note': 'façade' } }), {
          commitPoint: commitPoint(steps, async () => true),
        }),
        // Larger than every stream buffer between the raw stream and the socket.
        email.send(message('big', { html: big }), { commitPoint: commitPoint(steps, async () => true) }),
      ]);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(steps.filter((s) => s === 'commit')).toHaveLength(3);
      const byKey = new Map(smtp.messages.map((m) => [m.headers['x-rapport-idempotency-key'], m]));
      expect([...byKey.keys()].sort()).toEqual(['big', 'fast', 'slow']);
      expect(smtp.messages).toHaveLength(3);
      expect(byKey.get('slow')!.to).toEqual(['zoe@example.test']);
      // An RFC 2047 encoded word (nodemailer picks B or Q).
      const note = /^=\?UTF-8\?([BQ])\?(.*)\?=$/i.exec(byKey.get('slow')!.headers['x-note'] ?? '');
      expect(note).not.toBeNull();
      const decoded = note![1]!.toUpperCase() === 'B' ? Buffer.from(note![2]!, 'base64') : Buffer.from(note![2]!.replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      expect(decoded.toString('utf8')).toBe('façade');
      expect(byKey.get('big')!.html).toBe(big);
      expect(byKey.get('fast')!.text).toBe('hello');
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });

  it('a refused recipient never reaches the commit point; a rejection after the data is a failure, not an abort', async () => {
    const steps: string[] = [];
    const smtp = await startSmtpSink({ log: (s) => steps.push(s), reject: (a) => a.startsWith('bounce'), rejectData: (a) => a.startsWith('spam') });
    const email = createSmtpChannel({ url: smtp.url, from: 'news@shop.test', maxConnections: 1 });
    try {
      const bounced = await email.send(message('b', { to: 'bounce@example.test' }), { commitPoint: commitPoint(steps, async () => true) });
      expect(bounced).toMatchObject({ ok: false, permanent: true, hardBounce: true });
      expect(bounced).not.toHaveProperty('aborted');
      expect(steps).not.toContain('commit');
      const rejected = await email.send(message('s', { to: 'spam@example.test' }), { commitPoint: commitPoint(steps, async () => true) });
      expect(rejected).toMatchObject({ ok: false, permanent: true, error: expect.stringMatching(/554/) });
      expect(rejected).not.toHaveProperty('aborted');
      expect(steps.filter((s) => s === 'commit')).toHaveLength(1);
      expect(smtp.messages).toHaveLength(0);
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });

  it('past the commit point, a connection lost before the reply counts as sent, unconfirmed (sending again could duplicate)', async () => {
    const silent = await startSilentServer();
    const email = createSmtpChannel({ url: silent.url, from: 'news@shop.test', maxConnections: 1 });
    try {
      const r = await email.send(message('u'), { commitPoint: async () => true });
      expect(silent.got).toBe(1);
      expect(r).toMatchObject({ ok: true, unconfirmed: expect.stringMatching(/no reply after the end of data/) });
      // Without a commit point nothing is known about the hand-over: a plain (retryable) failure.
      const plain = await email.send(message('v'));
      expect(plain).toMatchObject({ ok: false, permanent: false });
    } finally {
      await email.close?.();
      await silent.close();
    }
  });

  it('a connection lost before the commit point is retried once at once with a fresh stream (nothing can have been delivered)', async () => {
    const flaky = await startSilentServer({ dropFirstMail: true });
    const email = createSmtpChannel({ url: flaky.url, from: 'news@shop.test', maxConnections: 1 });
    try {
      let asked = 0;
      const r = await email.send(message('w'), { commitPoint: async () => (asked++, true) });
      expect(r).toMatchObject({ ok: true });
      expect(r).not.toHaveProperty('unconfirmed');
      expect(asked).toBe(1);
      expect(flaky.got).toBe(1);
    } finally {
      await email.close?.();
      await flaky.close();
    }
  });

  it('a reused connection the server closed before the message is requeued by the pool with a fresh stream; one commit point, one delivery', async () => {
    const flaky = await startSilentServer({ dropSecondMail: true });
    const email = createSmtpChannel({ url: flaky.url, from: 'news@shop.test', maxConnections: 1 });
    try {
      let asked = 0;
      expect(await email.send(message('x1'), { commitPoint: async () => (asked++, true) })).toMatchObject({ ok: true });
      const r = await email.send(message('x2'), { commitPoint: async () => (asked++, true) });
      expect(r).toMatchObject({ ok: true });
      expect(r).not.toHaveProperty('unconfirmed');
      expect(asked).toBe(2);
      expect(flaky.got).toBe(2);
    } finally {
      await email.close?.();
      await flaky.close();
    }
  });
});
