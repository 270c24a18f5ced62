import { describe, expect, it } from 'vitest';
import { composeEmail, createSmtpChannel, encodeHeaderWords, smtpMessageId } from '../../src/adapters/smtp/smtp-channel';
import type { EmailMessage } from '../../src/ports/channel';
import { startSmtpSink } from './helpers';

const base: EmailMessage = {
  channel: 'email',
  idempotencyKey: 'pb:mail:c1:1',
  actionId: 'pb:mail:c1:1',
  customerId: 'c1',
  userId: 'u1',
  playbookId: 'pb',
  stepId: 'mail',
  variant: null,
  promotional: true,
  transactional: false,
  to: 'c1@example.test',
  subject: 'Hello',
  text: 'line one\n.starts with a dot\n' + 'long '.repeat(60),
  html: '<p>Héllo ✓</p>',
  headers: { 'List-Unsubscribe': '<https://crm.test/u/x>', 'X-Rapport-Idempotency-Key': 'pb:mail:c1:1' },
};

/** Decodes RFC 2047 B-encoded words (the test helper's parser leaves them as they are). */
const decodeWords = (v: string): string =>
  v.replace(/=\?UTF-8\?B\?([^?]*)\?=\s*/g, (_m, b: string) => Buffer.from(b, 'base64').toString('binary')).replace(/[\s\S]*/, (s) => Buffer.from(s, 'binary').toString('utf8'));

describe('SMTP channel message composition', () => {
  it('encodes non-ASCII header text as UTF-8 encoded words without splitting a character', () => {
    const subject = 'Ça va? ✓ '.repeat(12).trim();
    const encoded = encodeHeaderWords(subject);
    for (const w of encoded.split('\r\n ')) expect(w.length).toBeLessThanOrEqual(75);
    expect(decodeWords(encoded)).toBe(subject);
  });

  it('falls back to nodemailer (null) for a non-ASCII recipient, a display-name recipient or a header with CR/LF', () => {
    const id = smtpMessageId(base.idempotencyKey, 'a@b.test');
    expect(composeEmail({ ...base, to: 'zoë@example.test' }, 'a@b.test', id, new Date(0))).toBeNull();
    expect(composeEmail({ ...base, to: 'Zoe <z@example.test>' }, 'a@b.test', id, new Date(0))).toBeNull();
    expect(composeEmail({ ...base, headers: { 'X-Evil': 'a\r\nBcc: x@y.test' } }, 'a@b.test', id, new Date(0))).toBeNull();
    expect(composeEmail(base, 'a@b.test', id, new Date(0))).toContain(`Message-ID: ${id}\r\n`);
  });

  it('delivers pre-composed and nodemailer-composed messages intact to a real SMTP server', async () => {
    const smtp = await startSmtpSink();
    const email = createSmtpChannel({ url: smtp.url, from: 'Boutique Zoë <news@shop.test>' });
    try {
      const fast = await email.send({ ...base, subject: 'Ça va? ✓' });
      const slow = await email.send({ ...base, idempotencyKey: 'pb:mail:c1:2', headers: { ...base.headers, 'X-Note': 'façade' } });
      expect(fast).toMatchObject({ ok: true });
      expect(slow).toMatchObject({ ok: true });
      expect(smtp.messages).toHaveLength(2);
      const [a, b] = smtp.messages;
      expect(a!.to).toEqual(['c1@example.test']);
      expect(decodeWords(a!.headers.subject!)).toBe('Ça va? ✓');
      expect(decodeWords(a!.headers.from!)).toContain('Boutique Zoë');
      expect(a!.headers['message-id']).toBe(smtpMessageId('pb:mail:c1:1', 'news@shop.test'));
      expect(b!.headers['message-id']).toBe(smtpMessageId('pb:mail:c1:2', 'news@shop.test'));
      for (const m of [a!, b!]) {
        expect(m.headers['list-unsubscribe']).toBe('<https://crm.test/u/x>');
        expect(m.text.replace(/\r\n/g, '\n')).toBe(base.text);
        expect(m.html).toBe(base.html);
      }
    } finally {
      await email.close?.();
      await smtp.close();
    }
  });
});
