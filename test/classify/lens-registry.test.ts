import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLensModule } from '../../src/classify/lens-engine-module';
import { BUILTIN_LENS_DIR, createLensRegistry } from '../../src/classify/lens-registry';
import { RapportError } from '../../src/domain/errors';
import { formatLensError } from '../../src/domain/lens';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rapport-lenses-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const lensText = (name: string, extraType = '') => `lens: ${name}
title: ${name}
types:
  one:
    label: One
    description: First.
    prior: 0.5
    conditions: [{ indicator: recency_days, below: 30, weight: 1 }]
    policy: {}
  two:
    label: Two
    description: Second.
    prior: 0.5
    policy: {}
${extraType}`;

describe('lens registry', () => {
  it('lets a user file override a built-in lens of the same name and adds new lenses', () => {
    const user = tempDir();
    writeFileSync(join(user, 'lifecycle.yaml'), lensText('lifecycle'));
    writeFileSync(join(user, 'mine.yaml'), lensText('mine'));
    const reg = createLensRegistry({ builtinDir: BUILTIN_LENS_DIR, userDirs: [user, join(user, 'does-not-exist')] });
    expect(reg.lastErrors()).toEqual([]);
    expect(reg.names()).toEqual(['canvas', 'fournier', 'lifecycle', 'swinscoe', 'mine']);
    expect(reg.get('lifecycle').typeNames).toEqual(['one', 'two']);
    expect(reg.get('lifecycle').definition.source).toBe(join(user, 'lifecycle.yaml'));
  });

  it('throws unknown_lens for an unknown name', () => {
    const reg = createLensRegistry({ builtinDir: BUILTIN_LENS_DIR });
    expect(() => reg.get('fourneir')).toThrow(RapportError);
    try {
      reg.get('fourneir');
    } catch (err) {
      expect((err as RapportError).code).toBe('unknown_lens');
      expect((err as Error).message).toContain('fournier');
    }
  });

  it('keeps the last valid lens set when a reload fails, and picks up the fix', () => {
    const builtin = tempDir();
    writeFileSync(join(builtin, 'a.yaml'), lensText('a'));
    const reg = createLensRegistry({ builtinDir: builtin });
    expect(reg.names()).toEqual(['a']);
    const before = reg.get('a');

    // A broken edit plus a new file: nothing of the new set is taken.
    writeFileSync(join(builtin, 'a.yaml'), lensText('a').replace('recency_days', 'recency_dayz'));
    writeFileSync(join(builtin, 'b.yaml'), lensText('b'));
    const failed = reg.reload();
    expect(failed.ok).toBe(false);
    expect(failed.errors.map(formatLensError)).toEqual([`${join(builtin, 'a.yaml')}:8:31: unknown indicator 'recency_dayz' — did you mean 'recency_days'?`]);
    expect(reg.names()).toEqual(['a']);
    expect(reg.get('a')).toBe(before);
    expect(reg.has('b')).toBe(false);
    expect(reg.lastErrors()).toHaveLength(1);

    writeFileSync(join(builtin, 'a.yaml'), readFileSync(join(builtin, 'b.yaml'), 'utf8').replace('lens: b', 'lens: a'));
    const fixed = reg.reload();
    expect(fixed).toMatchObject({ ok: true, errors: [], lenses: ['a', 'b'] });
    expect(reg.get('a')).not.toBe(before);
    expect(reg.lastErrors()).toEqual([]);
  });

  it('serves the engine: classify by lens name with the current set, hysteresis state carried by the caller', () => {
    const builtin = tempDir();
    writeFileSync(join(builtin, 'a.yaml'), lensText('a'));
    const reg = createLensRegistry({ builtinDir: builtin });
    const lenses = createLensModule(reg);
    expect(lenses.names()).toEqual(['a']);
    const first = lenses.classify('a', { recency_days: 5 }, {}, undefined, 10);
    expect(first).toMatchObject({ type: 'one', changed: true, previousType: null, state: { type: 'one', since: 10 } });
    expect(first.probabilities.one).toBeGreaterThan(0.5);
    expect(first.evidence[0]).toMatchObject({ indicator: 'recency_days', value: 5 });
    const second = lenses.classify('a', { recency_days: 5 }, {}, first.state, 20);
    expect(second.changed).toBe(false);
    expect(() => lenses.classify('zzz', {}, {}, undefined, 0)).toThrow(/unknown lens/);
  });

  it('reports an empty folder as an error and keeps nothing', () => {
    const reg = createLensRegistry({ builtinDir: tempDir() });
    expect(reg.current()).toEqual([]);
    expect(reg.lastErrors()[0]!.message).toContain('no lens files');
  });
});
