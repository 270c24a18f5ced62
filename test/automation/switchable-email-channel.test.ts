import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteSettingsStore } from '../../src/adapters/sqlite/sqlite-settings-store';
import { channelBaselineFromEnv, createChannelSettings, type ChannelSettings } from '../../src/automation/channel-settings';
import { createSwitchableEmailChannel } from '../../src/automation/channels';
import type { EmailMessage } from '../../src/ports/channel';
import { startSmtpSink } from './helpers';

const message = (to: string): EmailMessage => ({
  channel: 'email',
  idempotencyKey: `k-${to}`,
  actionId: `a-${to}`,
  customerId: to,
  userId: to,
  playbookId: 'p',
  stepId: 's',
  variant: null,
  promotional: false,
  transactional: true,
  to,
  subject: 'Hello',
  html: '<p>Hello</p>',
  text: 'Hello',
  headers: {},
});

async function until<T>(what: string, fn: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The e-mail channel follows the settings store at run time with real SMTP servers (nodemailer pools). */
describe('switchable e-mail channel', () => {
  let dir: string;
  let db: SqliteDatabase;
  let settings: (env: NodeJS.ProcessEnv) => ChannelSettings;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapport-switch-'));
    db = openSqliteDatabase(join(dir, 'rapport.db'));
    const store = createSqliteSettingsStore(db);
    settings = (env) => createChannelSettings({ store, baseline: channelBaselineFromEnv(env, 'x'.repeat(32)), publicUrl: 'http://127.0.0.1:4100', now: () => Date.now() });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails permanently with a hint when no SMTP URL is configured anywhere', async () => {
    const channel = createSwitchableEmailChannel({ settings: settings({}) });
    expect(await channel.send(message('x@example.com'))).toEqual({ ok: false, permanent: true, notConfigured: true, error: expect.stringMatching(/no email channel configured: set the SMTP URL in Settings/) });
    await channel.close?.();
  });

  it('sends the next e-mail over the new server and lets a send in flight on the old pool finish', async () => {
    const a = await startSmtpSink({ delayMs: 400 });
    const b = await startSmtpSink();
    try {
      const s = settings({ RAPPORT_SMTP_URL: a.url });
      const channel = createSwitchableEmailChannel({ settings: s });
      const first = channel.send(message('one@example.com'));
      // A has the data but has not answered yet: the send is in flight on A's pool.
      await until('the first message at A', () => a.messages.find((m) => m.to.includes('one@example.com')));
      const saved = await s.update({ email: { smtpUrl: b.url, from: 'Shop <shop@example.com>' } });
      expect(saved.ok).toBe(true);
      expect(await channel.send(message('two@example.com'))).toMatchObject({ ok: true });
      expect(b.messages.map((m) => m.to)).toEqual([['two@example.com']]);
      expect(b.messages[0]?.headers['from']).toContain('shop@example.com');
      expect(await first).toMatchObject({ ok: true });
      expect(a.messages.map((m) => m.to)).toEqual([['one@example.com']]);
      // Another process (a second service over the same store) sees the change after its cache expires.
      const other = createSwitchableEmailChannel({ settings: settings({ RAPPORT_SMTP_URL: a.url }) });
      expect(await other.send(message('three@example.com'))).toMatchObject({ ok: true });
      expect(b.messages.some((m) => m.to.includes('three@example.com'))).toBe(true);
      await channel.close?.();
      await other.close?.();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('passes the commit point through to the SMTP pool: a refused hand-over delivers nothing', async () => {
    const a = await startSmtpSink();
    try {
      const channel = createSwitchableEmailChannel({ settings: settings({ RAPPORT_SMTP_URL: a.url }) });
      let asked = 0;
      const refused = await channel.send(message('no@example.com'), { commitPoint: async () => (asked++, false) });
      expect(refused).toMatchObject({ ok: false, aborted: true });
      expect(await channel.send(message('yes@example.com'), { commitPoint: async () => (asked++, true) })).toMatchObject({ ok: true });
      expect(asked).toBe(2);
      expect(a.messages.map((m) => m.to)).toEqual([['yes@example.com']]);
      await channel.close?.();
    } finally {
      await a.close();
    }
  });
});
