import type { CustomerRecord } from '../ports/engine-store';
import type { EngineModules, LensStateLike, ValueScores } from './engine-modules';

/** A customer held in the processor's memory while events are applied. */
export interface LiveCustomer {
  record: CustomerRecord;
  /** Decoded indicator state. */
  ind: unknown;
  /** Per-lens classifier state (hysteresis). */
  lensStates: Record<string, LensStateLike>;
  dirty: boolean;
  /** Orders and revenue when the purchase summary was last taken (avoids recomputing it per event). */
  lastPurchaseKey?: number | undefined;
  /** Time of the last evaluation when it was a clock tick (indicators read as of it); undefined after an event. */
  asOf?: number | undefined;
  /**
   * Value scores computed at the last applied event, with their inputs (purchase summary in weeks and
   * the value engine's model generation): scores are a pure function of those, so they are recomputed
   * only when one changes (at most daily). One field for both: a field per cached customer counts.
   */
  scored?: ScoredValue | undefined;
}

/** Value scores and the inputs they were computed from (see {@link LiveCustomer.scored}). */
export interface ScoredValue {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly monetary: number;
  readonly generation: number;
  readonly scores: ValueScores | undefined;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * Encodes the engine state of a customer into one blob: `[u32 length][indicator state][lens states JSON]`.
 * Versioning of the indicator part is the indicator module's job.
 */
export function encodeCustomerState(modules: EngineModules, live: LiveCustomer): Uint8Array {
  const ind = modules.indicators.encode(live.ind);
  const lens = textEncoder.encode(JSON.stringify(live.lensStates));
  const out = new Uint8Array(4 + ind.length + lens.length);
  new DataView(out.buffer).setUint32(0, ind.length, true);
  out.set(ind, 4);
  out.set(lens, 4 + ind.length);
  return out;
}

/** Decodes a blob written by {@link encodeCustomerState}; a missing blob gives fresh state. */
export function decodeCustomerState(modules: EngineModules, record: CustomerRecord): LiveCustomer {
  const blob = record.state;
  if (!blob || blob.length < 4) return live(record, modules.indicators.create(), {}, false);
  const len = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0, true);
  const ind = modules.indicators.decode(blob.subarray(4, 4 + len));
  const lensStates = JSON.parse(textDecoder.decode(blob.subarray(4 + len))) as Record<string, LensStateLike>;
  return live(record, ind, lensStates, false);
}

/** Shared by new customers until their first anonymous id or group (replaced, never pushed to). */
const NO_IDS: string[] = Object.freeze([]) as unknown as string[];

/** A new, empty customer. */
export function newCustomer(modules: EngineModules, id: string, userId: string | null, t: number): LiveCustomer {
  return live(
    {
      id,
      userId,
      anonymousIds: NO_IDS,
      email: null,
      traits: {},
      traitTimes: {},
      groups: NO_IDS,
      firstSeen: t,
      lastSeen: t,
      eventCount: 0,
      state: null,
      classifications: {},
      indicators: {},
      purchaseDays: null,
    },
    modules.indicators.create(),
    {},
    true,
  );
}

/** Every field set up front: one object shape, all fields in-object (no separate property store). */
function live(record: CustomerRecord, ind: unknown, lensStates: Record<string, LensStateLike>, dirty: boolean): LiveCustomer {
  return { record, ind, lensStates, dirty, lastPurchaseKey: undefined, asOf: undefined, scored: undefined };
}
