import type { StoredEvent } from '../domain/event';
import type { EventLog } from '../ports/event-log';
import {
  identityKey,
  type EngineStore,
  type StoredClassification,
  type IdentityKind,
  type TraitChange,
  type TypeChange,
} from '../ports/engine-store';
import { decodeCustomerState, encodeCustomerState, newCustomer, type LiveCustomer } from './customer-state';
import type { EngineModules, ValueScores } from './engine-modules';
import type { Indicators } from '../domain/indicator-catalogue';
import { FITTED_MODELS_PROPERTY, purchaseDays, ValueEngine, type ValueEngineSnapshot } from './value-engine';
import { mergeTraits } from './steps/merge-traits';
import { resolveIdentity, type IdentityDecision } from './steps/resolve-identity';

/** Source id of events Rapport writes itself (feedback, control). */
export const RAPPORT_SOURCE = 'rapport';
/** Control event: refit the value models now (at this event's time), e.g. `POST /api/value/refit`. */
export const VALUE_REFIT_EVENT = 'Rapport Value Models Refit';
/**
 * Control event: time has passed. Every customer is re-evaluated as of the tick's time, so a customer
 * who simply stops buying becomes at risk, then lapsed, without any event of their own.
 */
export const CLOCK_TICK_EVENT = 'Rapport Clock Tick';
/** Key in a customer's lens states that records the last tick applied (a crash mid-sweep never applies one twice). */
const TICK_KEY = '@tick';

/**
 * Control events sit in the log like any other, so an on-demand action (a refit) happens at the same
 * position in every replay: the result stays a pure function of the log.
 */
export function isControlEvent(e: StoredEvent): boolean {
  return e.sourceId === RAPPORT_SOURCE && (e.event === VALUE_REFIT_EVENT || e.event === CLOCK_TICK_EVENT);
}

/** What the processor tells listeners after each commit. */
export interface ProcessedBatch {
  readonly lastSeq: number;
  readonly events: number;
  readonly typeChanges: readonly TypeChange[];
  /** Customers whose state changed in this batch. */
  readonly customerIds: readonly string[];
}

/** Dependencies of the processor, passed as one object. */
export interface ProcessorDeps {
  readonly eventLog: EventLog;
  readonly store: EngineStore;
  readonly modules: EngineModules;
  /**
   * Most events per batch (one commit per batch; default 2000). A batch commits each changed customer
   * once, so replays of many events per customer are much faster with large batches (e.g. 1,000,000).
   * A batch also ends once it changed `cacheSize` customers.
   */
  readonly batchSize?: number;
  /** Events read from the log per call within a batch (default min(batchSize, 5000)); bounds memory. */
  readonly readSize?: number;
  /** Customers kept decoded in memory between batches. */
  readonly cacheSize?: number;
  readonly onError?: (err: unknown) => void;
  /** Value models (BG/NBD + Gamma-Gamma) refitted in event time; omit to turn value indicators off. */
  readonly value?: ValueEngine;
}

interface Pending {
  customers: Set<string>;
  identities: Array<{ kind: IdentityKind; value: string; customerId: string }>;
  merges: Array<{ from: string; into: string; at: number; seq: number }>;
  eventCustomers: Array<{ seq: number; customerId: string }>;
  typeChanges: TypeChange[];
  traitChanges: TraitChange[];
  events: number;
}

/** Placeholders until `explain` fills a classification (shared, never mutated). */
const NONE: Record<string, number> = Object.freeze({}) as Record<string, number>;
const NO_EVIDENCE: unknown[] = Object.freeze([]) as unknown as unknown[];

/**
 * Drops a committed customer's derived, rebuildable parts (memory per cached customer): the encoded
 * blob, the indicator snapshot and the type's probability (explain rebuilds them at the next commit)
 * and the cached value scores (a pure function of the summary and model: recomputed on the next event).
 * A classification is replaced by its lens state, which has the same `type` and `since`; classifications
 * of lenses without a live state (no longer configured) are kept as they are.
 */
