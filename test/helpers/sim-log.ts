import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredEvent } from '../../src/domain/event';
import type { EventLog } from '../../src/ports/event-log';
import { simulate, type SimulateOptions } from '../../src/sim/simulate';
import type { SegmentMessage } from '../../src/sim/types';
import { simulatedEvent } from '../../src/sim/simulated-event';

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'rapport-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Normalises one Segment message as the ingest API would (received at its own timestamp). */
export function toStoredEvent(m: SegmentMessage | Record<string, unknown>, sourceId = 'test'): StoredEvent {
  return simulatedEvent(m, sourceId);
}

/** Appends messages to a log in chunks; returns how many were appended. */
export async function appendMessages(log: EventLog, messages: Iterable<SegmentMessage | Record<string, unknown>>, chunk = 5000): Promise<number> {
  let batch: StoredEvent[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const out = await log.append(batch, { now: Date.now(), dedupeWindowMs: 86_400_000 });
    n += out.filter((o) => 'seq' in o).length;
    batch = [];
  };
  for (const m of messages) {
    batch.push(toStoredEvent(m));
    if (batch.length >= chunk) await flush();
  }
  await flush();
  return n;
}

/** Runs the simulator and appends its messages to the log. */
export async function simulateInto(log: EventLog, opts: Partial<SimulateOptions> & { customers: number; days: number; seed: number }) {
  const sim = simulate({ start: Date.UTC(2025, 0, 1), ...opts });
  const n = await appendMessages(log, sim.messages());
  return { sim, events: n };
}
