import { Analytics } from '@segment/analytics-node';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionSubject } from '../../src/adapters/nats/event-stream';
import { PostgresKeyStore } from '../../src/adapters/postgres/postgres-key-store';
import { startIngestRole, type IngestRoleHandle } from '../../src/app/roles/ingest-role';
import { fnv1a32 } from '../../src/domain/partition-routing';
import { PG_URL, pgSchemas } from '../helpers/pg-test-schema';
import { deleteStream, NATS_URL, NatsChild, readStream, TcpProxy, uniqueStream, until } from './ingest-helpers';

const P = 8;

if (!PG_URL || !NATS_URL) {
  console.warn('ingest-role.nats.test.ts: skipped — set RAPPORT_TEST_DATABASE_URL and RAPPORT_TEST_NATS_URL to run it');
  describe.skip('ingest role (needs PostgreSQL and NATS)', () => it('skipped', () => {}));
} else {
  const pgUrl = PG_URL;
  const natsUrl = NATS_URL;
  const fresh = pgSchemas();

  /** Starts an ingest role on a fresh schema with its own stream; returns it with a write key. */
  async function setup(opts: { natsUrl?: string; databaseUrl?: string; writeKeyCacheMs?: number; postgresTimeoutMs?: number } = {}) {
    const s = await fresh();
    const { writeKey } = await new PostgresKeyStore(s.pool).createSource('web', Date.now());
    const names = uniqueStream();
    const role = await startIngestRole({
      databaseUrl: opts.databaseUrl ?? pgUrl,
      schema: s.schema,
      natsUrl: opts.natsUrl ?? natsUrl,
      port: 0,
      host: '127.0.0.1',
      stream: { ...names, partitions: P },
      probeEveryMs: 100,
      unavailableRetryAfterSeconds: 3,
      ...(opts.writeKeyCacheMs !== undefined ? { writeKeyCacheMs: opts.writeKeyCacheMs } : {}),
      ...(opts.postgresTimeoutMs !== undefined ? { postgresTimeoutMs: opts.postgresTimeoutMs } : {}),
    });
    await until(async () => (await fetch(`${role.url}/readyz`)).status === 200, 'ingest role ready');
    return { role, writeKey, names, schema: s };
  }

  function post(role: IngestRoleHandle, writeKey: string, path: string, body: unknown): Promise<Response> {
    return fetch(`${role.url}/v1/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  describe('ingest role on the shared NATS server', () => {
    let nc: NatsConnection;
    let ctx: Awaited<ReturnType<typeof setup>>;
    beforeAll(async () => {
      nc = await connect({ servers: natsUrl });
      ctx = await setup();
    });
    afterAll(async () => {
      await ctx?.role.stop();
      await deleteStream(natsUrl, ctx?.names.stream ?? '');
      await nc?.close();
    });

    it('the real Segment client → partition subjects with Nats-Msg-Id; retried messageIds are duplicates; identify follows the anonymous id', async () => {
      const { role, writeKey, names } = ctx;
      const errors: unknown[] = [];
      // One client per step, flushed before the next: flushAt: 1 sends each event in its own request,
      // concurrently, and routing follows arrival order.
      const step = async (send: (a: Analytics) => void) => {
        const analytics = new Analytics({ writeKey, host: role.url, path: '/v1/batch', flushAt: 1, maxRetries: 1 });
        analytics.on('error', (e) => errors.push(e));
        send(analytics);
        await analytics.closeAndFlush({ timeout: 20_000 });
      };
      await step((a) => a.page({ anonymousId: 'visitor-1', name: 'Home' }));
      await step((a) => a.identify({ userId: 'ada', anonymousId: 'visitor-1', traits: { email: 'ada@example.com' } }));
      await step((a) => {
        a.track({ userId: 'ada', event: 'Order Completed', properties: { revenue: 42 }, messageId: 'fixed-1' });
        a.track({ userId: 'ada', event: 'Order Completed', properties: { revenue: 42 }, messageId: 'fixed-1' });
        a.track({ userId: 'bob', event: 'Order Completed', properties: { revenue: 7 } });
      });
      expect(errors).toEqual([]);

      // A client retry of the same messageId is answered as a duplicate.
      const retry = await post(role, writeKey, 'track', { userId: 'ada', event: 'Order Completed', messageId: 'fixed-1' });
      expect(retry.status).toBe(200);
      expect(await retry.json()).toMatchObject({ success: true, accepted: 0, duplicates: 1 });

      const msgs = await readStream(nc, names.stream);
      // flushAt: 1 sends each event in its own request, concurrently: no order across requests.
      expect(msgs.map((m) => m.event.type).sort()).toEqual(['identify', 'page', 'track', 'track']);
      for (const m of msgs) {
        expect(m.msgId).toBe(m.event.messageId);
        expect(m.event.seq).toBe(0);
      }
      expect(msgs.filter((m) => m.msgId === 'fixed-1')).toHaveLength(1);
      const visitorPartition = fnv1a32('anon:visitor-1') % P;
      const page = msgs.find((m) => m.event.type === 'page');
      const identify = msgs.find((m) => m.event.type === 'identify');
      const ada = msgs.find((m) => m.event.userId === 'ada' && m.event.type === 'track');
      const bob = msgs.find((m) => m.event.userId === 'bob');
      expect(page?.subject).toBe(partitionSubject(names.subjectPrefix, visitorPartition));
      // The identify (and ada's later events) go where her anonymous history is.
      expect(identify?.subject).toBe(page?.subject);
      expect(ada?.subject).toBe(page?.subject);
      expect(bob?.subject).toBe(partitionSubject(names.subjectPrefix, fnv1a32('bob') % P));
      expect(identify?.event).toMatchObject({ userId: 'ada', anonymousId: 'visitor-1', traits: { email: 'ada@example.com' } });
    });

    it('rejects malformed input as the embedded server does, and counts it in /metrics', async () => {
      const { role, writeKey } = ctx;
      const badJson = await post(role, writeKey, 'track', '{"userId": ');
      expect(badJson.status).toBe(400);
      expect(await badJson.json()).toMatchObject({ code: 'invalid_json' });
      const noId = await post(role, writeKey, 'track', { event: 'X' });
      expect(noId.status).toBe(400);
      const wrongKey = await post(role, 'rk_nope', 'track', { userId: 'u', event: 'X' });
      expect(wrongKey.status).toBe(401);
      expect(await wrongKey.json()).toMatchObject({ code: 'unauthorized' });
      const batch = await post(role, writeKey, 'batch', { batch: [{ type: 'track', userId: 'u9', event: 'Ok' }, { type: 'track', event: 'No id' }] });
      expect(batch.status).toBe(200);
      const body = (await batch.json()) as { accepted: number; rejected: Array<{ index: number }> };
      expect(body.accepted).toBe(1);
      expect(body.rejected.map((r) => r.index)).toEqual([1]);
      const metrics = await (await fetch(`${role.url}/metrics`)).text();
      expect(metrics).toMatch(/rapport_ingest_events_rejected_total\{[^}]*code="[a-z_]+"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/rapport_ingest_events_published_total\{[^}]*outcome="accepted"[^}]*\} [1-9]/);
      expect(metrics).toContain('rapport_ingest_publish_seconds_bucket');
      expect(metrics).toContain('rapport_ingest_in_flight_events');
    });
  });

  describe('ingest role through outages', () => {
    it('NATS killed: 503 + Retry-After, never 200; restarted: 200 again and every acknowledged event is in the stream', async () => {
      const natsChild = await NatsChild.start();
      const ctx = await setup({ natsUrl: natsChild.url });
      const acked: string[] = [];
      let n = 0;
      const send = async (): Promise<Response> => {
        const id = `nats-outage-${n++}`;
        const r = await post(ctx.role, ctx.writeKey, 'track', { userId: `user-${n % 5}`, event: 'Order Completed', messageId: id });
        if (r.status === 200) acked.push(id);
        return r;
      };
      try {
        for (let i = 0; i < 10; i++) expect((await send()).status).toBe(200);
        await natsChild.kill();
        await until(async () => (await fetch(`${ctx.role.url}/readyz`)).status === 503, 'not ready after NATS died');
        for (let i = 0; i < 10; i++) {
          const r = await send();
          expect(r.status).toBe(503);
          expect(r.headers.get('retry-after')).toBe('3');
          expect(await r.json()).toMatchObject({ code: 'unavailable' });
        }
        await natsChild.restart();
        await until(async () => (await fetch(`${ctx.role.url}/readyz`)).status === 200, 'ready after NATS returned');
        for (let i = 0; i < 10; i++) expect((await send()).status).toBe(200);
        const nc = await connect({ servers: natsChild.url });
        try {
          const inStream = new Set((await readStream(nc, ctx.names.stream)).map((m) => m.msgId));
          expect(acked.filter((id) => !inStream.has(id))).toEqual([]);
          expect(acked).toHaveLength(20);
        } finally {
          await nc.close();
        }
      } finally {
        await ctx.role.stop();
        await natsChild.dispose();
      }
    });

    it('PostgreSQL unreachable: 503 + Retry-After; reachable again: 200, every acknowledged event in the stream', async () => {
      const target = new URL(pgUrl);
      const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      const viaProxy = new URL(pgUrl);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      // No write-key cache: every request asks PostgreSQL, like a node that just started.
      const ctx = await setup({ databaseUrl: viaProxy.toString(), writeKeyCacheMs: 0 });
      const nc = await connect({ servers: natsUrl });
      const acked: string[] = [];
      let n = 0;
      const send = async (): Promise<Response> => {
        const id = `pg-outage-${n++}`;
        // New identities each time: routing must ask PostgreSQL.
        const r = await post(ctx.role, ctx.writeKey, 'track', { anonymousId: `visitor-${id}`, event: 'Product Viewed', messageId: id });
        if (r.status === 200) acked.push(id);
        return r;
      };
      try {
        for (let i = 0; i < 10; i++) expect((await send()).status).toBe(200);
        await proxy.cut();
        await until(async () => (await fetch(`${ctx.role.url}/readyz`)).status === 503, 'not ready after PostgreSQL went away');
        for (let i = 0; i < 5; i++) {
          const r = await send();
          expect(r.status).toBe(503);
          expect(r.headers.get('retry-after')).toBe('3');
          expect(await r.json()).toMatchObject({ code: 'unavailable' });
        }
        await proxy.restore();
        await until(async () => (await fetch(`${ctx.role.url}/readyz`)).status === 200, 'ready after PostgreSQL returned');
        for (let i = 0; i < 10; i++) expect((await send()).status).toBe(200);
        const msgs = await readStream(nc, ctx.names.stream);
        const inStream = new Set(msgs.map((m) => m.msgId));
        expect(acked.filter((id) => !inStream.has(id))).toEqual([]);
        expect(acked).toHaveLength(20);
        // Each new visitor went to the partition of its own hash.
        for (const m of msgs) expect(m.subject).toBe(partitionSubject(ctx.names.subjectPrefix, fnv1a32(`anon:${m.event.anonymousId}`) % P));
      } finally {
        await ctx.role.stop();
        await deleteStream(natsUrl, ctx.names.stream);
        await nc.close();
        await proxy.cut();
      }
    });

    it('PostgreSQL hanging (black-holed, nothing refused): 503 after the timeout, never a hung request; then 200 again', async () => {
      const target = new URL(pgUrl);
      const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      const viaProxy = new URL(pgUrl);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      const ctx = await setup({ databaseUrl: viaProxy.toString(), writeKeyCacheMs: 0, postgresTimeoutMs: 500 });
      const nc = await connect({ servers: natsUrl });
      const acked: string[] = [];
      let n = 0;
      const send = async (): Promise<Response> => {
        const id = `pg-hang-${n++}`;
        const r = await post(ctx.role, ctx.writeKey, 'track', { anonymousId: `visitor-${id}`, event: 'Product Viewed', messageId: id });
        if (r.status === 200) acked.push(id);
        return r;
      };
      try {
        for (let i = 0; i < 5; i++) expect((await send()).status).toBe(200);
        proxy.freeze();
        for (let i = 0; i < 3; i++) {
          const r = await send();
          expect(r.status).toBe(503);
          expect(r.headers.get('retry-after')).toBe('3');
        }
        await until(async () => (await fetch(`${ctx.role.url}/readyz`)).status === 503, 'not ready while PostgreSQL hangs');
        await proxy.restore();
        await until(async () => (await fetch(`${ctx.role.url}/readyz`)).status === 200, 'ready after PostgreSQL answered again');
        for (let i = 0; i < 5; i++) expect((await send()).status).toBe(200);
        const inStream = new Set((await readStream(nc, ctx.names.stream)).map((m) => m.msgId));
        expect(acked.filter((id) => !inStream.has(id))).toEqual([]);
        expect(acked).toHaveLength(10);
      } finally {
        await ctx.role.stop();
        await deleteStream(natsUrl, ctx.names.stream);
        await nc.close();
        await proxy.cut();
      }
    });
  });
}
