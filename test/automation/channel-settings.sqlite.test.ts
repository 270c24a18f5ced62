import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteSettingsStore } from '../../src/adapters/sqlite/sqlite-settings-store';
import { fromAddressProblem, smtpUrlProblem } from '../../src/automation/channel-settings';
import { channelSettingsSuite } from './channel-settings.contract';

channelSettingsSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-channels-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  return {
    store: createSqliteSettingsStore(db),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('channel setting checks', () => {
  it('explains unusable SMTP URLs without echoing them', () => {
    expect(smtpUrlProblem('smtp://user:pw@mail.example.com:587')).toBeNull();
    expect(smtpUrlProblem('smtps://mail.example.com')).toBeNull();
    expect(smtpUrlProblem('mail.example.com')).toMatch(/not a valid URL/);
    expect(smtpUrlProblem('https://mail.example.com')).toBe('must start with smtp:// or smtps:// (got https://)');
    expect(smtpUrlProblem('smtp://mail.example.com:99999')).toMatch(/not a valid URL/);
    expect(smtpUrlProblem('smtp://mail.example.com/x')).toMatch(/must not have a path/);
  });
  it('accepts addresses and named addresses, refuses the rest', () => {
    expect(fromAddressProblem('shop@example.com')).toBeNull();
    expect(fromAddressProblem('Shop <shop@example.com>')).toBeNull();
    expect(fromAddressProblem('"Shop, Inc." <shop@example.com>')).toBeNull();
    expect(fromAddressProblem('Shop')).not.toBeNull();
    expect(fromAddressProblem('Shop <shop@example.com>\r\nBcc: x@y.z')).toBe('must be on one line');
  });
});
