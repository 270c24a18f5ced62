import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authenticate, extractWriteKey } from '../../src/ingest/authenticate';
import { normaliseEvent } from '../../src/ingest/normalise-event';
import { parseBody } from '../../src/ingest/parse-body';
import { DEFAULT_INGEST_LIMITS, prepareRequest } from '../../src/ingest/prepare-request';
import { validateEvent } from '../../src/ingest/validate-event';
import { IngestWriter } from '../../src/ingest/ingest-writer';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { SqliteKeyStore } from '../../src/adapters/sqlite/sqlite-key-store';
import { ManualClock } from '../../src/ports/clock';

const ctx = (receivedAt: number, sentAt: number | null) => ({
  receivedAt,
  sentAt,
  batchContext: null,
  batchIntegrations: null,
  sourceId: 's',
  newMessageId: () => 'generated',
});

describe('ingest pipeline steps', () => {
  it('parseBody: ok for JSON, invalid_json otherwise', () => {
    expect(parseBody('{"a":1}')).toEqual({ kind: 'ok', value: { a: 1 } });
    expect(parseBody('{')).toMatchObject({ kind: 'reject', code: 'invalid_json' });
    expect(parseBody('')).toMatchObject({ kind: 'reject', code: 'invalid_json' });
  });

  it('extractWriteKey: Basic header first, then body; authenticate rejects unknown keys', async () => {
    const h = `Basic ${Buffer.from('key123:').toString('base64')}`;
    expect(extractWriteKey(h, { writeKey: 'other' })).toBe('key123');
    expect(extractWriteKey(undefined, { writeKey: 'other' })).toBe('other');
    expect(extractWriteKey('Bearer x', {})).toBeNull();
    const store = new SqliteKeyStore(openSqliteDatabase(':memory:'));
    const { writeKey, source } = await store.createSource('web', 1);
    expect(await authenticate(undefined, { writeKey }, store)).toEqual({ kind: 'ok', value: source });
    expect(await authenticate(undefined, {}, store)).toMatchObject({ kind: 'reject', code: 'unauthorized' });
  });

  it('validateEvent: numbers as ids become strings; the route type wins over the body', () => {
    const r = validateEvent({ userId: 42, type: 'identify', event: 'E' }, 'track');
    expect(r).toMatchObject({ kind: 'ok', value: { type: 'track', userId: '42' } });
  });

  it('skew correction: timestamp + (receivedAt - sentAt) for any times', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: -1e9, max: 1e9 }), (ts, lag, skew) => {
        const sentAt = ts + lag;
        const receivedAt = sentAt + skew;
        const v = validateEvent({ userId: 'u', event: 'E', timestamp: new Date(ts).toISOString(), sentAt: new Date(sentAt).toISOString() }, 'track');
        if (v.kind !== 'ok') return false;
        const n = normaliseEvent(v.value, ctx(receivedAt, null));
        return n.kind === 'ok' && n.value.timestamp === ts + (receivedAt - sentAt) && n.value.receivedAt === receivedAt;
      }),
    );
  });

  it('no timestamp: the event time is receivedAt; no messageId: one is generated', () => {
    const v = validateEvent({ anonymousId: 'a', name: 'Home' }, 'page');
    if (v.kind !== 'ok') throw new Error('expected ok');
    expect(normaliseEvent(v.value, ctx(1000, 500))).toMatchObject({ kind: 'ok', value: { timestamp: 1000, messageId: 'generated', sentAt: 500, context: {} } });
  });

  it('prepareRequest: batch integrations merged, item wins; request-level rejections', () => {
    const pc = { receivedAt: 5, sourceId: 's', newMessageId: () => 'g', limits: DEFAULT_INGEST_LIMITS, bodyBytes: 100 };
    const r = prepareRequest('batch', { integrations: { All: false, X: true }, batch: [{ type: 'track', userId: 'u', event: 'E', integrations: { All: true } }] }, pc);
    expect(r).toMatchObject({ kind: 'ok', value: { events: [{ integrations: { All: true, X: true } }], rejected: [] } });
    expect(prepareRequest('batch', [], pc)).toMatchObject({ kind: 'reject', code: 'invalid_input' });
    expect(prepareRequest('track', 'x', pc)).toMatchObject({ kind: 'reject', code: 'invalid_input' });
  });
});

describe('IngestWriter (group commit)', () => {
  it('commits concurrent submissions together and tells listeners the last seq', async () => {
    const log = new SqliteEventLog(openSqliteDatabase(':memory:'));
    const w = new IngestWriter({ eventLog: log, clock: new ManualClock(1000), maxPendingEvents: 1000, dedupeWindowMs: 1000, retryAfterSeconds: 2 });
    const commits: number[] = [];
    w.onCommitted((seq) => commits.push(seq));
    const ev = (id: string) => ({
      seq: 0, messageId: id, type: 'track' as const, userId: 'u', anonymousId: null, event: 'E', name: null, groupId: null, previousId: null,
      properties: {}, traits: {}, context: {}, integrations: {}, timestamp: 1, receivedAt: 1, sentAt: null, sourceId: 's',
    });
    const [a, b, c] = await Promise.all([w.submit([ev('1'), ev('2')]), w.submit([ev('3')]), w.submit([ev('1')])]);
    expect(a).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(b).toEqual([{ seq: 3 }]);
    expect(c).toEqual([{ duplicate: true }]);
    // One transaction for all three submissions.
    expect(commits).toEqual([3]);
    await w.close();
    await expect(w.submit([ev('9')])).rejects.toMatchObject({ code: 'unavailable' });
  });
});
