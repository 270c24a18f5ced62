import { describe, expect, it } from 'vitest';
import { connectNats, ensureEventStream } from '../../src/adapters/nats/event-stream';
import { deleteStream, NATS_URL, uniqueStream } from './ingest-helpers';

if (!NATS_URL) console.warn('event-stream.nats.test.ts: skipped — set RAPPORT_TEST_NATS_URL to run it');

describe.skipIf(!NATS_URL)('event stream settings (NATS JetStream)', () => {
  it('creates the stream with the configured retention and replicas, and updates retention and replicas in place', async () => {
    const names = uniqueStream();
    const nc = await connectNats(NATS_URL as string, { name: 'event-stream-test' });
    try {
      const jsm = await nc.jetstreamManager();
      const hour = 3_600_000;
      const created = await ensureEventStream(jsm, { ...names, partitions: 4, maxAgeMs: 24 * hour, replicas: 1 });
      expect(created.config.max_age).toBe(24 * hour * 1_000_000);
      expect(created.config.num_replicas).toBe(1);
      expect(created.config.subjects).toHaveLength(4);
      // Every role calls it at start: a later start with a longer retention updates the stream in place.
      const updated = await ensureEventStream(jsm, { ...names, partitions: 4, maxAgeMs: 48 * hour, replicas: 1 });
      expect(updated.config.max_age).toBe(48 * hour * 1_000_000);
      // Replicas go into the stream's configuration (a standalone test server records them; a cluster places the copies).
      const three = await ensureEventStream(jsm, { ...names, partitions: 4, replicas: 3 });
      expect(three.config.num_replicas).toBe(3);
    } finally {
      await nc.close();
      await deleteStream(NATS_URL as string, names.stream);
    }
  });
});
