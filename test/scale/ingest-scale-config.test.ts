import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config';
import { loadScaleConfig } from '../../src/app/scale-config';
import { ConfigError } from '../../src/domain/errors';

describe('scale: section, RAPPORT_PARTITIONS and NATS_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-scale-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const withFile = (yaml: string) => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    return loadConfig({ cwd: dir, env: {}, configFile: file });
  };

  it('has the contract defaults and reads the section, env and flag in that order', () => {
    expect(loadScaleConfig(withFile('port: 4100\n'), { env: {} })).toEqual({
      partitions: 16,
      stream: 'RAPPORT_EVENTS',
      subjectPrefix: 'rapport.events',
      replicas: 1,
      maxAgeHours: 168,
      natsUrl: null,
    });
    const config = withFile('scale:\n  partitions: 32\n  stream: EV\n  subjectPrefix: acme.events\n  replicas: 3\n  maxAgeHours: 24\n');
    expect(loadScaleConfig(config, { env: {} })).toEqual({ partitions: 32, stream: 'EV', subjectPrefix: 'acme.events', replicas: 3, maxAgeHours: 24, natsUrl: null });
    expect(loadScaleConfig(config, { env: { RAPPORT_PARTITIONS: '8', NATS_URL: 'nats://a:4222' } })).toMatchObject({ partitions: 8, natsUrl: 'nats://a:4222' });
    expect(loadScaleConfig(config, { env: { NATS_URL: 'nats://a:4222' }, natsUrl: 'nats://b:4222' }).natsUrl).toBe('nats://b:4222');
  });

  it('names the file position and what is allowed for a bad value', () => {
    const bad = withFile('scale:\n  partitions: 0\n');
    expect(() => loadScaleConfig(bad, { env: {} })).toThrow(ConfigError);
    expect(() => loadScaleConfig(bad, { env: {} })).toThrow(/:2:\d+: scale\.partitions/);
    expect(() => loadScaleConfig(withFile('scale:\n  subjectPrefix: "a b"\n'), { env: {} })).toThrow(/scale\.subjectPrefix/);
    expect(() => loadScaleConfig(withFile('scale:\n  shards: 3\n'), { env: {} })).toThrow(/shards/);
    expect(() => loadScaleConfig(withFile('scale:\n  replicas: 7\n'), { env: {} })).toThrow(/:2:\d+: scale\.replicas/);
    expect(() => loadScaleConfig(withFile('scale:\n  maxAgeHours: 0\n'), { env: {} })).toThrow(/scale\.maxAgeHours/);
    expect(() => loadScaleConfig(withFile('port: 1\n'), { env: { RAPPORT_PARTITIONS: 'many' } })).toThrow(/RAPPORT_PARTITIONS/);
  });
});
