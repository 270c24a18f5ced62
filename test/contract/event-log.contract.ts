import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event';
import type { EventLog } from '../../src/ports/event-log';

/** A fresh, empty event log for one test, and how to dispose of it (and optionally reopen it). */
export interface EventLogFixture {
  log: EventLog;
  close(): Promise<void> | void;
  /** Closes and reopens the same storage (durability across restarts); optional. */
  reopen?(): Promise<EventLog>;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

/** A complete event with every field set, for round-trip checks. */
export function sampleEvent(i: number, over: Partial<StoredEvent> = {}): StoredEvent {
  return {
    seq: 0,
    messageId: `m-${i}`,
    type: 'track',
    userId: `u-${i % 3}`,
    anonymousId: i % 2 === 0 ? `a-${i}` : null,
    event: 'Order Completed',
    name: null,
    groupId: null,
    previousId: null,
    properties: { revenue: i * 1.5, products: [{ id: 'p1', qty: 2 }], note: 'ümlaut 😀 \u05e9\u05dc\u05d5\u05dd' },
    traits: {},
    context: { ip: '10.0.0.1', originalTimestamp: '2025-01-01T00:00:00Z' },
    integrations: {},
    timestamp: T0 + i * 1000,
    receivedAt: T0 + i * 1000 + 5,
    sentAt: T0 + i * 1000 + 1,
    sourceId: 'src-1',
    ...over,
  };
}

/**
 * The EventLog contract: every adapter (SQLite, PostgreSQL, ...) must pass it unchanged.
 * `factory` makes a fresh empty log per test.
 */
export function eventLogContract(name: string, factory: () => Promise<EventLogFixture>): void {
  describe(`EventLog contract: ${name}`, () => {
    let fx: EventLogFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('starts empty', async () => {
      expect(await fx.log.lastSeq()).toBe(0);
      expect(await fx.log.read(0, 10)).toEqual([]);
    });

    it('appends in order, assigns increasing seqs and round-trips every field', async () => {
      const events = [sampleEvent(1), sampleEvent(2, { type: 'identify', event: null, traits: { email: 'a@b.c', plan: null } }), sampleEvent(3)];
      const out = await fx.log.append(events, { now: T0, dedupeWindowMs: DAY });
      expect(out.every((o) => 'seq' in o)).toBe(true);
      const seqs = out.map((o) => ('seq' in o ? o.seq : -1));
      expect(seqs[0]).toBeGreaterThan(0);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(3);
      const read = await fx.log.read(0, 10);
      expect(read.map((e) => e.seq)).toEqual(seqs);
      read.forEach((e, i) => expect(e).toEqual({ ...events[i], seq: seqs[i] }));
      expect(await fx.log.lastSeq()).toBe(seqs[2]);
    });

    it('round-trips alias, group, page and screen fields and nulls', async () => {
      const events = [
        sampleEvent(1, { type: 'alias', event: null, previousId: 'anon-1', userId: 'u-1', anonymousId: null }),
        sampleEvent(2, { type: 'group', event: null, groupId: 'g-1', traits: { name: 'Acme' } }),
        sampleEvent(3, { type: 'page', event: null, name: 'Home', properties: {} }),
        sampleEvent(4, { type: 'screen', event: null, name: 'Cart', sentAt: null, context: {}, integrations: { All: false } }),
      ];
      await fx.log.append(events, { now: T0, dedupeWindowMs: DAY });
      const read = await fx.log.read(0, 10);
      expect(read.map(({ seq: _seq, ...rest }) => rest)).toEqual(events.map(({ seq: _seq, ...rest }) => rest));
    });

    it('reads after a position with a limit', async () => {
      const out = await fx.log.append(
        Array.from({ length: 10 }, (_, i) => sampleEvent(i)),
        { now: T0, dedupeWindowMs: DAY },
      );
      const seqs = out.map((o) => ('seq' in o ? o.seq : -1));
      const page = await fx.log.read(seqs[3] as number, 4);
      expect(page.map((e) => e.seq)).toEqual(seqs.slice(4, 8));
      expect(await fx.log.read(seqs[9] as number, 10)).toEqual([]);
    });

    it('drops a messageId seen inside the dedupe window, across calls and within one call', async () => {
      await fx.log.append([sampleEvent(1)], { now: T0, dedupeWindowMs: DAY });
      const out = await fx.log.append([sampleEvent(1), sampleEvent(2), sampleEvent(2)], { now: T0 + 1000, dedupeWindowMs: DAY });
      expect(out[0]).toEqual({ duplicate: true });
      expect(out[1]).toHaveProperty('seq');
      expect(out[2]).toEqual({ duplicate: true });
      expect((await fx.log.read(0, 10)).map((e) => e.messageId)).toEqual(['m-1', 'm-2']);
    });

    it('accepts a messageId again once it is older than the window', async () => {
      await fx.log.append([sampleEvent(1)], { now: T0, dedupeWindowMs: DAY });
      const out = await fx.log.append([sampleEvent(1)], { now: T0 + DAY + 1, dedupeWindowMs: DAY });
      expect(out[0]).toHaveProperty('seq');
      expect(await fx.log.read(0, 10)).toHaveLength(2);
    });

    it('prunes old dedupe entries', async () => {
      await fx.log.append([sampleEvent(1)], { now: T0, dedupeWindowMs: DAY });
      await fx.log.append([sampleEvent(2)], { now: T0 + 2 * DAY, dedupeWindowMs: DAY });
      expect(await fx.log.pruneDedupe(T0 + DAY)).toBe(1);
      expect(await fx.log.pruneDedupe(T0 + DAY)).toBe(0);
      // Pruning forgets dedupe state only, never events.
      expect(await fx.log.read(0, 10)).toHaveLength(2);
    });

    it('appending nothing is a no-op', async () => {
      expect(await fx.log.append([], { now: T0, dedupeWindowMs: DAY })).toEqual([]);
      expect(await fx.log.lastSeq()).toBe(0);
    });

    it('keeps events and dedupe state across a reopen', async () => {
      if (!fx.reopen) {
        expect(fx.reopen).toBeUndefined();
        return;
      }
      await fx.log.append([sampleEvent(1), sampleEvent(2)], { now: T0, dedupeWindowMs: DAY });
      fx.log = await fx.reopen();
      expect(await fx.log.read(0, 10)).toHaveLength(2);
      const out = await fx.log.append([sampleEvent(2), sampleEvent(3)], { now: T0 + 1000, dedupeWindowMs: DAY });
      expect(out[0]).toEqual({ duplicate: true });
      expect(out[1]).toHaveProperty('seq');
    });
  });
}
