import { Analytics } from '@segment/analytics-node';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config';
import { createApp, type App } from '../../src/app/create-app';
import { defaultExtensions, type DefaultExtensions } from '../../src/app/default-extensions';
import { simulateInto, tempDir } from '../helpers/sim-log';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let dir: { dir: string; cleanup: () => void };
let app: App;
let ext: DefaultExtensions;
let url: string;
let token: string;
let writeKey: string;

async function api(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** Waits until the processor has committed everything in the log. */
async function settled(): Promise<void> {
  const last = await app.eventLog.lastSeq();
  for (let i = 0; i < 200; i++) {
    if ((await ext.engineExtension.processor().checkpoint()) >= last) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('processor did not catch up');
}

beforeEach(async () => {
  dir = tempDir();
  const config = loadConfig({ cwd: dir.dir, env: {}, overrides: { port: 0, dataDir: dir.dir } });
  ext = defaultExtensions(config);
  app = await createApp(config, { logger: pino({ level: 'silent' }), extensions: ext.list });
  ({ writeKey } = await app.keyStore.createSource('test', Date.now()));
  ({ secret: token } = await app.keyStore.createToken('test', Date.now()));
  ({ url } = await app.start());
});
afterEach(async () => {
  await app.stop();
  dir.cleanup();
});

describe('profiles through the admin API', () => {
  it('resolves what the real @segment/analytics-node client sent into one profile', async () => {
    const analytics = new Analytics({ writeKey, host: url, path: '/v1/batch', flushAt: 1, maxRetries: 1 });
    analytics.page({ anonymousId: 'anon-9', name: 'Pricing' });
    analytics.identify({ userId: 'user-9', anonymousId: 'anon-9', traits: { email: 'Grace@Example.com', name: 'Grace Hopper', plan: 'pro' } });
    analytics.track({ userId: 'user-9', event: 'Order Completed', properties: { order_id: 'o-9', revenue: 99, products: [{ category: 'books' }] } });
    analytics.track({ userId: 'user-9', event: 'Statement Captured', properties: { text: 'I love this shop, I recommend it to all my friends', channel: 'twitter', public: true } });
    analytics.track({ anonymousId: 'anon-10', event: 'Product Viewed', properties: { product_id: 'p1' } });
    analytics.alias({ userId: 'user-9', previousId: 'anon-10' });
    await analytics.closeAndFlush({ timeout: 20_000 });
    await settled();

    const profile = await api('/api/customers/user-9');
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ userId: 'user-9', email: 'grace@example.com', traits: { name: 'Grace Hopper', plan: 'pro' }, eventCount: 6 });
    expect(profile.body.identities.anonymousIds.sort()).toEqual(['anon-10', 'anon-9']);
    expect(profile.body.recentEvents).toHaveLength(6);
    expect(profile.body.indicators.orders_total).toBe(1);
    expect(profile.body.indicators.cue_love).toBeGreaterThan(0);
    expect(profile.body.indicators.cue_advocacy).toBeGreaterThan(0);
    // The same customer under every identity, and by e-mail.
    for (const id of ['anon-9', 'anon-10', 'grace@example.com', profile.body.id]) expect((await api(`/api/customers/${encodeURIComponent(id)}`)).body.id).toBe(profile.body.id);

    const rel = await api(`/api/customers/user-9/relationships`);
    expect(Object.keys(rel.body.lenses).sort()).toEqual(['canvas', 'fournier', 'lifecycle', 'swinscoe']);
    const fournier = rel.body.lenses.fournier;
    expect(fournier.probabilities[fournier.type]).toBe(fournier.probability);
    expect(fournier.evidence.length).toBeGreaterThan(0);
    // Derived on read from the committed snapshot: each indicator's value is the profile's.
    for (const lens of Object.values(rel.body.lenses) as Array<{ evidence: Array<{ indicator: string; value: unknown }> }>) {
      for (const e of lens.evidence) {
        if (!e.indicator.startsWith('traits.')) expect(e.value).toBe(profile.body.indicators[e.indicator]);
      }
    }
    expect(fournier.history[0]).toMatchObject({ from: null });

    const list = await api('/api/customers?query=grace');
    expect(list.body.customers.map((c: { id: string }) => c.id)).toEqual([profile.body.id]);
    const byTrait = await api('/api/customers?query=plan:pro');
    expect(byTrait.body.customers).toHaveLength(1);
  });

  it('pages the customer list with a cursor and filters by type', async () => {
    const batch = Array.from({ length: 25 }, (_, i) => ({ type: 'identify', userId: `c${String(i).padStart(2, '0')}`, traits: { email: `c${i}@x.org` } }));
    const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` }, body: JSON.stringify({ batch }) });
    expect(res.status).toBe(200);
    await settled();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(`/api/customers?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.customers.map((c: { id: string }) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(batch.map((b) => b.userId));
    const dist = await api('/api/lenses/lifecycle/distribution');
    expect(dist.body.total).toBe(25);
    const [top] = dist.body.types;
    const filtered = await api(`/api/customers?lens=lifecycle&type=${top.type}&limit=500`);
    expect(filtered.body.customers).toHaveLength(top.count);
  });

  it('pages a name-prefix search across identity, e-mail and name matches', async () => {
    const batch = Array.from({ length: 12 }, (_, i) => ({ type: 'identify', userId: `z${i}`, traits: { name: `Zed ${String(i).padStart(2, '0')}`, email: i < 3 ? `zed${i}@x.org` : `other${i}@x.org` } }));
    batch.push({ type: 'identify', userId: 'zed', traits: { name: 'Someone Else', email: 'se@x.org' } });
    const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` }, body: JSON.stringify({ batch }) });
    expect(res.status).toBe(200);
    await settled();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await api(`/api/customers?query=zed&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.customers.map((c: { id: string }) => c.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    // The exact identity first, then e-mail prefix matches, then name prefix matches; each customer once.
    expect(seen[0]).toBe('zed');
    expect(seen.slice(1, 4)).toEqual(['z0', 'z1', 'z2']);
    expect(new Set(seen).size).toBe(13);
    expect(seen).toHaveLength(13);
  });

  it('answers bad queries with precise errors', async () => {
    expect((await api('/api/lenses/nope/distribution')).body).toMatchObject({ code: 'unknown_lens' });
    expect((await api('/api/lenses/nope/distribution')).status).toBe(404);
    const bad = await api('/api/customers?limit=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("'limit'");
    expect((await api('/api/customers/nobody')).status).toBe(404);
    expect((await api('/api/lenses/fournier/transitions?from=yesterday')).status).toBe(400);
    const unauth = await fetch(`${url}/api/customers`);
    expect(unauth.status).toBe(401);
  });

  it('streams type changes over SSE', async () => {
    const controller = new AbortController();
    const res = await fetch(`${url}/api/stream?lens=lifecycle`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    await fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` }, body: JSON.stringify({ userId: 'sse-1', event: 'Order Completed', properties: { revenue: 10 } }) });
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('event: type_change')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    const data = JSON.parse(/data: (.*)\n/.exec(text.slice(text.indexOf('event: type_change')))![1]!);
    expect(data).toMatchObject({ customerId: 'sse-1', lens: 'lifecycle', from: null });
  });

  it('reports value and relationship economics', async () => {
    const v = await api('/api/value/summary');
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ customers: 0, revenueTotal: 0 });
    const e = await api('/api/lenses/lifecycle/economics');
    expect(e.body).toMatchObject({ lens: 'lifecycle', types: [] });
  });
});

describe('value models on demand', () => {
  it('refits when asked, through the log, and scores customers', async () => {
    // A fresh app whose scheduled refits are a year apart: only the request can fit the models.
    await app.stop();
    dir.cleanup();
    dir = tempDir();
    writeFileSync(join(dir.dir, 'rapport.config.yaml'), 'value:\n  refitEveryDays: 365\n');
    const config = loadConfig({ cwd: dir.dir, env: {}, overrides: { port: 0, dataDir: dir.dir } });
    ext = defaultExtensions(config);
    app = await createApp(config, { logger: pino({ level: 'silent' }), extensions: ext.list });
    ({ writeKey } = await app.keyStore.createSource('test', Date.now()));
    ({ secret: token } = await app.keyStore.createToken('test', Date.now()));
    ({ url } = await app.start());
    await simulateInto(app.eventLog, { customers: 150, days: 150, seed: 4 });
    ext.engineExtension.processor().wake();
    await settled();
    expect((await api('/api/value/summary')).body.models).toBeNull();
    const res = await fetch(`${url}/api/value/refit`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(202);
    ext.engineExtension.processor().wake();
    await settled();
    const summary = (await api('/api/value/summary')).body;
    expect(summary.models.bgnbd.converged).toBe(true);
    expect(summary.clvTotal).toBeGreaterThan(0);
    expect(summary.heavyUsers.clvThreshold).toBeGreaterThan(0);
    // The request is in the log, so a replay refits at the same point: the customer count is unchanged (no customer for it).
    expect(summary.customers).toBe(150);
  });
});