function slim(live: LiveCustomer, lenses: readonly string[]): void {
  const r = live.record;
  r.state = null;
  r.indicators = NONE;
  const keys = Object.keys(r.classifications);
  let k = 0;
  let mirrors = true;
  for (const lens of lenses) {
    const state = live.lensStates[lens];
    if (state === undefined || r.classifications[lens] === undefined) continue;
    r.classifications[lens] = state as unknown as StoredClassification;
    if (keys[k++] !== lens) mirrors = false;
  }
  // Nothing but the lens states, in lens order: drop the object, rebuilt on demand (classificationsOf).
  if (mirrors && k === keys.length) r.classifications = MIRRORED;
  live.scored = undefined;
}

/** A slimmed record's classifications are exactly its lens states, in lens order (see slim). */
const MIRRORED: Record<string, StoredClassification> = Object.freeze({}) as Record<string, StoredClassification>;

/** The record's classifications, rebuilt from the lens states when slim dropped them. */
function classificationsOf(live: LiveCustomer, lenses: readonly string[]): Record<string, StoredClassification> {
  const r = live.record;
  if (r.classifications !== MIRRORED) return r.classifications;
  const out: Record<string, StoredClassification> = {};
  for (const lens of lenses) {
    const state = live.lensStates[lens];
    if (state !== undefined) out[lens] = state as unknown as StoredClassification;
  }
  r.classifications = out;
  return out;
}

const emptyPending = (): Pending => ({
  customers: new Set(),
  identities: [],
  merges: [],
  eventCustomers: [],
  typeChanges: [],
  traitChanges: [],
  events: 0,
});

/**
 * The event processor: reads the log after its checkpoint, resolves identities, merges traits, updates
 * indicators, reclassifies every lens, and commits state + history + checkpoint atomically per batch.
 * It is deterministic: the same log gives the same state, from scratch or from any checkpoint.
 */
export class Processor {
  private readonly batchSize: number;
  private readonly readSize: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, LiveCustomer>();
  /**
   * Known identities → customer id, one map per kind keyed by the raw value (no `kind:value` key string
   * per customer). A cached customer named after its own userId is not listed (see customerOf): one
   * map entry less per customer.
   */
  private readonly identities: Record<IdentityKind, Map<string, string>> = { user: new Map(), anon: new Map() };
  private readonly listeners = new Set<(batch: ProcessedBatch) => void>();
  private pending = emptyPending();
  private checkpointSeq = -1;
  private valueLoaded = false;
  /** Indicators of the event being applied (reused: classification reads it synchronously). */
  private readonly scratch: Indicators = {};
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  /** Set by wake(); a wake while a batch runs is not lost. */
  private woken = false;
  /** Set when an eviction dropped cached customers or identities (see runOnce). */
  private dropped = false;
  /** Set while rebuilding a merged customer: state changes, but no history is recorded. */
  private rebuilding = false;

  constructor(private readonly deps: ProcessorDeps) {
    this.batchSize = deps.batchSize ?? 2000;
    this.readSize = Math.max(1, Math.min(this.batchSize, deps.readSize ?? 5000));
    this.cacheSize = deps.cacheSize ?? 100_000;
  }

