import { classify, classifyState, type CompiledLens, type LensState } from '../domain/lens-classifier';
import type { LensRegistry } from '../classify/lens-registry';
import type { Indicators } from '../domain/indicator-catalogue';
import type { EngineModules, StatementSignal } from '../engine/engine-modules';
import { canonicalise, type CompiledMapping } from '../indicators/event-mapping';
import {
  applyEvent,
  applyStatement,
  createIndicatorState,
  decodeState,
  encodeState,
  readIndicators,
  releaseIndicatorState,
  valueSummary,
  type IndicatorState,
} from '../indicators/indicator-state';
import type { StatementAnalyser } from '../indicators/statements/statement-analyser';

/** What the engine is built from. */
export interface EngineModuleSources {
  readonly lenses: LensRegistry;
  readonly mapping: CompiledMapping;
  /** Null turns statement analysis off (e.g. a benchmark's ceiling run). */
  readonly statements: StatementAnalyser | null;
}

/** Binds the indicator engine, the statement analyser and the lens classifier to the processor's interface. */
export function createEngineModules(src: EngineModuleSources): EngineModules<IndicatorState, LensState> {
  const lens = (name: string): CompiledLens => src.lenses.get(name);
  const analyser = src.statements;
  // One input object reused by every per-event decision (classifyState keeps no reference to it).
  const input: { indicators: Indicators; traits: Record<string, unknown> } = { indicators: {}, traits: {} };
  return {
    indicators: {
      create: createIndicatorState,
      encode: encodeState,
      decode: decodeState,
      release: releaseIndicatorState,
      apply(state, event) {
        const c = canonicalise(event, src.mapping);
        if (!c) return null;
        applyEvent(state, c);
        if (!c.text) return null;
        const lang = c.properties['lang'] ?? c.properties['language'];
        return { text: c.text, public: c.public, ...(typeof lang === 'string' ? { lang } : {}) };
      },
      applyStatement(state, t, signal, isPublic) {
        applyStatement(state, { t, sentiment: signal.sentiment, cues: signal.cues, public: isPublic });
      },
      read(state, traits, value, out, asOf) {
        return readIndicators(state, { traits, ...(value ? { value } : {}), ...(asOf !== undefined ? { asOf } : {}) }, out);
      },
      valueSummary,
    },
    statements: analyser
      ? {
          analyse(text, lang): StatementSignal {
            const l = lang === 'de' || lang === 'en' ? lang : undefined;
            return analyser.analyse(text, l ? { lang: l } : {});
          },
        }
      : null,
    lenses: {
      names: () => src.lenses.names(),
      decide(name, indicators, traits, previous, t) {
        input.indicators = indicators;
        input.traits = traits;
        return classifyState(lens(name), input, previous, t);
      },
      probabilities(name, indicators, traits, state) {
        // The classification is this call's own (made here, dropped after): its probabilities need no copy.
        return classify(lens(name), { indicators, traits }, state, state.since).classification.probabilities;
      },
      explain(name, indicators, traits, state) {
        const c = classify(lens(name), { indicators, traits }, state, state.since).classification;
        // The classification is this call's own (made above, dropped after): its probabilities need no copy.
        return { probabilities: c.probabilities, evidence: c.evidenceFor(state.type, 5) };
      },
    },
  };
}
