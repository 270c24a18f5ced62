import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config';
import { openAppStore } from '../../src/app/app-store';
import { createApp } from '../../src/app/create-app';
import { defaultExtensions } from '../../src/app/default-extensions';
import { startApiRole } from '../../src/app/roles/api-role';
import { startWorkerRole } from '../../src/app/roles/worker-role';
import { PostgresKeyStore } from '../../src/adapters/postgres/postgres-key-store';
import { CLOCK_TICK_EVENT, VALUE_REFIT_EVENT } from '../../src/engine/processor';
import { FITTED_MODELS_PROPERTY } from '../../src/engine/value-engine';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { tempDir } from '../helpers/sim-log';
import { NATS_URL, testStream, waitFor } from './worker-helpers';

if (!PG_URL || !NATS_URL) console.warn('api-role.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');

describe.skipIf(!PG_URL || !NATS_URL)('the api role (admin API and dashboard of the scaled-out mode)', () => {
  const fresh = pgSchemas();
  const dir = tempDir('rapport-api-role-');
  afterAll(() => dir.cleanup());

  it('serves what the workers committed, publishes what it accepts to the stream, and runs no processor of its own', async () => {
    const s = await fresh();
    const ts = await testStream(NATS_URL!, 4);
    const config = loadConfig({ cwd: dir.dir, env: {}, overrides: { port: 0, databaseUrl: PG_URL!, dataDir: dir.dir } });
    const keys = new PostgresKeyStore(s.pool);
    const { writeKey } = await keys.createSource('web', 0);
    const { secret } = await keys.createToken('ops', 0);
    const worker = await startWorkerRole({ config, databaseUrl: PG_URL!, natsUrl: NATS_URL!, schema: s.schema, stream: ts.options, rebalanceEveryMs: 100, poolSize: 3 });
    const api = await startApiRole({ config, natsUrl: NATS_URL!, schema: s.schema, stream: ts.options, logger: pino({ level: 'silent' }) });
    const admin = { authorization: `Bearer ${secret}` };
    const get = async (path: string) => {
      const r = await fetch(`${api.url}${path}`, { headers: admin });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const sse = new AbortController();
    try {
      // The live stream (SSE) polls what the workers committed.
      const live = await fetch(`${api.url}/api/stream`, { headers: admin, signal: sse.signal });
      const reader = (live.body as ReadableStream<Uint8Array>).getReader();
      let received = '';
      const firstChange = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return received;
          received += Buffer.from(value).toString('utf8');
          if (received.includes('"customerId":"ada"')) return received;
        }
      })();
      // The tracking API of the api role publishes to the stream; the worker processes; the read side shows it.
      const batch = [
        { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com', name: 'Ada' }, messageId: 'm1', timestamp: '2026-01-02T10:00:00Z' },
        { type: 'track', userId: 'ada', event: 'Order Completed', properties: { revenue: 120, order_id: 'o1' }, messageId: 'm2', timestamp: '2026-01-03T10:00:00Z' },
        { type: 'track', anonymousId: 'anon-7', event: 'Product Viewed', messageId: 'm3', timestamp: '2026-01-03T11:00:00Z' },
      ];
      const res = await fetch(`${api.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
        body: JSON.stringify({ batch }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ success: true, accepted: 3 });
      await waitFor('the worker to process the batch', async () => (await get('/api/customers/ada')).status === 200 && (await get('/api/customers/anon:anon-7')).status === 200);

      expect(await firstChange).toContain('event: type_change');
      const ada = await get('/api/customers/ada');
      expect(ada.body).toMatchObject({ id: 'ada', email: 'ada@example.com' });
      const rel = await get('/api/customers/ada/relationships');
      expect(rel.status).toBe(200);
      const lenses = rel.body['lenses'] as Record<string, { type: string; probability: number; probabilities: Record<string, number>; evidence: unknown[] }>;
      expect(Object.keys(lenses).sort()).toEqual(['canvas', 'fournier', 'lifecycle', 'swinscoe']);
      expect(lenses['fournier']!.probabilities[lenses['fournier']!.type]).toBe(lenses['fournier']!.probability);
      const dist = await get('/api/lenses/lifecycle/distribution');
      expect(dist.status).toBe(200);
      expect(dist.body['total']).toBe(2);
      // No processor of its own: only the partition checkpoints exist, not the single-process one.
      const checkpoints = await s.pool.query<{ name: string }>('SELECT name FROM engine_checkpoint ORDER BY name');
      expect(checkpoints.rows.map((r) => r.name)).not.toContain('processor');

      // Control events go to every partition of the stream; the workers carry them out.
      const tick = await fetch(`${api.url}/api/engine/tick`, { method: 'POST', headers: admin });
      expect(tick.status).toBe(202);
      await waitFor('the tick in every partition', async () => {
        const r = await s.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event = $1', [CLOCK_TICK_EVENT]);
        return r.rows[0]!.n === 4;
      });

      // A refit is fitted here, once, from PostgreSQL state, and published with its models to every partition.
      const refit = await fetch(`${api.url}/api/value/refit`, { method: 'POST', headers: admin });
      expect(refit.status).toBe(202);
      await waitFor('the refit in every partition', async () => {
        const r = await s.pool.query<{ data: string }>('SELECT data FROM events WHERE event = $1', [VALUE_REFIT_EVENT]);
        return r.rows.length === 4 && r.rows.every((row) => FITTED_MODELS_PROPERTY in (JSON.parse(row.data) as { properties: object }).properties);
      });

      const summary = await get('/api/value/summary');
      expect(summary.status).toBe(200);
      expect(summary.body).toMatchObject({ customers: 2, buyers: 1, revenueTotal: 120 });

      // Every event in PostgreSQL came through the stream (the api role appended nothing itself).
      const parts = await s.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE partition IS NULL');
      expect(parts.rows[0]!.n).toBe(0);
      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      expect(metrics).toMatch(/rapport_api_events_published_total\{[^}]*role="api"[^}]*\} 3/);
      expect(metrics).toMatch(/rapport_api_safe_processed_seq\{[^}]*\} [1-9]/);

      // The single-process server refuses a database the partition workers use (it would process their events again).
      const all = createApp(config, {
        extensions: defaultExtensions(config).list,
        logger: pino({ level: 'silent' }),
        openStore: (c) => openAppStore({ dataDir: c.dataDir, databaseUrl: c.databaseUrl, pool: { schema: s.schema } }),
      });
      await expect(all).rejects.toMatchObject({ code: 'scaled_out_database' });
    } finally {
      sse.abort();
      await api.stop();
      await worker.stop();
      await ts.close();
      await s.close();
    }
  }, 120_000);
});