  /** Subscribes to committed batches; returns an unsubscribe function. */
  onBatch(listener: (batch: ProcessedBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Last committed log position. */
  async checkpoint(): Promise<number> {
    if (this.checkpointSeq < 0) this.checkpointSeq = await this.deps.store.checkpoint();
    if (!this.valueLoaded && this.deps.value) {
      const v = await this.deps.store.loadValueState();
      this.deps.value.restore(v.state as ValueEngineSnapshot | null, v.purchases);
      this.valueLoaded = true;
    }
    return this.checkpointSeq;
  }

  /**
   * After a failed commit memory is ahead of the store: drops every cached customer, identity and pending
   * change, so the next batch reloads from the stored checkpoint instead of applying its events twice.
   */
  private forget(): void {
    this.dispose();
    this.pending = emptyPending();
    this.checkpointSeq = -1;
    this.valueLoaded = false;
  }

  /** The value engine, when value models are on. */
  valueEngine(): ValueEngine | undefined {
    return this.deps.value;
  }

  /** Processes one batch; returns the number of events processed (0 when caught up). */
  async runOnce(): Promise<number> {
    let after = await this.checkpoint();
    let total = 0;
    // Read in chunks (bounded memory), commit once per batch; a batch ends early once it changed as many
    // customers as the cache holds (they stay in memory until committed), so a large batch stays bounded.
    while (total < this.batchSize && this.pending.customers.size < this.cacheSize) {
      const want = Math.min(this.readSize, this.batchSize - total);
      const events = await this.deps.eventLog.read(after, want);
      if (events.length === 0) break;
      // The prefetch reads identities and customers from the store: an uncommitted merge would read
      // as not having happened there (the merged-away customer and its old identities).
      if (this.pending.merges.length > 0) await this.flush(after);
      await this.prefetch(events);
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        this.dropped = false;
        if (isControlEvent(e)) await this.control(e);
        else {
          const decision = this.decide(e);
          if (decision.kind === 'merge') await this.merge(decision, e);
          this.apply(decision, e);
        }
        // A flush within the chunk (merge, tick) may have evicted what the prefetch loaded for the rest:
        // commit up to here (for the same reason as above), then load it again.
        if (this.dropped) {
          await this.flush(e.seq);
          await this.prefetch(events.slice(i + 1));
        }
      }
      after = events[events.length - 1]!.seq;
      total += events.length;
      if (events.length < want) break; // caught up
    }
    if (total === 0) return 0;
    await this.flush(after);
    return total;
  }

  /** Carries out a control event (they belong to no customer). */
  private async control(e: StoredEvent): Promise<void> {
    // Scaled out, the event carries models fitted once for all partitions; embedded, it fits here.
    if (e.event === VALUE_REFIT_EVENT) this.deps.value?.refitWith(e.properties[FITTED_MODELS_PROPERTY], e.timestamp);
    else if (e.event === CLOCK_TICK_EVENT) await this.sweep(e);
  }

  /**
   * Re-evaluates every customer as of the tick's time, page by page. Intermediate commits keep the
   * checkpoint before the tick; customers already swept carry the tick's position, so a restart mid-sweep
   * finishes the sweep without evaluating anyone twice.
   */
  private async sweep(e: StoredEvent): Promise<void> {
    const { store } = this.deps;
    if (this.deps.value?.due(e.timestamp)) this.deps.value.refit(e.timestamp);
    await this.flush(e.seq - 1);
    let after = '';
    for (;;) {
      const ids = await store.customerIds(after, 2000);
      if (ids.length === 0) break;
      const missing = ids.filter((id) => !this.cache.has(id));
      if (missing.length > 0) {
        for (const [id, record] of await store.loadCustomers(missing)) this.cache.set(id, decodeCustomerState(this.deps.modules, record));
      }
      for (const id of ids) {
        const live = this.cache.get(id);
        if (live) this.reevaluate(live, e);
      }
      after = ids[ids.length - 1]!;
      if (this.pending.customers.size >= 10_000) await this.flush(e.seq - 1);
    }
  }

  /** One customer at a tick: indicators, value scores and every lens as of the tick's time. */
  private reevaluate(live: LiveCustomer, e: StoredEvent): void {
    const { modules } = this.deps;
    const done = live.lensStates[TICK_KEY];
    if (done && done.since >= e.seq) return;
    const r = live.record;
    const t = Math.max(e.timestamp, r.lastSeen);
    const value = this.deps.value;
    const scores = value ? this.scoreOf(live, value, t) : undefined;
    const indicators = modules.indicators.read(live.ind, r.traits, scores, this.scratch, t);
    const lenses = modules.lenses.names();
    const classifications = classificationsOf(live, lenses);
    for (const lens of lenses) {
      const prevState = live.lensStates[lens];
      const state = modules.lenses.decide(lens, indicators, r.traits, prevState, e.timestamp);
      const prev = classifications[lens];
      if (state === prevState && prev) continue;
      live.lensStates[lens] = state;
      if (prev && prev.type === state.type) continue;
      classifications[lens] = { lens, type: state.type, probability: 0, probabilities: NONE, evidence: NO_EVIDENCE, since: state.since };
      this.pending.typeChanges.push({ customerId: r.id, lens, from: prev?.type ?? null, to: state.type, at: e.timestamp, seq: e.seq, messageId: e.messageId, event: CLOCK_TICK_EVENT });
    }
    // Kept with the lens states (same blob, same commit); `since` holds the tick's log position.
    live.lensStates[TICK_KEY] = { type: TICK_KEY, since: e.seq };
    live.asOf = t;
    live.dirty = true;
    this.pending.customers.add(r.id);
  }

  /** Processes until the log is exhausted; returns the number of events processed. */
  async drain(onProgress?: (processed: number) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runOnce();
      if (n === 0) return total;
      total += n;
      onProgress?.(total);
    }
  }

