import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventLog } from '../../src/app/open-event-log';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/cli-context';
import { tempDir } from '../http/helpers';

const FIX = resolve(import.meta.dirname, '../fixtures/import');

async function rapport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} };
  const code = await main(['node', 'rapport', ...args], io);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

async function readAll(dataDir: string) {
  const { eventLog, close } = openEventLog(dataDir);
  try {
    return await eventLog.read(0, 1_000_000);
  } finally {
    close();
  }
}

describe('rapport import', () => {
  let dir: string;
  let data: string;
  beforeEach(() => {
    dir = tempDir('rapport-import-');
    data = join(dir, 'data');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('imports NDJSON through the same validation as HTTP and reports rejected lines with numbers', async () => {
    const rejects = join(dir, 'rejects.ndjson');
    const r = await rapport(['import', join(FIX, 'events.ndjson'), '--data', data, '--json', '--rejects', rejects]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ format: 'ndjson', imported: 5, rejected: 3, completed: true, alreadyImported: false });
    expect(report.rejects.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([
      [4, 'invalid_json'],
      [6, 'missing_id'],
      [7, 'invalid_event'],
    ]);
    expect(readFileSync(rejects, 'utf8').trim().split('\n').map((l) => JSON.parse(l).line)).toEqual([4, 6, 7]);
    const events = await readAll(data);
    expect(events.map((e) => e.type)).toEqual(['identify', 'track', 'page', 'alias', 'track']);
    expect(events[0]).toMatchObject({ messageId: 'nd-1', sourceId: 'import', traits: { email: 'c1@example.com' }, timestamp: Date.parse('2024-01-02T10:00:00Z') });
    expect(events[1]?.messageId).toMatch(/^imp-[0-9a-f]{32}$/);
    expect(events[4]?.properties).toEqual({ nps: 9, comment: 'Toll! 😀' });

    // Re-running a completed import does nothing.
    const again = await rapport(['import', join(FIX, 'events.ndjson'), '--data', data]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already imported');
    expect(await readAll(data)).toHaveLength(5);
  });

  it('imports CSV with a mapping file: typed values, traits, multi-line cells, per-row rejects', async () => {
    const r = await rapport(['import', join(FIX, 'orders.csv'), '--mapping', join(FIX, 'orders-mapping.yaml'), '--data', data, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ format: 'csv', imported: 3, rejected: 2, completed: true });
    expect(report.rejects.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([
      [6, 'invalid_event'],
      [7, 'missing_id'],
    ]);
    const events = await readAll(data);
    expect(events.map((e) => e.messageId)).toEqual(['o-10', 'o-11', 'o-12']);
    expect(events[0]).toMatchObject({ type: 'track', userId: 'c-1', event: 'Order Completed', properties: { order_id: 'o-10', revenue: 19.9, note: 'first' }, traits: { email: 'c1@example.com' } });
    expect(events[1]?.properties).toMatchObject({ revenue: 5, note: 'two\nlines' });
    // Leading zeros stay text (ids, zip codes); empty cells are left out.
    expect(events[2]?.properties).toEqual({ order_id: 'o-12', revenue: '007' });
  });

  it('imports CSV with mapping flags (identify with traits)', async () => {
    const r = await rapport([
      'import', join(FIX, 'orders.csv'), '--data', data, '--json',
      '--type', 'identify', '--user-id', 'customer', '--trait', 'email=email', '--trait', 'last_order=order_no',
    ]);
    expect(r.code).toBe(0);
    const events = await readAll(data);
    expect(events.map((e) => e.type)).toEqual(['identify', 'identify', 'identify', 'identify']);
    expect(events[3]).toMatchObject({ userId: 'c-3', traits: { last_order: 'o-13' } });
  });

  it('fatal errors import nothing and exit 1; wrong usage exits 2', async () => {
    const missing = await rapport(['import', join(dir, 'nope.ndjson'), '--data', data]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    const badCol = await rapport(['import', join(FIX, 'orders.csv'), '--data', data, '--user-id', 'cust', '--event-name', 'X']);
    expect(badCol.code).toBe(1);
    expect(badCol.stderr).toMatch(/not in the CSV header: cust/);
    const mapping = join(dir, 'bad-mapping.yaml');
    writeFileSync(mapping, 'type: track\nuserId: customer\nevnt: x\n');
    const badMap = await rapport(['import', join(FIX, 'orders.csv'), '--data', data, '--mapping', mapping]);
    expect(badMap.code).toBe(1);
    expect(badMap.stderr).toMatch(/bad-mapping\.yaml:3:1: .*evnt/);
    const noMap = await rapport(['import', join(FIX, 'orders.csv'), '--data', data]);
    expect(noMap.code).toBe(1);
    expect(noMap.stderr).toContain('mapping');
    expect(await readAll(data)).toHaveLength(0);
    expect((await rapport(['import', join(FIX, 'orders.csv'), '--data', data, '--property', 'oops'])).code).toBe(2);
    expect((await rapport(['import', join(FIX, 'orders.csv'), '--data', data, '--chunk-size', '0'])).code).toBe(2);
    expect((await rapport(['import', join(FIX, 'README.md'), '--data', data])).code).toBe(2);
  });

  it('resumes after an interruption from the last committed chunk and never duplicates', async () => {
    const file = join(dir, 'big.ndjson');
    const lines: string[] = [];
    for (let i = 1; i <= 2_500; i++) {
      // Every 500th line is invalid, to check rejects are counted once across runs.
      lines.push(i % 500 === 0 ? '{"type":"track"}' : JSON.stringify({ type: 'track', userId: `u${i % 50}`, event: 'Product Viewed', properties: { i } }));
    }
    writeFileSync(file, lines.join('\n') + '\n');
    const first = await rapport(['import', file, '--data', data, '--json', '--chunk-size', '400', '--stop-after', '1000']);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('run the same command again to resume');
    const partial = JSON.parse(first.stdout);
    expect(partial).toMatchObject({ completed: false, lastCommittedLine: 1200, imported: 1198, rejected: 2 });
    expect(await readAll(data)).toHaveLength(1198);

    const second = await rapport(['import', file, '--data', data, '--json', '--chunk-size', '400']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ completed: true, resumedFrom: 1200, imported: 2495, rejected: 5, duplicates: 0 });
    const events = await readAll(data);
    expect(events).toHaveLength(2495);
    expect(new Set(events.map((e) => e.properties.i)).size).toBe(2495);

    // A copy (new file identity) of the same content re-imports nothing new: derived ids dedupe.
    const copy = join(dir, 'copy.ndjson');
    copyFileSync(file, copy);
    const third = await rapport(['import', copy, '--data', data, '--json']);
    expect(JSON.parse(third.stdout)).toMatchObject({ imported: 0, duplicates: 2495 });
    expect(await readAll(data)).toHaveLength(2495);
  });
});
