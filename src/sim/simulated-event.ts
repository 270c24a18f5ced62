import type { StoredEvent } from '../domain/event';
import { prepareEvent } from '../ingest/prepare-request';

/**
 * Normalises one simulated Segment message as the ingest API would, received at its own timestamp
 * (replays, benchmarks and tests feed logs directly). Simulated messages carry their messageId.
 */
export function simulatedEvent(m: unknown, sourceId: string): StoredEvent {
  const ts = Date.parse(String((m as { timestamp?: string }).timestamp));
  const r = prepareEvent(m, undefined, {
    receivedAt: Number.isFinite(ts) ? ts : 0,
    sentAt: null,
    batchContext: null,
    batchIntegrations: null,
    sourceId,
    newMessageId: () => {
      throw new Error('simulated messages carry their messageId');
    },
  });
  if (r.kind !== 'ok') throw new Error(`invalid simulated message: ${r.kind === 'reject' ? r.message : r.reason}`);
  return r.value;
}