  /** Starts the background loop: processes whenever woken (after an ingest commit) or every `idleMs`. */
  start(idleMs = 250): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        this.woken = false;
        let failed = false;
        try {
          if ((await this.runOnce()) > 0) continue;
        } catch (err) {
          failed = true;
          this.deps.onError?.(err);
        }
        // Woken while the batch ran (after its last read): look again at once, not after idleMs
        // (after a failure, wait for the next wake or the timer as before).
        if (this.woken && !failed) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, idleMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = null;
      }
    })();
  }

  /** Wakes the loop now (called after the ingest writer commits). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops the loop after the current batch. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = null;
  }

  /** Drops every cached customer (their indicator states go back to the pool); for a processor no longer used. */
  dispose(): void {
    for (const live of this.cache.values()) this.deps.modules.indicators.release(live.ind);
    this.cache.clear();
    for (const byValue of Object.values(this.identities)) byValue.clear();
  }

  private async prefetch(events: readonly StoredEvent[]): Promise<void> {
    // Distinct identities in event order, deduplicated per kind (no `kind:value` string per event).
    const seen: Record<IdentityKind, Set<string>> = { user: new Set(), anon: new Set() };
    const keys: Array<{ kind: IdentityKind; value: string }> = [];
    const want = (kind: IdentityKind, value: string | null) => {
      if (!value || seen[kind].has(value)) return;
      seen[kind].add(value);
      keys.push({ kind, value });
    };
    for (const e of events) {
      want('user', e.userId);
      want('anon', e.anonymousId);
      if (e.previousId) {
        want('user', e.previousId);
        want('anon', e.previousId);
      }
    }
    const unknown = keys.filter((k) => this.customerOf(k.kind, k.value) === undefined);
    if (unknown.length > 0) {
      const found = await this.deps.store.resolveIdentities(unknown);
      for (const k of unknown) {
        const id = found.get(identityKey(k.kind, k.value));
        if (id !== undefined) this.identities[k.kind].set(k.value, id);
      }
    }
    const missing = new Set<string>();
    for (const k of keys) {
      const id = this.customerOf(k.kind, k.value);
      if (id && !this.cache.has(id)) missing.add(id);
    }
    if (missing.size > 0) {
      const loaded = await this.deps.store.loadCustomers([...missing]);
      for (const [id, record] of loaded) this.cache.set(id, decodeCustomerState(this.deps.modules, record));
    }
  }

  /** The customer of an identity, if known here; a cached customer named after its userId owns that userId. */
  private customerOf(kind: IdentityKind, value: string): string | undefined {
    const id = this.identities[kind].get(value);
    if (id !== undefined || kind === 'anon') return id;
    // Merged-away customers leave the cache and get an explicit entry (merge), so this stays true.
    const live = this.cache.get(value);
    return live !== undefined && live.record.userId === value ? value : undefined;
  }

  /** Lookups of identity resolution (built once: no closures per event). */
  private readonly lookups = {
    customerOf: (kind: IdentityKind, value: string) => this.customerOf(kind, value),
    userIdOf: (id: string) => this.cache.get(id)?.record.userId ?? null,
  };

  private decide(e: StoredEvent): IdentityDecision {
    return resolveIdentity(e, this.lookups);
  }

  private bind(kind: IdentityKind, value: string, customerId: string): void {
    const live = this.cache.get(customerId);
    // Implied by the cache entry (see customerOf); the store still records it.
    if (kind !== 'user' || value !== customerId || live?.record.userId !== value) this.identities[kind].set(value, customerId);
    if (!this.rebuilding) this.pending.identities.push({ kind, value, customerId });
    // A new array, not push: new customers share one empty (frozen) array.
    if (live && kind === 'anon' && !live.record.anonymousIds.includes(value)) live.record.anonymousIds = [...live.record.anonymousIds, value];
  }

  private apply(decision: IdentityDecision, e: StoredEvent): void {
    let live: LiveCustomer;
    if (decision.kind === 'new') {
      live = newCustomer(this.deps.modules, decision.customerId, decision.userId, e.timestamp);
      this.cache.set(live.record.id, live);
    } else {
      const id = decision.kind === 'merge' ? decision.into : decision.customerId;
      const found = this.cache.get(id);
      if (!found) throw new Error(`customer ${id} is not loaded`);
      live = found;
      if (decision.setUserId && !live.record.userId) live.record.userId = decision.setUserId;
    }
    for (const a of decision.attach) this.bind(a.kind, a.value, live.record.id);
    this.applyEvent(live, e);
  }

  /** Applies one event to a customer: traits, indicators, statements, value scores, the type in every lens. */
  private applyEvent(live: LiveCustomer, e: StoredEvent): void {
    const { modules } = this.deps;
    const value = this.deps.value;
    const r = live.record;
    if (value?.due(e.timestamp)) value.refit(e.timestamp);
    live.dirty = true;
    live.asOf = undefined;
    r.eventCount++;
    if (e.timestamp > r.lastSeen) r.lastSeen = e.timestamp;
    if (e.timestamp < r.firstSeen) r.firstSeen = e.timestamp;
    const traitChanges = mergeTraits(r, e);
    const text = modules.indicators.apply(live.ind, e);
    if (text && modules.statements) {
      const signal = modules.statements.analyse(text.text, text.lang);
      modules.indicators.applyStatement(live.ind, e.timestamp, signal, text.public);
    }
    const scores = value ? this.scoreOf(live, value, e.timestamp) : undefined;
    const indicators = modules.indicators.read(live.ind, r.traits, scores, this.scratch);
    if (value && this.purchasesChanged(live, indicators)) {
      const days = purchaseDays(modules.indicators.valueSummary(live.ind, 'day'), Math.floor(r.lastSeen / 86_400_000));
      r.purchaseDays = days;
      value.purchases.set(r.id, days);
    }
    const lenses = modules.lenses.names();
    const classifications = classificationsOf(live, lenses);
    for (const lens of lenses) {
      const prevState = live.lensStates[lens];
      const state = modules.lenses.decide(lens, indicators, r.traits, prevState, e.timestamp);
      const prev = classifications[lens];
      // decide returns the previous state itself when nothing changed.
      if (state === prevState && prev) continue;
      live.lensStates[lens] = state;
      if (prev && prev.type === state.type) continue;
      // The probability and snapshot are filled once per batch (explain); the type is exact per event.
      classifications[lens] = { lens, type: state.type, probability: 0, probabilities: NONE, evidence: NO_EVIDENCE, since: state.since };
      if (this.rebuilding) continue;
      this.pending.typeChanges.push({
        customerId: r.id,
        lens,
        from: prev?.type ?? null,
        to: state.type,
        at: e.timestamp,
        seq: e.seq,
        messageId: e.messageId,
        event: e.event ?? e.type,
      });
    }
    if (this.rebuilding) return;
    this.pending.customers.add(r.id);
    this.pending.eventCustomers.push({ seq: e.seq, customerId: r.id });
    for (const t of traitChanges) this.pending.traitChanges.push(t);
    this.pending.events++;
  }

  /**
   * Value scores of the customer's summary as of the event's day. Scores are a pure function of
   * (x, tx, T, monetary) in weeks — all whole days — and the fitted model, so they are recomputed
   * only when one of those changes (at most once per customer and day, or on a refit).
   */
  private scoreOf(live: LiveCustomer, value: ValueEngine, t: number): ValueScores | undefined {
    const s = this.deps.modules.indicators.valueSummary(live.ind, 'week', t);
    const g = value.generation();
    const k = live.scored;
    if (k !== undefined && k.x === s.x && k.tx === s.tx && k.T === s.T && k.monetary === s.monetary && k.generation === g) return k.scores;
    const scores = value.score(s);
    live.scored = { x: s.x, tx: s.tx, T: s.T, monetary: s.monetary, generation: g, scores };
    return scores;
  }

  /** True when the orders or revenue changed with the last event (the purchase summary must follow). */
  private purchasesChanged(live: LiveCustomer, indicators: Indicators): boolean {
    const orders = indicators['orders_total'] ?? 0;
    const revenue = indicators['revenue_total'] ?? 0;
    if (orders === 0) return false;
    const p = live.record.purchaseDays;
    const known = live.lastPurchaseKey;
    const key = orders * 1e9 + revenue;
    if (p && known === key) return false;
    live.lastPurchaseKey = key;
    return true;
  }

  /**
   * Fills the indicator snapshot and each type's probability of a customer about to be committed. The other
   * types' probabilities and the evidence are not stored: the API derives them from the stored snapshot and
   * traits when a customer is read.
   */
  private explain(live: LiveCustomer): void {
    const { modules } = this.deps;
    const r = live.record;
    // The scores of the customer's last evaluation: a refit later in the batch must not change them.
    r.indicators = modules.indicators.read(live.ind, r.traits, live.scored?.scores, undefined, live.asOf);
    classificationsOf(live, modules.lenses.names());
    for (const lens of modules.lenses.names()) {
      const c = r.classifications[lens];
      const state = live.lensStates[lens];
      if (!c || state === undefined) continue;
      const p = modules.lenses.probabilities(lens, r.indicators, r.traits, state);
      // Built field by field: between commits `c` may be the lens state itself (see slim).
      r.classifications[lens] = { lens, type: c.type, probability: p[c.type] ?? 0, probabilities: NONE, evidence: NO_EVIDENCE, since: c.since };
    }
  }

  /**
   * Two customers turn out to be one: commit what is pending, then rebuild the survivor by replaying
   * both histories in log order (indicators are not additive, so replay is the exact answer).
   */
  private async merge(d: Extract<IdentityDecision, { kind: 'merge' }>, e: StoredEvent): Promise<void> {
    await this.flush(e.seq - 1);
    const { store, modules } = this.deps;
    // The flush may have evicted either customer (a full cache): reload what it dropped, as committed.
    const dropped = [d.from, d.into].filter((id) => !this.cache.has(id));
    if (dropped.length > 0) {
      for (const [id, record] of await store.loadCustomers(dropped)) this.cache.set(id, decodeCustomerState(modules, record));
    }
    const [fromEvents, intoEvents] = await Promise.all([store.eventsOf(d.from), store.eventsOf(d.into)]);
    const into = this.cache.get(d.into);
    const from = this.cache.get(d.from);
    if (!into || !from) throw new Error(`merge of unloaded customers ${d.from} -> ${d.into}`);
    const rebuilt = newCustomer(modules, d.into, into.record.userId ?? from.record.userId, into.record.firstSeen);
    rebuilt.record.anonymousIds = [...new Set([...into.record.anonymousIds, ...from.record.anonymousIds])];
    const all = [...fromEvents, ...intoEvents].sort((a, b) => a.seq - b.seq);
    if (all[0]) rebuilt.record.firstSeen = all[0].timestamp;
    this.rebuilding = true;
    try {
      for (const ev of all) this.applyEvent(rebuilt, ev);
    } finally {
      this.rebuilding = false;
    }
    // The survivor's type may differ after the merge: record that change, caused by this event.
    for (const [lens, c] of Object.entries(rebuilt.record.classifications)) {
      const before = classificationsOf(into, modules.lenses.names())[lens]?.type ?? null;
      if (before !== c.type) {
        this.pending.typeChanges.push({ customerId: d.into, lens, from: before, to: c.type, at: e.timestamp, seq: e.seq, messageId: e.messageId, event: e.event ?? e.type });
      }
    }
    for (const ids of Object.values(this.identities)) {
      for (const [k, id] of ids) if (id === d.from) ids.set(k, d.into);
    }
    // The merged-away customer's own userId was implied by its cache entry, which goes now.
    if (from.record.userId === d.from) this.identities.user.set(d.from, d.into);
    this.deps.value?.purchases.delete(d.from);
    modules.indicators.release(from.ind);
    modules.indicators.release(into.ind);
    this.cache.delete(d.from);
    this.cache.set(d.into, rebuilt);
    this.pending.merges.push({ from: d.from, into: d.into, at: e.timestamp, seq: e.seq });
    this.pending.customers.add(d.into);
  }

  private async flush(checkpoint: number): Promise<void> {
    const p = this.pending;
    if (p.customers.size === 0 && p.merges.length === 0 && checkpoint === this.checkpointSeq) return;
    const { modules, store } = this.deps;
    const customers = [];
    const committed: LiveCustomer[] = [];
    for (const id of p.customers) {
      const live = this.cache.get(id);
      if (!live) continue;
      this.explain(live);
      live.record.state = encodeCustomerState(modules, live);
      live.dirty = false;
      customers.push(live.record);
      committed.push(live);
    }
    try {
      await store.commit({
        customers,
        identities: p.identities,
        merges: p.merges,
        eventCustomers: p.eventCustomers,
        typeChanges: p.typeChanges,
        traitChanges: p.traitChanges,
        checkpoint,
        ...(this.deps.value ? { valueState: this.deps.value.snapshot() } : {}),
      });
    } catch (err) {
      // Memory is ahead of the store now: start again from the stored checkpoint.
      this.forget();
      throw err;
    }
    this.checkpointSeq = checkpoint;
    this.pending = emptyPending();
    // What was built for the commit is on disk now: keep only what the next events need in memory
    // (the types, not probabilities, snapshots or the encoded blob; explain rebuilds them).
    const lenses = modules.lenses.names();
    for (const live of committed) slim(live, lenses);
    this.evict();
    const batch: ProcessedBatch = { lastSeq: checkpoint, events: p.events, typeChanges: p.typeChanges, customerIds: [...p.customers] };
    for (const l of this.listeners) l(batch);
  }

  private evict(): void {
    if (this.cache.size <= this.cacheSize) return;
    let excess = this.cache.size - Math.floor(this.cacheSize * 0.8);
    for (const [id, live] of this.cache) {
      if (excess <= 0) break;
      if (live.dirty) continue;
      this.deps.modules.indicators.release(live.ind);
      this.cache.delete(id);
      this.dropped = true;
      excess--;
    }
    if (this.identities.user.size + this.identities.anon.size > this.cacheSize * 4) {
      this.identities.user.clear();
      this.identities.anon.clear();
      this.dropped = true;
    }
  }
}
