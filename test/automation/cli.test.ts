import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';

const ROOT = join(import.meta.dirname, '..', '..');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'rapport', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} });
  return { code, out, err };
}

describe('rapport playbooks / report playbooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-cli-pb-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pbDir = join(ROOT, 'playbooks');
  const tplDir = join(ROOT, 'templates');
  const customers = join(dir, 'customers.jsonl');
  writeFileSync(
    customers,
    [
      { customerId: 'a', userId: 'ua', email: 'a@x.test', types: { lifecycle: 'lapsed' }, policies: { lifecycle: { tone: 'formal' } } },
      { customerId: 'b', userId: 'ub', types: { lifecycle: 'lapsed' } },
      { customerId: 'c', userId: 'uc', email: 'c@x.test', types: { lifecycle: 'new' } },
    ]
      .map((x) => JSON.stringify(x))
      .join('\n'),
  );

  it('validates the example playbooks and their templates', async () => {
    const r = await run(['playbooks', 'validate', '--playbooks', pbDir, '--templates', tplDir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, errors: [] });
  });

  it('dry-run prints one JSON document with who gets what, and blocks without an address', async () => {
    const r = await run(['playbooks', 'dry-run', 'lifecycle-win-back-lapsed', '--data', join(dir, 'data'), '--playbooks', pbDir, '--templates', tplDir, '--customers', customers, '--at', '2026-03-02T09:00:00Z', '--json']);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out) as { matched: number; customers: { customerId: string; status: string; plan: { outcome: string; at: string; tone?: string; reason?: string }[] }[] };
    expect(rep.matched).toBe(2);
    // Holdout assignment is a stable hash: both of these customers are treated.
    const a = rep.customers.find((c) => c.customerId === 'a')!;
    expect(a.status).toBe('enrolled');
    expect(a.plan[0]).toMatchObject({ outcome: 'send', tone: 'formal', at: '2026-03-02T10:00:00.000Z' });
    const b = rep.customers.find((c) => c.customerId === 'b')!;
    expect(b.status).toBe('enrolled');
    expect(b.plan[0]).toMatchObject({ outcome: 'dropped', reason: 'no_address' });
  });

  it('report playbooks --json lists every playbook; wrong usage exits 2, unknown playbook 1', async () => {
    const r = await run(['report', 'playbooks', '--data', join(dir, 'data'), '--playbooks', pbDir, '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { reports: unknown[] }).reports.length).toBeGreaterThanOrEqual(7);
    // Without --customers the dry run reads the engine state of --data (empty here: nobody matches).
    const fromData = await run(['playbooks', 'dry-run', 'lifecycle-win-back-lapsed', '--data', join(dir, 'data'), '--playbooks', pbDir, '--json']);
    expect(fromData.code).toBe(0);
    expect((JSON.parse(fromData.out) as { matched: number }).matched).toBe(0);
    expect((await run(['playbooks', 'dry-run', 'lifecycle-win-back-lapsed', '--limit', 'many', '--data', join(dir, 'data'), '--playbooks', pbDir])).code).toBe(2);
    expect((await run(['report', 'playbooks', 'nope', '--data', join(dir, 'data'), '--playbooks', pbDir])).code).toBe(1);
  });
});
