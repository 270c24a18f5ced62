import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/cli-context';
import { simulate } from '../../src/sim/simulate';
import { retryAfterMs, StreamError, streamToServer } from '../../src/sim/stream-to-server';
import type { SegmentMessage } from '../../src/sim/types';

function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: {} as NodeJS.ProcessEnv,
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}

const run = (io: CliIo, ...args: string[]) => main(['node', 'rapport', 'simulate', ...args], io);

interface Recorded {
  auth: string | undefined;
  contentType: string | undefined;
  url: string | undefined;
  body: { batch: SegmentMessage[] };
}

/** A tiny Segment-like endpoint that records requests and answers from a script. */
class RecordingServer {
  readonly requests: Recorded[] = [];
  /** Status codes for the next requests (then 200). */
  script: { status: number; retryAfter?: string }[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const next = this.script.shift();
        if (next && next.status !== 200) {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (next.retryAfter !== undefined) headers['retry-after'] = next.retryAfter;
          res.writeHead(next.status, headers).end('{"error":"busy"}');
          return;
        }
        this.requests.push({
          auth: req.headers.authorization,
          contentType: req.headers['content-type'],
          url: req.url,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: SegmentMessage[] },
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('rapport simulate (CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapport-sim-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes NDJSON messages and the truth side file', async () => {
    const io = captureIo();
    const out = join(dir, 'messages.ndjson');
    const code = await run(io, '--customers', '40', '--days', '45', '--seed', '5', '--out', out, '--json');
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(io.out) as { messages: number; truth: string; customers: number };
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(summary.messages);
    const msgs = lines.map((l) => JSON.parse(l) as SegmentMessage);
    expect(msgs).toEqual([...simulate({ customers: 40, days: 45, seed: 5, start: Date.UTC(2025, 0, 1) }).messages()]);
    expect(summary.truth).toBe(join(dir, 'messages.truth.ndjson'));
    const truth = readFileSync(summary.truth, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { customerId: string });
    expect(truth).toHaveLength(40);
    const users = new Set(msgs.map((m) => m.userId).filter(Boolean));
    for (const t of truth) expect(users.has(t.customerId)).toBe(true);
  });

  it("writes NDJSON to stdout with --out - and honours --start and --truth", async () => {
    const io = captureIo();
    const truthFile = join(dir, 't.ndjson');
    const code = await run(io, '--customers', '5', '--days', '10', '--start', '2024-06-01', '--out', '-', '--truth', truthFile);
    expect(code).toBe(0);
    const msgs = io.out.trim().split('\n').map((l) => JSON.parse(l) as SegmentMessage);
    expect(msgs.length).toBeGreaterThan(5);
    expect(msgs[0]!.timestamp.startsWith('2024-06')).toBe(true);
    expect(readFileSync(truthFile, 'utf8').trim().split('\n')).toHaveLength(5);
    expect(io.err).toMatch(/simulated \d+ messages/);
  });

  it('rejects wrong usage with exit code 2', async () => {
    for (const args of [
      ['--customers', '5'],
      ['--customers', 'x', '--out', '-'],
      ['--customers', '5', '--to', 'http://127.0.0.1:1'],
      ['--customers', '5', '--out', '-', '--json'],
      ['--customers', '5', '--out', '-', '--german-share', '2'],
      ['--customers', '5', '--out', '-', '--start', 'yesterday-ish'],
    ]) {
      const io = captureIo();
      expect(await run(io, ...args), args.join(' ')).toBe(2);
      expect(io.err).toMatch(/rapport:/);
    }
  });

  it('shows help', async () => {
    const io = captureIo();
    expect(await run(io, '--help')).toBe(0);
    expect(io.out).toMatch(/--write-key/);
  });
});

describe('--to / streamToServer', () => {
  const server = new RecordingServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('posts batches with Basic auth and retries after 429 honouring Retry-After', async () => {
    server.requests.length = 0;
    server.script = [{ status: 429, retryAfter: '0' }, { status: 200 }, { status: 503, retryAfter: '0' }];
    const io = captureIo();
    const code = await run(io, '--customers', '30', '--days', '20', '--seed', '2', '--to', server.url, '--write-key', 'wk_test', '--batch', '50', '--json');
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(io.out) as { messages: number; sent: number; batches: number; retries: number };
    expect(summary.sent).toBe(summary.messages);
    expect(summary.retries).toBe(2);
    expect(server.requests).toHaveLength(summary.batches);
    const expectedAuth = `Basic ${Buffer.from('wk_test:').toString('base64')}`;
    const received: SegmentMessage[] = [];
    for (const r of server.requests) {
      expect(r.url).toBe('/v1/batch');
      expect(r.auth).toBe(expectedAuth);
      expect(r.contentType).toMatch(/application\/json/);
      expect(Array.isArray(r.body.batch)).toBe(true);
      expect(r.body.batch.length).toBeGreaterThan(0);
      expect(r.body.batch.length).toBeLessThanOrEqual(50);
      received.push(...r.body.batch);
    }
    // Nothing lost or duplicated by the retries, order kept.
    expect(received).toEqual([...simulate({ customers: 30, days: 20, seed: 2, start: Date.UTC(2025, 0, 1) }).messages()]);
  });

  it('waits as long as Retry-After says and fails on a client error', async () => {
    server.requests.length = 0;
    server.script = [{ status: 429, retryAfter: '2' }];
    const sleeps: number[] = [];
    const messages = [...simulate({ customers: 3, days: 5, seed: 1, start: Date.UTC(2025, 0, 1) }).messages()];
    const p = await streamToServer(
      { url: `${server.url}/`, writeKey: 'k', messages, batchSize: 1000 },
      { sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(sleeps).toEqual([2000]);
    expect(p).toMatchObject({ sent: messages.length, batches: 1, retries: 1 });

    server.script = [{ status: 400 }];
    await expect(streamToServer({ url: server.url, writeKey: 'k', messages }, { sleep: async () => {} })).rejects.toBeInstanceOf(StreamError);

    server.script = [{ status: 503 }, { status: 503 }, { status: 503 }];
    await expect(streamToServer({ url: server.url, writeKey: 'k', messages, maxRetries: 2 }, { sleep: async () => {} })).rejects.toMatchObject({
      code: 'stream_failed',
      status: 503,
    });
  });

  it('paces by simulated time with --speed semantics', async () => {
    server.requests.length = 0;
    server.script = [];
    let clock = 0;
    const sleeps: number[] = [];
    const messages = [...simulate({ customers: 20, days: 4, seed: 3, start: Date.UTC(2025, 0, 1) }).messages()];
    const p = await streamToServer(
      { url: server.url, writeKey: 'k', messages, speed: 1, batchSize: 500 },
      {
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      },
    );
    expect(p.sent).toBe(messages.length);
    // 4 simulated days at 1 s per day: about 4 s of waiting in total, spread over several batches.
    const waited = sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThan(2500);
    expect(waited).toBeLessThanOrEqual(4000);
    expect(server.requests.length).toBeGreaterThan(3);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(null, 0)).toBeNull();
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 1000)).toBe(4000);
    expect(retryAfterMs('soon', 0)).toBeNull();
  });
});
