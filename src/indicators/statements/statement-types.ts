/**
 * Shared types of statement analysis: cue names, the analysis result and the negation-aware
 * match records. Pure declarations, nothing runs here.
 */

/** Every relationship cue the analyser counts, in catalogue order (`cue_<name>` indicators). */
import { CUE_NAMES, type CueName } from '../../domain/indicator-catalogue';

export { CUE_NAMES, type CueName };

/** Languages the analyser handles. */
export type StatementLanguage = 'en' | 'de';

/** One phrase or sentiment word found in the text. Offsets are UTF-16 indices into the input. */
export interface StatementMatch {
  readonly cue: CueName | 'sentiment';
  /** The text as written (`text.slice(start, end)`). */
  readonly phrase: string;
  readonly start: number;
  readonly end: number;
  /** True when a negator's scope covers the match; negated cues are not counted. */
  readonly negated: boolean;
}

/** The result of analysing one statement. */
export interface StatementAnalysis {
  readonly language: StatementLanguage;
  /** Overall sentiment, -1 (very negative) .. 1 (very positive). */
  readonly sentiment: number;
  /** Cue counts after negation (negated matches do not count). */
  readonly cues: Record<CueName, number>;
  readonly matches: StatementMatch[];
  /** Present when a trained statement model was given to the analyser. */
  readonly predictedLabel?: string;
  /** Present with `predictedLabel`: probability per label. */
  readonly labelProbabilities?: Record<string, number>;
}

/** Options of one analysis call. */
export interface AnalyseOptions {
  /** Forces the language; otherwise detected with a stop-word heuristic. */
  readonly lang?: StatementLanguage;
}

/** True when `name` is a known cue name. */
export function isCueName(name: string): name is CueName {
  return (CUE_NAMES as readonly string[]).includes(name);
}

/** A fresh all-zero cue record. */
export function emptyCues(): Record<CueName, number> {
  return {
    love: 0,
    advocacy: 0,
    entitlement: 0,
    price: 0,
    switching: 0,
    partnership: 0,
    nostalgia: 0,
    convenience: 0,
    family: 0,
    excitement: 0,
    competitor_negative: 0,
  };
}
