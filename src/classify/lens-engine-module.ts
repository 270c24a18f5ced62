import type { Indicators } from '../domain/indicator-catalogue';
import { classify, type Classification, type Evidence, type LensState } from '../domain/lens-classifier';
import type { LensRegistry } from './lens-registry';

/** What the processor gets back per lens (shape of `LensOutcome` in src/engine/engine-modules.ts). */
export interface LensModuleOutcome {
  readonly type: string;
  /** Computed on first access. */
  readonly probabilities: Record<string, number>;
  /** Top-5 evidence for the chosen type, computed on first access (~1 µs): read it only when you store it. */
  readonly evidence: Evidence[];
  readonly changed: boolean;
  readonly previousType: string | null;
  readonly probability: number;
  readonly state: LensState;
  /** The full classification (evidence for other types, toJSON). */
  readonly classification: Classification;
}

/**
 * The lens part of the engine's modules: classifies with whatever lens set the registry holds
 * right now (so a registry reload takes effect on the next event). Unknown lens names throw
 * RapportError 'unknown_lens'.
 */
export function createLensModule(registry: LensRegistry): {
  names(): readonly string[];
  classify(lens: string, indicators: Indicators, traits: Record<string, unknown>, previous: LensState | undefined, t: number): LensModuleOutcome;
} {
  return {
    names: () => registry.names(),
    classify(lens, indicators, traits, previous, t) {
      const { classification, state } = classify(registry.get(lens), { indicators, traits }, previous, t);
      return {
        type: classification.type,
        get probabilities() {
          return classification.probabilities as Record<string, number>;
        },
        get evidence() {
          return classification.evidence as Evidence[];
        },
        changed: classification.changed,
        previousType: classification.previousType,
        probability: classification.probability,
        state,
        classification,
      };
    },
  };
}
