import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock';
import { post, startTestServer, type TestServer } from './helpers';

const T = Date.UTC(2025, 5, 1, 12, 0, 0);

describe('tracking API: statuses, error codes and per-event rejections', () => {
  let s: TestServer;
  const clock = new ManualClock(T);
  let n = 0;
  const id = () => `bad-${++n}`;
  beforeAll(async () => {
    s = await startTestServer({}, { clock });
  });
  afterAll(async () => {
    await s.close();
  });
  const stored = async (messageId: string) => (await s.app.eventLog.read(0, 100_000)).find((e) => e.messageId === messageId);

  it('accepts every endpoint and short form', async () => {
    const bodies: Record<string, object> = {
      identify: { userId: 'u', traits: { a: 1 } },
      track: { userId: 'u', event: 'E' },
      page: { anonymousId: 'a', name: 'Home' },
      screen: { anonymousId: 'a', name: 'Cart' },
      group: { userId: 'u', groupId: 'g' },
      alias: { userId: 'u', previousId: 'a' },
    };
    for (const [type, body] of Object.entries(bodies)) {
      for (const path of [type, type[0] as string]) {
        const messageId = id();
        const r = await post(`${s.url}/v1/${path}`, { ...body, messageId }, { writeKey: s.writeKey });
        expect(r.status, path).toBe(200);
        expect(r.body).toMatchObject({ success: true, accepted: 1 });
        expect((await stored(messageId))?.type).toBe(type);
      }
    }
    for (const path of ['batch', 'b', 'import']) {
      const messageId = id();
      const r = await post(`${s.url}/v1/${path}`, { batch: [{ type: 'track', userId: 'u', event: 'E', messageId }] }, { writeKey: s.writeKey });
      expect(r.status).toBe(200);
      expect(await stored(messageId)).toBeDefined();
    }
  });

  it('401 with a JSON error for a missing, wrong or revoked key; writeKey in the body works', async () => {
    const ev = { userId: 'u', event: 'E' };
    expect(await post(`${s.url}/v1/track`, ev)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(await post(`${s.url}/v1/track`, ev, { writeKey: 'nope' })).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    const messageId = id();
    expect((await post(`${s.url}/v1/track`, { ...ev, messageId, writeKey: s.writeKey })).status).toBe(200);
    expect((await stored(messageId))?.sourceId).toBe(s.sourceId);
    const other = await s.app.keyStore.createSource('temp', T);
    await s.app.keyStore.revokeSource(other.source.id, T);
    expect((await post(`${s.url}/v1/track`, ev, { writeKey: other.writeKey })).status).toBe(401);
  });

  it('400 invalid_json for broken JSON and an empty body, as application/json and text/plain', async () => {
    for (const ct of ['application/json', 'text/plain']) {
      const r = await post(`${s.url}/v1/batch`, '{"batch": [', { writeKey: s.writeKey, raw: true, headers: { 'content-type': ct } });
      expect(r).toMatchObject({ status: 400, body: { code: 'invalid_json' } });
      expect(typeof r.body.message).toBe('string');
    }
    expect(await post(`${s.url}/v1/track`, '', { writeKey: s.writeKey, raw: true })).toMatchObject({ status: 400, body: { code: 'invalid_json' } });
    expect(await post(`${s.url}/v1/batch`, { batch: 'no' }, { writeKey: s.writeKey })).toMatchObject({ status: 400, body: { code: 'invalid_input' } });
  });

  it('accepts text/plain and gzip bodies; rejects a bad gzip body with 400', async () => {
    const messageId = id();
    const text = JSON.stringify({ writeKey: s.writeKey, batch: [{ type: 'track', userId: 'u', event: 'Plain', messageId }] });
    expect((await post(`${s.url}/v1/batch`, text, { raw: true, headers: { 'content-type': 'text/plain' } })).status).toBe(200);
    const gzId = id();
    const gz = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'Gz', messageId: gzId }] }));
    const res = await fetch(`${s.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Basic ${Buffer.from(`${s.writeKey}:`).toString('base64')}` },
      body: gz,
    });
    expect(res.status).toBe(200);
    expect((await stored(gzId))?.event).toBe('Gz');
    const bad = await fetch(`${s.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'not gzip' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('invalid_input');
  });

  it('413 event_too_large for a single event over 32 KB; in a batch only that event is rejected', async () => {
    const big = 'x'.repeat(33 * 1024);
    const r = await post(`${s.url}/v1/track`, { userId: 'u', event: 'Big', properties: { big } }, { writeKey: s.writeKey });
    expect(r).toMatchObject({ status: 413, body: { code: 'event_too_large' } });
    const okId = id();
    const b = await post(
      `${s.url}/v1/batch`,
      { batch: [{ type: 'track', userId: 'u', event: 'Big', properties: { big }, messageId: 'too-big' }, { type: 'track', userId: 'u', event: 'Small', messageId: okId }] },
      { writeKey: s.writeKey },
    );
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ accepted: 1, rejected: [{ index: 0, messageId: 'too-big', code: 'event_too_large' }] });
    expect(await stored(okId)).toBeDefined();
    expect(await stored('too-big')).toBeUndefined();
  });

  it('413 payload_too_large for a request over 500 KB', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', properties: { pad: 'y'.repeat(30 * 1024) }, messageId: `huge-${i}` }));
    const r = await post(`${s.url}/v1/batch`, { batch }, { writeKey: s.writeKey });
    expect(r).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    expect(await stored('huge-0')).toBeUndefined();
  });

  it('400 too_many_events for 2,501 events; 2,500 are fine', async () => {
    const mk = (k: number, p: string) => Array.from({ length: k }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', messageId: `${p}-${i}` }));
    const r = await post(`${s.url}/v1/batch`, { batch: mk(2501, 'many') }, { writeKey: s.writeKey });
    expect(r).toMatchObject({ status: 400, body: { code: 'too_many_events' } });
    expect(await stored('many-0')).toBeUndefined();
    const ok = await post(`${s.url}/v1/batch`, { batch: mk(2500, 'max') }, { writeKey: s.writeKey });
    expect(ok).toMatchObject({ status: 200, body: { accepted: 2500 } });
  });

  it('reports per-event problems by index and stores the valid events of the same batch', async () => {
    const good1 = id();
    const good2 = id();
    const batch = [
      { type: 'track', userId: 'u', event: 'Good', messageId: good1 },
      { type: 'track', event: 'NoId', messageId: 'r-1' },
      { type: 'track', userId: 'u', messageId: 'r-2' },
      { type: 'identify', userId: 'u', traits: 'not an object', messageId: 'r-3' },
      { type: 'track', userId: 'u', event: 'E', timestamp: 'yesterday-ish', messageId: 'r-4' },
      { type: 'bogus', userId: 'u', messageId: 'r-5' },
      'not an object',
      { type: 'track', userId: { id: 1 }, event: 'E', messageId: 'r-7' },
      { type: 'alias', userId: 'u', messageId: 'r-8' },
      { type: 'group', userId: 'u', messageId: 'r-9' },
      { type: 'track', userId: 'nul\u0000id', event: 'E', messageId: 'r-10' },
      { type: 'identify', anonymousId: 'a', traits: { t: 1 }, messageId: good2 },
    ];
    const r = await post(`${s.url}/v1/batch`, { batch }, { writeKey: s.writeKey });
    expect(r.status).toBe(200);
    expect(r.body.accepted).toBe(2);
    expect(r.body.rejected.map((x: { index: number; code: string }) => [x.index, x.code])).toEqual([
      [1, 'missing_id'],
      [2, 'invalid_event'],
      [3, 'invalid_event'],
      [4, 'invalid_event'],
      [5, 'invalid_event'],
      [6, 'invalid_event'],
      [7, 'invalid_event'],
      [8, 'invalid_event'],
      [9, 'invalid_event'],
      [10, 'invalid_event'],
    ]);
    expect(r.body.rejected[0]).toMatchObject({ messageId: 'r-1', message: expect.stringContaining('userId') });
    expect(await stored(good1)).toBeDefined();
    expect(await stored(good2)).toBeDefined();
  });

  it('answers 400 with the code for a single invalid event', async () => {
    expect(await post(`${s.url}/v1/track`, { event: 'E' }, { writeKey: s.writeKey })).toMatchObject({ status: 400, body: { code: 'missing_id' } });
    expect(await post(`${s.url}/v1/identify`, { userId: 'u', traits: [1, 2] }, { writeKey: s.writeKey })).toMatchObject({ status: 400, body: { code: 'invalid_event' } });
    expect(await post(`${s.url}/v1/track`, { userId: 'u', event: 'E', timestamp: 'not a date' }, { writeKey: s.writeKey })).toMatchObject({
      status: 400,
      body: { code: 'invalid_event', message: expect.stringContaining('timestamp') },
    });
  });

  it('stores unicode (emoji, RTL, NUL inside values) and long strings unchanged', async () => {
    const messageId = id();
    const props = { emoji: '😀👍🏽', rtl: 'שלום עליכם مرحبا', nul: 'a\u0000b', long: 'z'.repeat(20_000), quote: '"\\\n' };
    const r = await post(`${s.url}/v1/track`, { userId: 'ユーザー', event: 'Ünïcödé 🎉', properties: props, messageId }, { writeKey: s.writeKey });
    expect(r.status).toBe(200);
    const e = await stored(messageId);
    expect(e).toMatchObject({ userId: 'ユーザー', event: 'Ünïcödé 🎉', properties: props });
  });

  it('sets receivedAt from the clock, corrects timestamp for skew, keeps originalTimestamp, merges batch context', async () => {
    clock.set(T);
    const messageId = id();
    const noTs = id();
    // Client clock is 1 hour behind: sentAt = T - 1h.
    const r = await post(
      `${s.url}/v1/batch`,
      {
        sentAt: new Date(T - 3_600_000).toISOString(),
        context: { library: { name: 'x' }, ip: '1.2.3.4' },
        integrations: { All: true },
        batch: [
          { type: 'track', userId: 'u', event: 'E', messageId, timestamp: new Date(T - 3_600_000 - 60_000).toISOString(), context: { ip: '5.6.7.8' } },
          { type: 'track', userId: 'u', event: 'E', messageId: noTs },
        ],
      },
      { writeKey: s.writeKey },
    );
    expect(r.status).toBe(200);
    const e = await stored(messageId);
    expect(e?.receivedAt).toBe(T);
    expect(e?.timestamp).toBe(T - 60_000);
    expect(e?.sentAt).toBe(T - 3_600_000);
    expect(e?.context).toEqual({ library: { name: 'x' }, ip: '5.6.7.8', originalTimestamp: new Date(T - 3_660_000).toISOString() });
    expect(e?.integrations).toEqual({ All: true });
    const e2 = await stored(noTs);
    expect(e2?.timestamp).toBe(T);
    expect(e2?.context).toEqual({ library: { name: 'x' }, ip: '1.2.3.4' });
  });

  it('generates a messageId when missing and dedupes a repeated one', async () => {
    const before = await s.app.eventLog.lastSeq();
    expect((await post(`${s.url}/v1/track`, { userId: 'gen', event: 'NoMsgId' }, { writeKey: s.writeKey })).status).toBe(200);
    const [e] = await s.app.eventLog.read(before, 10);
    expect(e?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    const messageId = id();
    const first = await post(`${s.url}/v1/track`, { userId: 'u', event: 'E', messageId }, { writeKey: s.writeKey });
    const again = await post(`${s.url}/v1/track`, { userId: 'u', event: 'E', messageId }, { writeKey: s.writeKey });
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await s.app.eventLog.read(0, 100_000)).filter((x) => x.messageId === messageId)).toHaveLength(1);
  });

  it('JSON 404 for unknown routes; health and readiness probes', async () => {
    const r = await post(`${s.url}/v1/nope`, {}, { writeKey: s.writeKey });
    expect(r).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await (await fetch(`${s.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', db: 'open' });
  });
});
