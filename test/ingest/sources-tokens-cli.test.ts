import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/app/open-event-log';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/cli-context';
import { tempDir } from '../http/helpers';

async function rapport(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const code = await main(['node', 'rapport', ...args], io);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

describe('rapport sources / tokens', () => {
  let dir: string;
  let data: string;
  beforeEach(() => {
    dir = tempDir('rapport-cli-');
    data = join(dir, 'data');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sources add prints a working write key (human and --json); list and revoke', async () => {
    const human = await rapport(['sources', 'add', 'web', '--data', data]);
    expect(human.code).toBe(0);
    const key = /write key: (\S+)/.exec(human.stdout)?.[1] as string;
    expect(key).toMatch(/^rk_/);
    const json = await rapport(['sources', 'add', 'backend', '--data', data, '--json']);
    const created = JSON.parse(json.stdout) as { source: { id: string; name: string }; writeKey: string };
    expect(created.source.name).toBe('backend');

    const store = openStore(data);
    expect((await store.keyStore.verifyWriteKey(key))?.name).toBe('web');
    expect((await store.keyStore.verifyWriteKey(created.writeKey))?.name).toBe('backend');
    store.close();

    const list = JSON.parse((await rapport(['sources', 'list', '--data', data, '--json'])).stdout) as { sources: Array<{ name: string; revokedAt: number | null }> };
    expect(list.sources.map((s) => s.name)).toEqual(['web', 'backend']);
    expect((await rapport(['sources', 'list', '--data', data])).stdout).toContain('backend');

    expect((await rapport(['sources', 'revoke', 'web', '--data', data])).code).toBe(0);
    const after = openStore(data);
    expect(await after.keyStore.verifyWriteKey(key)).toBeNull();
    after.close();
    const again = await rapport(['sources', 'revoke', 'web', '--data', data]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('not_found');
  });

  it('tokens create/list/revoke; the secret is never listed', async () => {
    const created = JSON.parse((await rapport(['tokens', 'create', 'ops', '--data', data, '--json'])).stdout) as { token: { id: string }; secret: string };
    expect(created.secret).toMatch(/^rat_/);
    const dflt = await rapport(['tokens', 'create', '--data', data]);
    expect(dflt.stdout).toContain('token admin');
    const list = await rapport(['tokens', 'list', '--data', data, '--json']);
    expect(JSON.parse(list.stdout).tokens.map((t: { name: string }) => t.name)).toEqual(['ops', 'admin']);
    expect(list.stdout).not.toContain(created.secret);
    expect((await rapport(['tokens', 'revoke', created.token.id, '--data', data])).code).toBe(0);
    const store = openStore(data);
    expect(await store.keyStore.verifyToken(created.secret)).toBeNull();
    store.close();
  });

  it('uses RAPPORT_DATA_DIR; wrong usage exits 2; --help exits 0', async () => {
    // commander reads option env vars from process.env.
    const saved = process.env.RAPPORT_DATA_DIR;
    process.env.RAPPORT_DATA_DIR = data;
    try {
      const r = await rapport(['sources', 'add', 'envsrc', '--json']);
      expect(r.code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.RAPPORT_DATA_DIR;
      else process.env.RAPPORT_DATA_DIR = saved;
    }
    const store = openStore(data);
    expect((await store.keyStore.listSources()).map((s) => s.name)).toEqual(['envsrc']);
    store.close();
    expect((await rapport(['sources', 'add', '--data', data])).code).toBe(2);
    expect((await rapport(['sources', 'list', '--nope', '--data', data])).code).toBe(2);
    expect((await rapport(['tokens', 'create', '--help'])).code).toBe(0);
  });
});
