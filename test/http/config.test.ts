import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config';
import { ConfigError } from '../../src/domain/errors';
import { ROOT, runCli, tempDir } from './helpers';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = tempDir('rapport-config-');
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('has the documented defaults and precedence file < env < flags', () => {
    const cwd = dir();
    const c = loadConfig({ cwd, env: {} });
    expect(c).toMatchObject({ port: 4100, host: '127.0.0.1', dataDir: join(cwd, 'data'), logLevel: 'info', configFile: null });
    expect(c.ingest).toMatchObject({ maxEventBytes: 32768, maxRequestBytes: 512000, maxBatchEvents: 2500, dedupeWindowHours: 24 });
    writeFileSync(join(cwd, 'rapport.config.yaml'), 'port: 5000\nhost: 0.0.0.0\nlogLevel: warn\ningest:\n  maxPendingEvents: 77\nsmtp:\n  url: smtp://x\n');
    const f = loadConfig({ cwd, env: {} });
    expect(f).toMatchObject({ port: 5000, host: '0.0.0.0', logLevel: 'warn', configFile: join(cwd, 'rapport.config.yaml') });
    expect(f.ingest.maxPendingEvents).toBe(77);
    expect(f.file).toMatchObject({ smtp: { url: 'smtp://x' } });
    expect(loadConfig({ cwd, env: { PORT: '6000', RAPPORT_DATA_DIR: '/tmp/x' } })).toMatchObject({ port: 6000, dataDir: '/tmp/x' });
    expect(loadConfig({ cwd, env: { PORT: '6000' }, overrides: { port: '7000' } }).port).toBe(7000);
  });

  it('names file:line:column, the key and the allowed values for a wrong YAML value', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'rapport.config.yaml'), '# rapport\nhost: 127.0.0.1\nport: abc\n');
    const e = configError(() => loadConfig({ cwd, env: {} }));
    expect(e.message).toContain(`${join(cwd, 'rapport.config.yaml')}:3:7`);
    expect(e.message).toContain("'port'");
    expect(e.message).toContain('0 to 65535');
    expect(e).toMatchObject({ line: 3, column: 7 });

    writeFileSync(join(cwd, 'other.yaml'), 'logLevel: loud\n');
    const l = configError(() => loadConfig({ cwd, env: {}, configFile: 'other.yaml' }));
    expect(l.message).toMatch(/other\.yaml:1:11: .*'logLevel'.*fatal, error, warn, info, debug, trace, silent/);

    writeFileSync(join(cwd, 'nested.yaml'), 'ingest:\n  retryAfterSeconds: 0\n');
    expect(configError(() => loadConfig({ cwd, env: {}, configFile: 'nested.yaml' })).message).toMatch(/nested\.yaml:2:22: .*'ingest\.retryAfterSeconds'/);
    writeFileSync(join(cwd, 'typo.yaml'), 'ingest:\n  maxPending: 5\n');
    expect(configError(() => loadConfig({ cwd, env: {}, configFile: 'typo.yaml' })).message).toMatch(/typo\.yaml:2:3: unknown key 'ingest\.maxPending'/);
  });

  it('reports YAML syntax errors with a position, and a missing --config file', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'rapport.config.yaml'), 'port: 4100\nhost: [unclosed\n');
    const e = configError(() => loadConfig({ cwd, env: {} }));
    expect(e.message).toMatch(/rapport\.config\.yaml:\d+:\d+: YAML syntax error/);
    expect(configError(() => loadConfig({ cwd, env: {}, configFile: 'missing.yaml' })).message).toContain('config file not found');
  });

  it('names the environment variable for a wrong env value', () => {
    const cwd = dir();
    expect(configError(() => loadConfig({ cwd, env: { PORT: 'abc' } })).message).toMatch(/environment variable PORT: invalid value "abc" for 'port'/);
    expect(configError(() => loadConfig({ cwd, env: { RAPPORT_LOG_LEVEL: 'chatty' } })).message).toMatch(/RAPPORT_LOG_LEVEL.*one of fatal/);
    expect(configError(() => loadConfig({ cwd, env: {}, overrides: { port: '99999' } })).message).toMatch(/option --port/);
  });

  it('reads trustProxy from the environment and the file, and names a bad value', () => {
    const cwd = dir();
    expect(loadConfig({ cwd, env: {} }).trustProxy).toBe(false);
    expect(loadConfig({ cwd, env: { RAPPORT_TRUST_PROXY: 'true' } }).trustProxy).toBe(true);
    expect(loadConfig({ cwd, env: { RAPPORT_TRUST_PROXY: '2' } }).trustProxy).toBe(2);
    expect(loadConfig({ cwd, env: { RAPPORT_TRUST_PROXY: 'loopback, 10.0.0.0/8,2001:db8::/32 ,192.0.2.1' } }).trustProxy).toEqual(['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
    expect(configError(() => loadConfig({ cwd, env: { RAPPORT_TRUST_PROXY: '10.0.0.0/33' } })).message).toMatch(
      /environment variable RAPPORT_TRUST_PROXY: invalid value .* for 'trustProxy': expected false, true, a number of proxy hops/,
    );
    expect(() => loadConfig({ cwd, env: { RAPPORT_TRUST_PROXY: 'proxy.local' } })).toThrow(/trustProxy/);
    writeFileSync(join(cwd, 'rapport.config.yaml'), 'trustProxy:\n  - 10.0.0.0/8\n  - nope\n');
    expect(configError(() => loadConfig({ cwd, env: {} })).message).toMatch(/rapport\.config\.yaml:\d+:\d+: .*'trustProxy/);
    writeFileSync(join(cwd, 'rapport.config.yaml'), 'trustProxy: [uniquelocal]\n');
    expect(loadConfig({ cwd, env: {} }).trustProxy).toEqual(['uniquelocal']);
  });

  it('CLI: invalid config exits 1 with the message on stderr; wrong usage exits 2', async () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'rapport.config.yaml'), 'port: abc\n');
    const bad = await runCli(['start', '--data', join(cwd, 'data')], { cwd });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rapport\.config\.yaml:1:7: .*'port'.*0 to 65535.*\(invalid_config\)/);
    expect(bad.stdout).toBe('');
    const env = await runCli(['start', '--data', join(cwd, 'data'), '--config', join(cwd, 'nope.yaml')], { cwd });
    expect(env.code).toBe(1);
    const usage = await runCli(['start', '--bogus-flag'], { cwd });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown option');
    const level = await runCli(['start', '--log-level', 'loud', '--data', join(cwd, 'data')], { cwd: dir() });
    expect(level.code).toBe(1);
    expect(level.stderr).toMatch(/--log-level.*one of fatal/);
    const help = await runCli(['start', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--port');
  });

  it('CLI: stops quietly when the reader of its output goes away (`rapport ... | head`)', async () => {
    const proc = spawn(process.execPath, [join(ROOT, 'bin/rapport.mjs'), 'lenses', 'show', 'fournier'], { cwd: ROOT });
    // The pipe is closed before the command writes: its write fails with EPIPE.
    proc.stdout.destroy();
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => proc.on('exit', (c) => res(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
