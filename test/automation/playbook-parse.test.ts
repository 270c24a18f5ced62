import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPlaybookRegistry, watchPlaybooks } from '../../src/automation/playbook-registry';
import { createTemplateRenderer } from '../../src/automation/templates';
import { templateFor } from '../../src/domain/playbook';
import { formatPlaybookError, parsePlaybookYaml } from '../../src/domain/playbook-parse';

const ROOT = join(import.meta.dirname, '..', '..');

describe('playbook YAML parsing', () => {
  it('names file:line:column for a bad value', () => {
    const text = ['id: p1', 'name: P', 'trigger:', '  entered: { lens: lifecycle, type: new }', 'holdout: 1.5', 'steps:', '  - id: a', '    wait: 3d'].join('\n');
    const r = parsePlaybookYaml(text, 'p1.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ file: 'p1.yaml', line: 5, column: 10 });
    expect(formatPlaybookError(r.errors[0]!)).toMatch(/^p1\.yaml:5:10: holdout: /);
  });

  it('reports unknown keys, YAML syntax errors and bad jumps with positions', () => {
    const unknown = parsePlaybookYaml('id: p\nname: P\ntrigger: { entered: { lens: l, type: t } }\nsteps:\n  - id: a\n    wiat: 3d\n', 'u.yaml');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.errors[0]?.line).toBe(5);
    const syntax = parsePlaybookYaml('id: p\nname: [unclosed\n', 's.yaml');
    expect(syntax.ok).toBe(false);
    if (!syntax.ok) expect(syntax.errors[0]?.message).toMatch(/YAML syntax/);
    const back = parsePlaybookYaml(
      ['id: p', 'name: P', 'trigger: { event: { name: Ping } }', 'steps:', '  - id: a', '    wait: 1d', '  - id: b', '    branch: { if: { indicator: nps, gte: 9 }, then: a }'].join('\n'),
      'b.yaml',
    );
    expect(back.ok).toBe(false);
    if (!back.ok) {
      expect(back.errors[0]).toMatchObject({ line: 8 });
      expect(back.errors[0]?.message).toMatch(/backwards/);
    }
  });

  it('applies defaults: 10 % holdout, enter once, defer when blocked, 14-day goal', () => {
    const r = parsePlaybookYaml('id: p\nname: P\ntrigger: { indicator: { name: p_alive, crosses: below, threshold: 0.5 } }\nsteps:\n  - { id: a, send: { template: t } }\n', 'd.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.playbook).toMatchObject({ holdout: 0.1, reenter: 'once', on_blocked: 'defer', goal: { event: 'Order Completed', within: 14 * 86_400_000 } });
    expect(r.playbook.steps[0]).toMatchObject({ send: { channel: 'email', promotional: false, transactional: false } });
  });

  it('picks the template for a variant', () => {
    expect(templateFor({ template: { A: 'x', B: 'y' } }, 'B')).toBe('y');
    expect(templateFor({ template: { default: 'd', A: 'x' } }, 'C')).toBe('d');
    expect(templateFor({ template: 'plain' }, 'A')).toBe('plain');
  });
});

describe('example playbooks and templates', () => {
  it('all examples in playbooks/ are valid and every template they use exists in every tone', () => {
    const reg = createPlaybookRegistry({ dirs: [join(ROOT, 'playbooks')] });
    expect(reg.lastErrors()).toEqual([]);
    expect(reg.current().length).toBeGreaterThanOrEqual(7);
    const t = createTemplateRenderer([join(ROOT, 'templates')]);
    const ctx = { customer: { id: 'c', userId: 'u', firstName: 'Ann', traits: {} }, playbook: { id: 'p', name: 'P' }, variant: null, type: null, links: { unsubscribe: 'https://x/u/1', preferences: 'https://x/u/1' } };
    for (const pb of reg.current()) {
      for (const s of pb.steps) {
        if (!('send' in s)) continue;
        const names = typeof s.send.template === 'string' ? [s.send.template] : Object.values(s.send.template);
        for (const name of names) {
          for (const tone of ['warm', 'neutral', 'playful', 'formal']) {
            const m = t.render(name, tone, ctx, (u) => `https://track/${encodeURIComponent(u)}`);
            expect(m?.tone, `${pb.id}: ${name}/${tone}`).toBe(tone);
            expect(m?.html).toContain('https://track/');
            expect(m?.text).toContain('Ann');
          }
        }
      }
    }
  });

  it('a failed reload keeps the last valid set; the watcher reloads on change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-pb-'));
    try {
      cpSync(join(ROOT, 'playbooks', 'lifecycle-win-back-lapsed.yaml'), join(dir, 'a.yaml'));
      const reg = createPlaybookRegistry({ dirs: [dir] });
      expect(reg.current().map((p) => p.id)).toEqual(['lifecycle-win-back-lapsed']);
      const results: boolean[] = [];
      const stop = watchPlaybooks(reg, [dir], (r) => results.push(r.ok), 50);
      writeFileSync(join(dir, 'b.yaml'), 'id: broken\nname: B\ntrigger: { entered: { lens: x } }\nsteps: []\n');
      await new Promise((r) => setTimeout(r, 400));
      stop();
      expect(results.at(-1)).toBe(false);
      expect(reg.lastErrors()[0]?.file).toBe(join(dir, 'b.yaml'));
      expect(reg.current().map((p) => p.id)).toEqual(['lifecycle-win-back-lapsed']);
      writeFileSync(join(dir, 'b.yaml'), readFileSync(join(ROOT, 'playbooks', 'canvas-co-creation-invite.yaml')));
      expect(reg.reload()).toMatchObject({ ok: true, count: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
