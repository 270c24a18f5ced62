import { fitValueModels, heavyUserThreshold, scoreCustomer, type ValueModels } from '../value/index';
import { RapportError } from '../domain/errors';
import type { ValueScores, ValueSummary } from './engine-modules';

const DAY = 86_400_000;

/** Time-independent purchase summary of a customer: first and last purchase day (UTC day index), repeat days, mean repeat spend. */
export type PurchaseDays = readonly [firstDay: number, lastDay: number, x: number, monetary: number];

/** Settings of the value engine. */
export interface ValueEngineOptions {
  /** Refit every this many days of event time. */
  refitEveryDays: number;
  /** Share of customers (by 12-month CLV) counted as heavy users. */
  heavyUserShare: number;
  /** Fit on at most this many customers (a deterministic sample by id). */
  maxFitCustomers: number;
  /** Do not fit before this many customers have bought. */
  minCustomers: number;
  horizonDays: number;
  discountRate: number;
}

/** Defaults: weekly refits, top 20 % are heavy users, 12-month CLV at 10 % a year. */
export const DEFAULT_VALUE_OPTIONS: ValueEngineOptions = {
  refitEveryDays: 7,
  heavyUserShare: 0.2,
  maxFitCustomers: 20_000,
  minCustomers: 50,
  horizonDays: 365,
  discountRate: 0.1,
};

/** What is persisted so a restart continues with the same model (replay determinism). */
export interface ValueEngineSnapshot {
  readonly models: ValueModels | null;
  readonly heavyThreshold: number;
  /** Event time of the next scheduled refit (ms). */
  readonly nextRefitAt: number;
}

/**
 * Models fitted once, elsewhere, carried in a refit control event's properties (scaled-out mode: the
 * publisher fits on every partition's customers, each partition's processor applies the same result).
 * `models` null: the fit failed there, keep the previous models.
 */
export interface FittedValueModels {
  readonly models: ValueModels | null;
  /** Heavy-user threshold on 12-month CLV (null stands for Infinity: JSON has no Infinity). */
  readonly heavyThreshold: number | null;
}

/** Property of a `Rapport Value Models Refit` event that carries {@link FittedValueModels}. */
export const FITTED_MODELS_PROPERTY = 'fittedModels';

/**
 * Keeps the fitted BG/NBD + Gamma-Gamma models and scores customers with them. Refits happen at
 * event-time boundaries (never the wall clock), so replaying the log refits at the same points.
 */
export class ValueEngine {
  private models: ValueModels | null = null;
  private heavyThreshold = Infinity;
  private nextRefitAt = -1;
  private gen = 0;
  private share = 1;
  /** Purchase summaries of every customer who bought (or of a sample: see {@link purchasesShare}), by customer id. */
  readonly purchases = new Map<string, PurchaseDays>();

  constructor(private readonly opts: ValueEngineOptions = DEFAULT_VALUE_OPTIONS) {}

  /**
   * Restores persisted state. `share` < 1: `purchases` is a uniform sample holding about that share of the
   * buyers (a process that only summarises them, like the scaled-out api role; it cannot refit).
   */
  restore(snapshot: ValueEngineSnapshot | null, purchases: Iterable<[string, PurchaseDays]>, share = 1): void {
    this.share = share;
    this.models = snapshot?.models ?? null;
    this.heavyThreshold = snapshot?.heavyThreshold ?? Infinity;
    this.nextRefitAt = snapshot?.nextRefitAt ?? -1;
    this.gen++;
    this.purchases.clear();
    for (const [id, p] of purchases) this.purchases.set(id, p);
  }

  /** Expected share of the buyers in {@link purchases} (1: all of them). */
  purchasesShare(): number {
    return this.share;
  }

  snapshot(): ValueEngineSnapshot {
    return { models: this.models, heavyThreshold: this.heavyThreshold, nextRefitAt: this.nextRefitAt };
  }

  /**
   * Changes whenever the scores of an unchanged summary may change (a new model or threshold), so
   * callers can cache {@link score} results keyed by summary and generation.
   */
  generation(): number {
    return this.gen;
  }

  /** The fitted models, or null before the first successful fit. */
  current(): ValueModels | null {
    return this.models;
  }

