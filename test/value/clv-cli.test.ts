import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/app/open-event-log';
import type { StoredEvent } from '../../src/domain/event';
import { main } from '../../src/cli/main';
import { parseCdnow } from '../../src/value/index';
import { cdnowText } from './cdnow-helpers';

let dir: string;
let csv: string;

/** Runs the CLI in-process and captures its output. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'rapport', ...args], { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {} });
  return { code, out, err };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rapport-clv-'));
  // A CSV made from CDNOW_master: the transactions of the paper's 2,357 sampled customers.
  const sampleIds = new Map<string, string>();
  for (const line of cdnowText('CDNOW_sample.txt').split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 5) sampleIds.set(String(Number(f[0])), String(Number(f[1])));
  }
  const lines = ['customer,order_date,dollars'];
  for (const t of parseCdnow(cdnowText('CDNOW_master.txt'))) {
    const id = sampleIds.get(t.customerId);
    if (id) lines.push(`${id},${new Date(t.time).toISOString().slice(0, 10)},${t.amount}`);
  }
  csv = join(dir, 'cdnow.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SOURCE = () => ['--csv', csv, '--customer', 'customer', '--date', 'order_date', '--amount', 'dollars'];

describe('rapport clv (CSV made from CDNOW_master)', () => {
  it('fit --json prints one JSON document with the published BG/NBD estimates', async () => {
    const { code, out } = await run('clv', 'fit', ...SOURCE(), '--until', '1997-09-30', '--json');
    expect(code).toBe(0);
    const res = JSON.parse(out);
    expect(res.model).toBe('bgnbd');
    expect(res.customers).toBe(2357);
    expect(res.params.r).toBeCloseTo(0.243, 2);
    expect(res.params.alpha).toBeCloseTo(4.414, 1);
    expect(Math.abs(res.logLikelihood - -9582.4)).toBeLessThan(0.1);
    expect(res.converged).toBe(true);
    expect(res.standardErrors.r).toBeGreaterThan(0);
  });

  it('fit prints a human table for Pareto/NBD and Gamma-Gamma', async () => {
    const pareto = await run('clv', 'fit', ...SOURCE(), '--until', '1997-09-30', '--model', 'pareto');
    expect(pareto.code).toBe(0);
    expect(pareto.out).toMatch(/Pareto\/NBD fit on 2357 customers/);
    expect(pareto.out).toMatch(/beta\s+11\.6/);
    expect(pareto.out).toMatch(/log-likelihood: -9594\.9/);
    const gg = await run('clv', 'fit', ...SOURCE(), '--until', '1997-09-30', '--model', 'gamma-gamma');
    expect(gg.out).toMatch(/Gamma-Gamma fit on 946 customers/);
    expect(gg.out).toMatch(/p\s+6\.2/);
  });

  it('validate compares holdout predictions with the 1,882 actual repeat purchases', async () => {
    const { code, out } = await run('clv', 'validate', ...SOURCE(), '--calibration-end', '1997-09-30', '--holdout-end', '1998-06-30', '--json');
    expect(code).toBe(0);
    const res = JSON.parse(out);
    expect(res.totalActual).toBe(1882);
    expect(res.totalPredicted).toBeGreaterThan(1500);
    expect(res.frequencyGroups).toHaveLength(8);
    expect(res.tracking).toHaveLength(78);
    const human = await run('clv', 'validate', ...SOURCE(), '--calibration-end', '1997-09-30', '--holdout-end', '1998-06-30');
    expect(human.out).toMatch(/actual 1882, predicted/);
    expect(human.out).toMatch(/7\+\s+64/);
    expect(human.out).toMatch(/78\*\s+4339/);
  });

  it('predict writes per-customer P(alive), expected purchases and CLV', async () => {
    const out = join(dir, 'pred.csv');
    const { code } = await run('clv', 'predict', ...SOURCE(), '--until', '1997-09-30', '--out', out, '--horizon-days', '365', '--discount-rate', '0.1');
    expect(code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('customer_id,x,t_x,T,monetary,p_alive,expected_purchases_90d,expected_purchases_horizon,expected_spend,clv');
    expect(lines).toHaveLength(2358);
    const first = lines.find((l) => l.startsWith('1,'))!.split(',').map(Number);
    expect(first[1]).toBe(2);
    expect(first[5]).toBeGreaterThan(0.5); // P(alive)
    expect(first[9]).toBeGreaterThan(0); // CLV
    const pareto = await run('clv', 'predict', ...SOURCE(), '--until', '1997-09-30', '--out', join(dir, 'pred2.csv'), '--model', 'pareto', '--json');
    expect(JSON.parse(pareto.out).customers).toBe(2357);
  });

  it('exits 2 naming a missing column', async () => {
    const { code, err } = await run('clv', 'fit', '--csv', csv, '--customer', 'cust_id', '--date', 'order_date', '--amount', 'dollars');
    expect(code).toBe(2);
    expect(err).toMatch(/no column 'cust_id'/);
  });

  it('exits 2 without a data source, with a bad date, and with an unknown model', async () => {
    expect((await run('clv', 'fit')).code).toBe(2);
    expect((await run('clv', 'fit', ...SOURCE(), '--until', 'tomorrow-ish')).code).toBe(2);
    expect((await run('clv', 'fit', ...SOURCE(), '--model', 'magic')).code).toBe(2);
  });

  it('exits 1 with insufficient_data when nobody bought twice', async () => {
    const one = join(dir, 'once.csv');
    writeFileSync(one, 'customer_id,date,amount\na,2024-01-01,5\nb,2024-01-02,6\n');
    const { code, err } = await run('clv', 'fit', '--csv', one);
    expect(code).toBe(1);
    expect(err).toMatch(/insufficient_data/);
  });

  it('--help documents the data-source flags', async () => {
    const { code, out } = await run('clv', 'fit', '--help');
    expect(code).toBe(0);
    expect(out).toMatch(/--from-log/);
    expect(out).toMatch(/--time-unit/);
  });
});

describe('rapport clv --from-log', () => {
  it('reads Order Completed events from the event log in --data', async () => {
    const data = join(dir, 'data');
    const store = openStore(data);
    const events: StoredEvent[] = [];
    let seq = 0;
    // Three customers: two buy repeatedly, one once.
    const plan: [string, number, number][] = [
      ['u1', 0, 10], ['u1', 10, 20], ['u1', 40, 15], ['u2', 5, 30], ['u2', 60, 25], ['u3', 20, 5], ['u4', 2, 8], ['u4', 3, 9],
    ];
    for (const [user, day, revenue] of plan) {
      seq++;
      events.push({
        seq: 0, messageId: `m${seq}`, type: 'track', userId: user, anonymousId: null, event: 'Order Completed', name: null,
        groupId: null, previousId: null, properties: { revenue }, traits: {}, context: {}, integrations: {},
        timestamp: Date.UTC(2024, 0, 1) + day * 86_400_000, receivedAt: Date.UTC(2024, 3, 1), sentAt: null, sourceId: 'test',
      });
    }
    await store.eventLog.append(events, { now: Date.UTC(2024, 3, 1), dedupeWindowMs: 86_400_000 });
    store.close();
    const { code, out, err } = await run('clv', 'fit', '--from-log', '--data', data, '--time-unit', 'day', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const res = JSON.parse(out);
    expect(res.customers).toBe(4);
    expect(res.transactions).toBe(8);
    expect(res.calibrationEnd).toBe('2024-03-01');
  });
});
