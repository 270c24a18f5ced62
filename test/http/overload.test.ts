import { afterEach, describe, expect, it } from 'vitest';
import type { EventLog } from '../../src/ports/event-log';
import { post, startTestServer, type TestServer } from './helpers';
import type { IngestWriter } from '../../src/ingest/ingest-writer';

/** Wraps the real event log so the test can hold commits back while requests queue up. */
function gated(log: EventLog): { log: EventLog; open(): void; waiting(): number } {
  let release: (() => void) | null = null;
  let gate: Promise<void> = new Promise((r) => (release = r));
  let waiting = 0;
  return {
    log: {
      append: async (events, opts) => {
        waiting++;
        await gate;
        waiting--;
        return log.append(events, opts);
      },
      read: (a, l) => log.read(a, l),
      lastSeq: () => log.lastSeq(),
      pruneDedupe: (b) => log.pruneDedupe(b),
    },
    open: () => {
      release?.();
      gate = Promise.resolve();
    },
    waiting: () => waiting,
  };
}

const batchOf = (prefix: string, k: number) => ({
  batch: Array.from({ length: k }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', messageId: `${prefix}-${i}` })),
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('backpressure', () => {
  let s: TestServer;
  afterEach(async () => {
    await s.close();
  });

  it('answers 429 with Retry-After when the write queue is full, and loses nothing it accepted', async () => {
    let g: ReturnType<typeof gated> | undefined;
    s = await startTestServer({ maxPendingEvents: 10 }, { decorateEventLog: (log) => (g = gated(log)).log });
    const gate = g as ReturnType<typeof gated>;
    const a = post(`${s.url}/v1/batch`, batchOf('a', 5), { writeKey: s.writeKey });
    await until(() => gate.waiting() === 1);
    const b = post(`${s.url}/v1/batch`, batchOf('b', 5), { writeKey: s.writeKey });
    await until(() => (s.app.ingest as IngestWriter).pendingEvents === 10);
    const c = await post(`${s.url}/v1/batch`, batchOf('c', 5), { writeKey: s.writeKey });
    expect(c.status).toBe(429);
    expect(c.body.code).toBe('overloaded');
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ writer: 'overloaded' });
    gate.open();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    const ids = (await s.app.eventLog.read(0, 100)).map((e) => e.messageId);
    expect(ids.filter((x) => x.startsWith('a-'))).toHaveLength(5);
    expect(ids.filter((x) => x.startsWith('b-'))).toHaveLength(5);
    expect(ids.filter((x) => x.startsWith('c-'))).toHaveLength(0);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  });

  it('under a concurrent burst every acknowledged event is stored, every refused one is not', async () => {
    s = await startTestServer({ maxPendingEvents: 30 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, r) => post(`${s.url}/v1/batch`, batchOf(`burst${r}`, 10), { writeKey: s.writeKey }).then((res) => ({ r, res }))),
    );
    for (const { res } of results) expect([200, 429]).toContain(res.status);
    const stored = new Set((await s.app.eventLog.read(0, 10_000)).map((e) => e.messageId));
    for (const { r, res } of results) {
      const got = Array.from({ length: 10 }, (_, i) => stored.has(`burst${r}-${i}`));
      expect(got.every((x) => x === (res.status === 200))).toBe(true);
      if (res.status === 429) expect(res.headers.get('retry-after')).toBe('1');
    }
  });
});
