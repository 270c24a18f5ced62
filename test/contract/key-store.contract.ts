import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../../src/ports/key-store';

/** A fresh, empty key store for one test; `rawDump` returns all stored text (to check secrets are not in it). */
export interface KeyStoreFixture {
  store: KeyStore;
  close(): Promise<void> | void;
  rawDump?(): string;
}

/** The KeyStore contract: every adapter must pass it unchanged. */
export function keyStoreContract(name: string, factory: () => Promise<KeyStoreFixture>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let fx: KeyStoreFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('creates a source whose write key verifies, and lists it', async () => {
      const { source, writeKey } = await fx.store.createSource('web', 1000);
      expect(source).toMatchObject({ name: 'web', createdAt: 1000, revokedAt: null });
      expect(writeKey.length).toBeGreaterThanOrEqual(32);
      expect(await fx.store.verifyWriteKey(writeKey)).toEqual(source);
      expect(await fx.store.listSources()).toEqual([source]);
    });

    it('rejects unknown, empty and revoked write keys', async () => {
      const { source, writeKey } = await fx.store.createSource('web', 1000);
      expect(await fx.store.verifyWriteKey('nope')).toBeNull();
      expect(await fx.store.verifyWriteKey('')).toBeNull();
      expect(await fx.store.revokeSource(source.id, 2000)).toBe(true);
      expect(await fx.store.verifyWriteKey(writeKey)).toBeNull();
      expect(await fx.store.revokeSource(source.id, 3000)).toBe(false);
      expect((await fx.store.listSources())[0]?.revokedAt).toBe(2000);
    });

    it('revokes by name and keeps other sources working', async () => {
      const a = await fx.store.createSource('a', 1);
      const b = await fx.store.createSource('b', 2);
      expect(await fx.store.revokeSource('a', 3)).toBe(true);
      expect(await fx.store.verifyWriteKey(a.writeKey)).toBeNull();
      expect(await fx.store.verifyWriteKey(b.writeKey)).toEqual(b.source);
      expect(await fx.store.revokeSource('missing', 3)).toBe(false);
    });

    it('gives every source a different key', async () => {
      const keys = new Set<string>();
      for (let i = 0; i < 20; i++) keys.add((await fx.store.createSource(`s${i}`, i)).writeKey);
      expect(keys.size).toBe(20);
    });

    it('creates, verifies, lists and revokes admin tokens', async () => {
      const { token, secret } = await fx.store.createToken('ops', 5);
      expect(token).toMatchObject({ name: 'ops', createdAt: 5, revokedAt: null });
      expect(await fx.store.verifyToken(secret)).toEqual(token);
      expect(await fx.store.verifyToken('wrong')).toBeNull();
      expect(await fx.store.listTokens()).toEqual([token]);
      expect(await fx.store.revokeToken('ops', 6)).toBe(true);
      expect(await fx.store.verifyToken(secret)).toBeNull();
    });

    it('keeps write keys and tokens apart', async () => {
      const { writeKey } = await fx.store.createSource('web', 1);
      const { secret } = await fx.store.createToken('ops', 1);
      expect(await fx.store.verifyToken(writeKey)).toBeNull();
      expect(await fx.store.verifyWriteKey(secret)).toBeNull();
    });

    it('never stores the secrets themselves', async () => {
      const { writeKey } = await fx.store.createSource('web', 1);
      const { secret } = await fx.store.createToken('ops', 1);
      if (!fx.rawDump) {
        expect(fx.rawDump).toBeUndefined();
        return;
      }
      const dump = fx.rawDump();
      expect(dump).toContain('web');
      expect(dump).not.toContain(writeKey);
      expect(dump).not.toContain(secret);
    });
  });
}