  /** Scores a customer from its summary in weeks (as of the event time); undefined before the first fit. */
  score(summary: ValueSummary): ValueScores | undefined {
    const m = this.models;
    if (!m) return undefined;
    if (summary.T <= 0 && summary.x === 0 && summary.tx === 0 && summary.monetary === 0) {
      // Never bought: not scored by the purchase models.
      return undefined;
    }
    const s = scoreCustomer(m, summary, { horizonDays: this.opts.horizonDays, discountRate: this.opts.discountRate });
    return { pAlive: s.pAlive, expectedPurchases90d: s.expectedPurchases90d, clv12m: s.clv12m, heavyUser: s.clv12m > 0 && s.clv12m >= this.heavyThreshold };
  }

  /** True when event time `t` has reached the next scheduled refit (the first event only schedules one). */
  due(t: number): boolean {
    if (this.nextRefitAt < 0) {
      this.nextRefitAt = (Math.floor(t / DAY) + this.opts.refitEveryDays) * DAY;
      return false;
    }
    return t >= this.nextRefitAt;
  }

  /**
   * Refits on the customers' summaries as of event time `t` and recomputes the heavy-user threshold.
   * Returns false (keeping the previous model) when the data cannot support a fit yet.
   */
  refit(t: number): boolean {
    if (this.share < 1) throw new Error('a value engine holding a sample of the purchases cannot refit');
    this.nextRefitAt = (Math.floor(t / DAY) + this.opts.refitEveryDays) * DAY;
    if (this.purchases.size < this.opts.minCustomers) return false;
    const today = Math.floor(t / DAY);
    const ids = [...this.purchases.keys()].sort();
    const step = Math.max(1, Math.ceil(ids.length / this.opts.maxFitCustomers));
    const sample = [];
    for (let i = 0; i < ids.length; i += step) sample.push(this.toWeeks(this.purchases.get(ids[i]!)!, today));
    let models: ValueModels;
    try {
      models = fitValueModels(sample, { unitDays: 7, now: t });
    } catch (err) {
      if (err instanceof RapportError) return false;
      throw err;
    }
    if (!models.bgnbd.converged && this.models) return false;
    this.models = models;
    this.gen++;
    const clv: number[] = [];
    for (const id of ids) {
      clv.push(scoreCustomer(models, this.toWeeks(this.purchases.get(id)!, today), { horizonDays: this.opts.horizonDays, discountRate: this.opts.discountRate }).clv12m);
    }
    this.heavyThreshold = heavyUserThreshold(clv, this.opts.heavyUserShare);
    return true;
  }

  /**
   * A refit control event at event time `t`: applies the models it carries (see
   * {@link FITTED_MODELS_PROPERTY}) or, without any (embedded mode), fits here as {@link refit} does.
   */
  refitWith(fitted: unknown, t: number): void {
    if (fitted === undefined) {
      this.refit(t);
      return;
    }
    this.nextRefitAt = (Math.floor(t / DAY) + this.opts.refitEveryDays) * DAY;
    const f = fitted as FittedValueModels | null;
    if (!f?.models) return;
    this.models = f.models;
    this.heavyThreshold = f.heavyThreshold ?? Infinity;
    this.gen++;
  }

  /** What a refit control event carries after {@link refit} returned `ok` (null models when it failed). */
  fitted(ok: boolean): FittedValueModels {
    const h = this.heavyThreshold;
    return { models: ok ? this.models : null, heavyThreshold: Number.isFinite(h) ? h : null };
  }

  /** CLV and revenue figures of every buyer as of day `today` (for the value summary API). */
  scoreAll(t: number): Array<{ customerId: string; clv12m: number; pAlive: number }> {
    const m = this.models;
    if (!m) return [];
    const today = Math.floor(t / DAY);
    const out = [];
    for (const [id, p] of this.purchases) {
      const s = scoreCustomer(m, this.toWeeks(p, today), { horizonDays: this.opts.horizonDays, discountRate: this.opts.discountRate });
      out.push({ customerId: id, clv12m: s.clv12m, pAlive: s.pAlive });
    }
    return out;
  }

  /** Heavy-user threshold on 12-month CLV (Infinity before the first fit). */
  threshold(): number {
    return this.heavyThreshold;
  }

  private toWeeks(p: PurchaseDays, today: number) {
    return { x: p[2], tx: (p[1] - p[0]) / 7, T: Math.max(0, today - p[0]) / 7, monetary: p[3] };
  }
}

/** Derives the time-independent purchase days from a summary in days as of day `asOfDay`. */
export function purchaseDays(summaryDays: ValueSummary, asOfDay: number): PurchaseDays {
  const first = asOfDay - summaryDays.T;
  return [first, first + summaryDays.tx, summaryDays.x, summaryDays.monetary];
}
