import type { EngineFeed } from '../ports/engine-feed';
import type { Automation } from './automation';
import type { PlaybookRegistry } from './playbook-registry';
import type { AutomationSignal, EmittedMessage } from './types';
import type { StoredEvent } from '../domain/event';
import { prepareEvent } from '../ingest/prepare-request';

/** What {@link createFeedPlanner} needs. */
export interface FeedPlannerDeps {
  /** Processed changes. Its `processed()` is the position the planner may read up to. */
  readonly feed: EngineFeed;
  readonly automation: Pick<Automation, 'handleMany'>;
  readonly playbooks: PlaybookRegistry;
  /** Consumer name of the planner's position in the feed (default `automation`). */
  readonly consumer?: string;
  /** Log positions handled per store transaction (default 5000). */
  readonly chunk?: number;
}

/** Turns processed changes into playbook signals. */
export interface FeedPlanner {
  /** Handles everything processed since the planner's position, then moves the position; returns signals handled. */
  catchUp(): Promise<number>;
}

/** Indicator names that playbook triggers watch for crossings. */
function watchedIndicators(playbooks: PlaybookRegistry): Set<string> {
  const out = new Set<string>();
  for (const pb of playbooks.current()) {
    const t = pb.trigger as { indicator?: { name: string } };
    if (t.indicator) out.add(t.indicator.name);
  }
  return out;
}

/**
 * The automation's planner over an engine feed (used by the scaled-out dispatcher role): type
 * changes, indicator crossings and track events committed by the processor(s) become signals for the
 * playbooks, in log order. Handling is idempotent per (playbook, customer, triggering event), so a crash
 * before the position moves re-handles the range without enrolling twice.
 */
export function createFeedPlanner(deps: FeedPlannerDeps): FeedPlanner {
  const consumer = deps.consumer ?? 'automation';
  const chunk = deps.chunk ?? 5_000;
  const lastValues = new Map<string, Map<string, number>>();

  async function signalsBetween(after: number, upto: number): Promise<AutomationSignal[]> {
    const f = deps.feed;
    const signals: AutomationSignal[] = [];
    for (const c of await f.typeChangesBetween(after, upto)) {
      signals.push({ kind: 'type_changed', customerId: c.customerId, lens: c.lens, from: c.from, to: c.to, at: c.at, eventSeq: c.seq });
    }
    const touched = new Set<string>();
    for (const { event: e, customerId } of await f.eventsBetween(after, upto)) {
      touched.add(customerId);
      if (e.type !== 'track' || !e.event) continue;
      signals.push({ kind: 'event', customerId, event: e.event, properties: e.properties, at: e.timestamp, eventSeq: e.seq });
    }
    const watched = watchedIndicators(deps.playbooks);
    if (watched.size > 0 && touched.size > 0) {
      // Crossings compare with the value last seen by this planner (none after a takeover: no false crossing).
      for (const c of await f.customers([...touched])) {
        const prev = lastValues.get(c.id) ?? new Map<string, number>();
        for (const name of watched) {
          const value = c.indicators[name];
          if (typeof value !== 'number') continue;
          const before = prev.get(name);
          if (before !== undefined && before !== value) {
            signals.push({ kind: 'indicator_changed', customerId: c.id, indicator: name, previous: before, value, at: c.lastSeen, eventSeq: upto });
          }
          prev.set(name, value);
        }
        lastValues.set(c.id, prev);
      }
    }
    signals.sort((a, b) => a.eventSeq - b.eventSeq);
    return signals;
  }

  return {
    async catchUp() {
      const upto = await deps.feed.processed();
      let after = await deps.feed.position(consumer);
      let handled = 0;
      while (after < upto) {
        const end = Math.min(upto, after + chunk);
        const signals = await signalsBetween(after, end);
        if (signals.length > 0) await deps.automation.handleMany(signals);
        handled += signals.length;
        await deps.feed.setPosition(consumer, end);
        after = end;
      }
      return handled;
    },
  };
}

/**
 * Normalises the automation's feedback messages (deliveries, opens, clicks, unsubscribes, task completions)
 * into log events from source `rapport`. Their messageIds are deterministic, so a retried emit is deduplicated
 * downstream. Messages that fail validation are handed to `onRejected` (logged by callers) and skipped.
 */
export function feedbackEvents(messages: readonly EmittedMessage[], receivedAt: number, onRejected: (message: EmittedMessage, reason: unknown) => void): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const m of messages) {
    const r = prepareEvent(m, 'track', {
      receivedAt,
      sentAt: null,
      batchContext: null,
      batchIntegrations: null,
      sourceId: 'rapport',
      newMessageId: () => m.messageId,
    });
    if (r.kind === 'ok') events.push(r.value);
    else onRejected(m, r);
  }
  return events;
}
