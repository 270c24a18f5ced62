import { Analytics } from '@segment/analytics-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers';

describe('the real @segment/analytics-node client against the server', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    await s.close();
  });

  it('delivers identify, track and alias; stores them with ids, traits, properties, times; dedupes messageId', async () => {
    const analytics = new Analytics({ writeKey: s.writeKey, host: s.url, path: '/v1/batch', flushAt: 1, maxRetries: 1 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const ts = new Date('2025-03-01T10:00:00.000Z');
    analytics.identify({ userId: 'user-1', anonymousId: 'anon-1', traits: { email: 'ada@example.com', plan: 'pro', name: 'Ada 😀' } });
    analytics.track({ userId: 'user-1', event: 'Order Completed', properties: { order_id: 'o-1', revenue: 42.5 }, timestamp: ts, messageId: 'fixed-1' });
    analytics.track({ userId: 'user-1', event: 'Order Completed', properties: { order_id: 'o-1', revenue: 42.5 }, timestamp: ts, messageId: 'fixed-1' });
    analytics.alias({ userId: 'user-1', previousId: 'anon-1' });
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(errors).toEqual([]);

    const events = await s.app.eventLog.read(0, 100);
    expect(events.map((e) => e.type)).toEqual(['identify', 'track', 'alias']);
    const [identify, track, alias] = events;
    expect(identify).toMatchObject({ userId: 'user-1', anonymousId: 'anon-1', traits: { email: 'ada@example.com', plan: 'pro', name: 'Ada 😀' }, sourceId: s.sourceId });
    expect(identify?.context).toHaveProperty('library');
    expect(track).toMatchObject({ messageId: 'fixed-1', userId: 'user-1', event: 'Order Completed', properties: { order_id: 'o-1', revenue: 42.5 } });
    // Client and server share a clock here: the skew correction is at most the request's flight time.
    expect(Math.abs((track?.timestamp ?? 0) - ts.getTime())).toBeLessThan(5_000);
    expect(track?.context.originalTimestamp).toBe(ts.toISOString());
    expect(track?.sentAt).not.toBeNull();
    expect(track?.receivedAt).toBeGreaterThanOrEqual(track?.sentAt ?? Infinity);
    expect(alias).toMatchObject({ type: 'alias', userId: 'user-1', previousId: 'anon-1' });
    expect(new Set(events.map((e) => e.messageId)).size).toBe(3);
  });
});
