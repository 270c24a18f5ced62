import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelBaselineFromEnv, createChannelSettings, type ChannelSettings } from '../../src/automation/channel-settings';
import type { SettingsStore } from '../../src/ports/settings-store';

/** A settings store for one test (the same store can back several services, like several processes). */
export interface ChannelSettingsFixture {
  store: SettingsStore;
  close(): Promise<void> | void;
}

/** The channel settings service over a real settings store: resolution, validation, masking, cross-process refresh. */
export function channelSettingsSuite(name: string, factory: () => Promise<ChannelSettingsFixture>): void {
  describe(`channel settings over ${name}`, () => {
    let fx: ChannelSettingsFixture;
    let now = 1_000_000;
    const env = { RAPPORT_SMTP_URL: 'smtp://env-user:env-pw@mail.env:25', RAPPORT_SMTP_MAX_CONNECTIONS: '3', RAPPORT_SMTP_RATE_PER_SECOND: 'many' };
    const service = (): ChannelSettings =>
      createChannelSettings({ store: fx.store, baseline: channelBaselineFromEnv(env, 'file-secret-0123456789'), publicUrl: 'https://crm.example.com', now: () => now, refreshMs: 2_000 });
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('resolves env, defaults and overrides, with sources, and never shows secrets', async () => {
      const s = service();
      const v = await s.view();
      expect(v.email).toEqual({ enabled: true, smtpUrl: 'smtp://env-user:****@mail.env:25', from: 'Rapport <no-reply@localhost>', maxConnections: 3, ratePerSecond: 0 });
      expect(v.sources).toEqual({
        'email.smtpUrl': 'env',
        'email.from': 'default',
        'email.maxConnections': 'env',
        // 'many' is not a number: the default applies.
        'email.ratePerSecond': 'default',
        'webhooks.timeoutMs': 'default',
        'webhooks.secret': 'file',
      });
      const r = await s.update({ email: { from: 'Shop <shop@example.com>', ratePerSecond: 10 }, webhooks: { secret: 'a-new-webhook-secret-123' } });
      expect(r.ok).toBe(true);
      const after = await s.view();
      expect(after.email).toMatchObject({ from: 'Shop <shop@example.com>', ratePerSecond: 10, smtpUrl: 'smtp://env-user:****@mail.env:25' });
      expect(after.sources).toMatchObject({ 'email.from': 'settings', 'email.ratePerSecond': 'settings', 'webhooks.secret': 'settings', 'email.smtpUrl': 'env' });
      expect(JSON.stringify(after)).not.toMatch(/env-pw|a-new-webhook-secret|file-secret/);
      expect((await s.current()).webhooks.secret).toBe('a-new-webhook-secret-123');
      // The masked secret sent back changes nothing.
      expect((await s.update({ webhooks: { secret: '****' } })).ok).toBe(true);
      expect((await s.current()).webhooks.secret).toBe('a-new-webhook-secret-123');
    });

    it('refuses a bad patch as a whole, naming every wrong field', async () => {
      const s = service();
      const r = await s.update({ email: { smtpUrl: 'smtps://', from: 'x', maxConnections: 2.5, extra: 1 }, sms: {} });
      expect(r).toEqual({ ok: false, errors: ['sms: unknown section (allowed: email, webhooks)'] });
      const r2 = await s.update({ email: { smtpUrl: 'ftp://h', from: 'x', maxConnections: 2.5 } });
      expect(r2.ok).toBe(false);
      if (!r2.ok) {
        expect(r2.errors).toEqual([
          'email.smtpUrl: must start with smtp:// or smtps:// (got ftp://)',
          'email.from: must be an address like shop@example.com or "Shop <shop@example.com>"',
          expect.stringMatching(/^email\.maxConnections: /),
        ]);
      }
      expect(await fx.store.get('channels')).toBeNull();
    });

    it('another service over the same store follows within its refresh interval', async () => {
      const a = service();
      const b = service();
      expect((await b.current()).email.smtpUrl).toBe(env.RAPPORT_SMTP_URL);
      await a.update({ email: { smtpUrl: 'smtps://u:p@mail.new:465' } });
      expect((await a.current()).email.smtpUrl).toBe('smtps://u:p@mail.new:465');
      // b read the store a moment ago: it keeps that for up to refreshMs, then follows.
      expect((await b.current()).email.smtpUrl).toBe(env.RAPPORT_SMTP_URL);
      now += 2_000;
      expect((await b.current()).email.smtpUrl).toBe('smtps://u:p@mail.new:465');
      // null resets to the environment.
      await a.update({ email: { smtpUrl: null } });
      expect((await a.view()).sources['email.smtpUrl']).toBe('env');
    });
  });
}
