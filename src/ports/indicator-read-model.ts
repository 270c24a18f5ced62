import type { Indicators } from '../domain/indicator-catalogue';

/** One customer as training and discovery see it: indicators, traits and the assigned type per lens. */
export interface IndicatorRow {
  readonly customerId: string;
  readonly indicators: Indicators;
  readonly traits: Record<string, unknown>;
  /** Current type per lens name. */
  readonly types: Record<string, string>;
}

/**
 * Read port over the engine's current customer state, used by `rapport train` and
 * `rapport discover`. Adapters: the engine store (src/app/open-indicator-read-model.ts) and
 * an in-memory one (src/classify/in-memory-indicator-read-model.ts).
 */
export interface IndicatorReadModel {
  /** Every customer, in a stable order (by id). */
  iterate(): AsyncIterable<IndicatorRow>;
  /** The customers with these ids (missing ids are absent from the map). */
  get(ids: readonly string[]): Promise<Map<string, IndicatorRow>>;
  /** Releases resources (database handles). Optional. */
  close?(): Promise<void>;
}
