import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventLog, openStore } from '../../src/app/open-event-log';
import { basicAuth, post, spawnServer, tempDir, type ChildServer } from './helpers';

function makeKey(dataDir: string): Promise<string> {
  const store = openStore(dataDir);
  return store.keyStore.createSource('durability', Date.now()).then(({ writeKey }) => {
    store.close();
    return writeKey;
  });
}

const batchOf = (prefix: string, k: number) => ({
  batch: Array.from({ length: k }, (_, i) => ({ type: 'track', userId: `u${i % 7}`, event: 'Order Completed', properties: { i }, messageId: `${prefix}-${i}` })),
});

async function countByMessageId(dataDir: string): Promise<Map<string, number>> {
  const { eventLog, close } = openEventLog(dataDir);
  try {
    const counts = new Map<string, number>();
    for (const e of await eventLog.read(0, 1_000_000)) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
    return counts;
  } finally {
    close();
  }
}

describe('durability and shutdown of the real server process', () => {
  const dirs: string[] = [];
  const children: ChildServer[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('every acknowledged event survives kill -9 exactly once; re-sending after restart does not duplicate', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const writeKey = await makeKey(dataDir);
    const server = await spawnServer(dataDir);
    children.push(server);
    const acked: string[] = [];
    let killed = false;
    const sends = Array.from({ length: 12 }, (_, r) =>
      post(`${server.url}/v1/batch`, batchOf(`k${r}`, 100), { writeKey }).then(
        (res) => {
          if (res.status === 200) acked.push(`k${r}`);
          if (!killed && res.status === 200) {
            killed = true;
            server.proc.kill('SIGKILL');
          }
        },
        () => undefined, // connection reset by the kill: not acknowledged
      ),
    );
    await Promise.all(sends);
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(1);

    const afterCrash = await countByMessageId(dataDir);
    for (const prefix of acked) {
      for (let i = 0; i < 100; i++) expect(afterCrash.get(`${prefix}-${i}`), `${prefix}-${i}`).toBe(1);
    }
    for (const n of afterCrash.values()) expect(n).toBe(1);

    const again = await spawnServer(dataDir);
    children.push(again);
    for (let r = 0; r < 12; r++) {
      const res = await post(`${again.url}/v1/batch`, batchOf(`k${r}`, 100), { writeKey });
      expect(res.status).toBe(200);
      if (acked.includes(`k${r}`)) expect(res.body).toMatchObject({ accepted: 0, duplicates: 100 });
    }
    again.proc.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    const final = await countByMessageId(dataDir);
    expect(final.size).toBe(1200);
    for (const n of final.values()) expect(n).toBe(1);
  });

  it('SIGTERM lets in-flight requests finish with 200 and their events stored, then exits 0', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const writeKey = await makeKey(dataDir);
    const server = await spawnServer(dataDir);
    children.push(server);
    const body = JSON.stringify(batchOf('inflight', 50));
    const { port } = new URL(server.url);
    // Send headers and half the body, signal the server, then finish the body.
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/batch', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: basicAuth(writeKey) } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 1000));
      setTimeout(() => {
        server.proc.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(1000)), 300);
      }, 300);
    });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ accepted: 50 });
    expect((await server.exited).code).toBe(0);
    const counts = await countByMessageId(dataDir);
    expect(counts.size).toBe(50);
  });
});
