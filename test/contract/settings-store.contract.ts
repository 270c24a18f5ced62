import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettingsStore } from '../../src/ports/settings-store';

/** A fresh, empty settings store for one test. */
export interface SettingsStoreFixture {
  store: SettingsStore;
  close(): Promise<void> | void;
}

/** The SettingsStore contract: every adapter must pass it unchanged. */
export function settingsStoreContract(name: string, factory: () => Promise<SettingsStoreFixture>): void {
  describe(`SettingsStore contract: ${name}`, () => {
    let fx: SettingsStoreFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('returns null for a setting never written', async () => {
      expect(await fx.store.get('costs')).toBeNull();
    });

    it('stores JSON values with their time and replaces them on a second write', async () => {
      await fx.store.put('costs', { email: 0.5, task: 20, nested: { a: [1, 'x', null, true] } }, 1000);
      expect(await fx.store.get('costs')).toEqual({ key: 'costs', value: { email: 0.5, task: 20, nested: { a: [1, 'x', null, true] } }, updatedAt: 1000 });
      await fx.store.put('costs', { email: 0.25 }, 2000);
      expect(await fx.store.get('costs')).toEqual({ key: 'costs', value: { email: 0.25 }, updatedAt: 2000 });
    });

    it('keeps keys apart and deletes one without touching the others', async () => {
      await fx.store.put('a', 'text', 1);
      await fx.store.put('b', 42, 2);
      expect(await fx.store.delete('a')).toBe(true);
      expect(await fx.store.delete('a')).toBe(false);
      expect(await fx.store.get('a')).toBeNull();
      expect(await fx.store.get('b')).toEqual({ key: 'b', value: 42, updatedAt: 2 });
    });
  });
}
