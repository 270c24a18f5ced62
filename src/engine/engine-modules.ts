import type { StoredEvent } from '../domain/event';
import type { Indicators } from '../domain/indicator-catalogue';

/** Value-model scores a lens can use (filled by src/value when a model is fitted). */
export interface ValueScores {
  readonly pAlive: number;
  readonly expectedPurchases90d: number;
  readonly clv12m: number;
  readonly heavyUser: boolean;
}

/** Per-transaction summary the value models need (repeat purchases on distinct days). */
export interface ValueSummary {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly monetary: number;
}

/** Result of analysing one statement's text. */
export interface StatementSignal {
  readonly sentiment: number;
  readonly cues: Record<string, number>;
  readonly language: string;
  readonly matches: ReadonlyArray<{ cue: string; phrase: string; start: number; end: number; negated: boolean }>;
}

/** What the processor reads from a lens's per-customer state: the (hysteresis-stable) type. */
export interface LensStateLike {
  readonly type: string;
  /** Event time since which the customer has `type`. */
  readonly since: number;
}

/** The explanation of a customer's type: computed when it is read (the API), not when it is committed. */
export interface LensExplanation {
  readonly probabilities: Record<string, number>;
  readonly evidence: unknown[];
}

/**
 * The domain modules the processor composes, behind one narrow interface each, so the processor
 * does not depend on their internals.
 */
export interface EngineModules<IState = unknown, LState extends LensStateLike = LensStateLike> {
  readonly indicators: {
    create(): IState;
    encode(state: IState): Uint8Array;
    decode(bytes: Uint8Array): IState;
    /** Gives the state's memory back (the customer left the processor's cache). */
    release(state: IState): void;
    /** Applies one event; returns the statement text to analyse, if the event carries one. */
    apply(state: IState, event: StoredEvent): { text: string; public: boolean; lang?: string } | null;
    applyStatement(state: IState, t: number, signal: StatementSignal, isPublic: boolean): void;
    /** Reads all indicators (as of `asOf`, default the latest event); `out` may be reused between calls. */
    read(state: IState, traits: Record<string, unknown>, value: ValueScores | undefined, out?: Indicators, asOf?: number): Indicators;
    /** Purchase summary in `unit`s as of `until` (default: the latest event). */
    valueSummary(state: IState, unit: 'day' | 'week', until?: number): ValueSummary;
  };
  /** Null when statement analysis is off. */
  readonly statements: { analyse(text: string, lang?: string): StatementSignal } | null;
  readonly lenses: {
    /** Names of the active lenses, in order. */
    names(): readonly string[];
    /**
     * Per event: the state after hysteresis (its `type` is the customer's type). Must be cheap: it
     * returns `previous` itself when nothing changed, so the processor can compare by identity.
     */
    decide(lens: string, indicators: Indicators, traits: Record<string, unknown>, previous: LState | undefined, t: number): LState;
    /** Per batch, for the commit: the probability of every type. */
    probabilities(lens: string, indicators: Indicators, traits: Record<string, unknown>, state: LState): Record<string, number>;
    /**
     * On read: probabilities of every type and the evidence for `state.type` (a pure function of the
     * indicators and traits the customer was committed with, so it need not be stored).
     */
    explain(lens: string, indicators: Indicators, traits: Record<string, unknown>, state: LensStateLike): LensExplanation;
  };
}
