import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rapport', ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
  return { code, stdout, stderr };
}

const root = mkdtempSync(join(tmpdir(), 'rapport-lenses-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, 'data');
mkdirSync(join(data, 'lenses'), { recursive: true });

const bad = join(root, 'bad.yaml');
writeFileSync(
  bad,
  `lens: bad
title: Bad
types:
  a:
    label: A
    description: x
    prior: 0.5
    conditions:
      - { indicator: recency_dayz, above: 30, weight: 1 }
    policy: {}
  b:
    label: B
    description: y
    prior: 0.5
    conditions:
      - { indicator: p_alive, below: 0.2, weight: high }
    policy: {}
`,
);

describe('rapport lenses', () => {
  it('list --json prints the four built-in lenses as one JSON document', async () => {
    const r = await run('lenses', 'list', '--data', data, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { lenses: { name: string; types: string[]; origin: string }[]; errors: unknown[] };
    expect(doc.lenses.map((l) => l.name).sort()).toEqual(['canvas', 'fournier', 'lifecycle', 'swinscoe']);
    expect(doc.lenses.find((l) => l.name === 'fournier')!.types).toHaveLength(15);
    expect(doc.errors).toEqual([]);
    const human = await run('lenses', 'list', '--data', data);
    expect(human.stdout).toMatch(/lifecycle\s+5 types\s+Lifecycle guide posts/);
  });

  it('validate of a bad file exits 1 with file:line:column on stderr', async () => {
    const r = await run('lenses', 'validate', bad, '--data', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:9:22: unknown indicator 'recency_dayz' — did you mean 'recency_days'?`);
    expect(r.stderr).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:16:\\d+: 'types.b.conditions\\[0\\].weight' must be a number, got the string "high"`));
    expect(r.stdout).toContain(`BAD ${bad}`);
    const json = await run('lenses', 'validate', bad, '--data', data, '--json');
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as { ok: boolean; errors: { line: number; column: number }[] };
    expect(doc.ok).toBe(false);
    expect(doc.errors.map((e) => [e.line, e.column])).toEqual([
      [9, 22],
      [16, 51],
    ]);
  });

  it('validate without files checks every lens folder; a bad user lens makes list fail too', async () => {
    const ok = await run('lenses', 'validate', '--data', data);
    expect(ok.code).toBe(0);
    expect(ok.stdout.match(/^ok /gm)).toHaveLength(4);
    const extra = join(root, 'extra');
    mkdirSync(extra);
    writeFileSync(join(extra, 'bad.yaml'), '{ lens: bad, title: x, types: [ }\n');
    const r = await run('lenses', 'validate', '--data', data, '--lenses-dir', extra);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:1:\d+: YAML syntax error/);
    const list = await run('lenses', 'list', '--data', data, '--lenses-dir', extra, '--json');
    expect(list.code).toBe(1);
    expect((JSON.parse(list.stdout) as { lenses: unknown[] }).lenses).toHaveLength(4);
  });

  it('show prints types, conditions and policies; --json gives the lens; unknown lens exits 1', async () => {
    const r = await run('lenses', 'show', 'swinscoe', '--data', data);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('one_night_stand — One-night stand');
    expect(r.stdout).toMatch(/\+2\.5\s+orders_total between 0\.5 and 1\.5/);
    expect(r.stdout).toContain('intended mix: dating 10.0 %');
    const json = await run('lenses', 'show', 'canvas', '--data', data, '--json');
    const doc = JSON.parse(json.stdout) as { lens: { lens: string; types: { name: string; policy: { channels: string[] } }[] }; model: null };
    expect(doc.lens.lens).toBe('canvas');
    expect(doc.lens.types.find((t) => t.name === 'dedicated_personal_assistance')!.policy.channels).toEqual(['task', 'email']);
    expect(doc.model).toBeNull();
    const unknown = await run('lenses', 'show', 'fourneir', '--data', data);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown lens 'fourneir'");
  });

  it('a user lens in <data>/lenses overrides the built-in', async () => {
    const d2 = join(root, 'data2');
    mkdirSync(join(d2, 'lenses'), { recursive: true });
    writeFileSync(
      join(d2, 'lenses', 'canvas.yaml'),
      `lens: canvas
title: My modes
types:
  online: { label: Online, description: Buys online., prior: 0.5, conditions: [{ indicator: engagement_90d, above: 5, weight: 1 }], policy: {} }
  store: { label: Store, description: Buys in store., prior: 0.5, conditions: [{ indicator: traits.channel, equals: store, weight: 2 }], policy: {} }
`,
    );
    const r = await run('lenses', 'list', '--data', d2, '--json');
    const canvas = (JSON.parse(r.stdout) as { lenses: { name: string; title: string; origin: string; overrides: string | null }[] }).lenses.find((l) => l.name === 'canvas')!;
    expect(canvas).toMatchObject({ title: 'My modes', origin: 'user' });
    expect(canvas.overrides).toMatch(/lenses[\\/]canvas\.yaml$/);
  });

  it('train and discover have help, need their options, and report a missing engine store', async () => {
    expect((await run('train', '--help')).code).toBe(0);
    expect((await run('discover', '--help')).stdout).toContain('--min-share');
    expect((await run('train', '--data', data)).code).toBe(2);
    expect((await run('discover', '--data', data, '--k', 'x')).code).toBe(2);
    const t = await run('train', '--lens', 'nope', '--data', data);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('unknown_lens');
  });
});
