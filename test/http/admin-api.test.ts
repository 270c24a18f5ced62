import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppExtension } from '../../src/app/create-app';
import { post, startTestServer, type TestServer } from './helpers';

/** An extension the way the processor / customer routes plug in: routes, start, commit listener. */
const seen: number[] = [];
const lifecycle: string[] = [];
const extension: AppExtension = {
  name: 'probe',
  routes(server) {
    server.get('/api/probe', async () => ({ ok: true }));
  },
  start(app) {
    lifecycle.push('start');
    app.ingest.onCommitted((lastSeq) => seen.push(lastSeq));
  },
  stop() {
    lifecycle.push('stop');
  },
};

describe('admin API auth and /api/sources', () => {
  let s: TestServer;
  let token: string;
  beforeAll(async () => {
    s = await startTestServer({}, { extensions: [extension] });
    token = (await s.app.keyStore.createToken('test', Date.now())).secret;
  });
  afterAll(async () => {
    await s.close();
  });
  const api = (path: string, init: RequestInit = {}, bearer: string | null = token) =>
    fetch(`${s.url}${path}`, {
      ...init,
      headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(init.headers as Record<string, string>) },
    });

  it('401 JSON without a token, with a wrong one, or with a write key as token', async () => {
    for (const bearer of [null, 'wrong', s.writeKey]) {
      const r = await api('/api/sources', {}, bearer);
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ code: 'unauthorized' });
    }
    // Unknown /api paths are protected too (no information leak before auth).
    expect((await api('/api/whatever', {}, null)).status).toBe(401);
    expect((await api('/api/whatever')).status).toBe(404);
  });

  it('creates, lists and revokes sources; a new key works at once and stops working when revoked', async () => {
    const created = await api('/api/sources', { method: 'POST', body: JSON.stringify({ name: 'mobile' }) });
    expect(created.status).toBe(201);
    const { source, writeKey } = (await created.json()) as { source: { id: string; name: string }; writeKey: string };
    expect(source.name).toBe('mobile');
    const list = (await (await api('/api/sources')).json()) as { sources: Array<{ id: string }> };
    expect(list.sources.map((x) => x.id)).toContain(source.id);
    expect(JSON.stringify(list)).not.toContain(writeKey);
    expect((await post(`${s.url}/v1/track`, { userId: 'u', event: 'E' }, { writeKey })).status).toBe(200);
    const del = await api(`/api/sources/${source.id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await post(`${s.url}/v1/track`, { userId: 'u', event: 'E' }, { writeKey })).status).toBe(401);
    const again = await api(`/api/sources/${source.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ code: 'not_found' });
  });

  it('extensions add routes behind admin auth and hear about every commit', async () => {
    expect((await api('/api/probe', {}, null)).status).toBe(401);
    expect(await (await api('/api/probe')).json()).toEqual({ ok: true });
    expect(lifecycle).toEqual(['start']);
    await post(`${s.url}/v1/track`, { userId: 'u', event: 'E', messageId: 'ext-1' }, { writeKey: s.writeKey });
    expect(seen.at(-1)).toBe(await s.app.eventLog.lastSeq());
  });

  it('400 for a source without a name; revoked tokens stop working', async () => {
    const bad = await api('/api/sources', { method: 'POST', body: JSON.stringify({}) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_input' });
    const t = await s.app.keyStore.createToken('short-lived', Date.now());
    expect((await api('/api/sources', {}, t.secret)).status).toBe(200);
    await s.app.keyStore.revokeToken(t.token.id, Date.now());
    expect((await api('/api/sources', {}, t.secret)).status).toBe(401);
  });
});
