import { createRequire } from 'node:module';
import type { WinkMethods } from 'wink-nlp';
import { compilePhrases, longestMatch, type TrieHit, type TrieNode } from './phrase-trie';
import { detectLanguage } from './detect-language';
import type { LanguageLexicon, SentimentLexicon, StatementLexicon } from './statement-lexicon';
import { foldToken, tokenizeText } from './text-tokens';
import {
  emptyCues,
  type AnalyseOptions,
  type CueName,
  type StatementAnalysis,
  type StatementLanguage,
  type StatementMatch,
} from './statement-types';

/** Anything that predicts a label for a text (a loaded statement model). */
export interface StatementPredictor {
  predict(text: string): { label: string; probabilities: Record<string, number> };
}

/** Dependencies of the analyser. */
export interface StatementAnalyserDeps {
  readonly lexicon: StatementLexicon;
  /** Optional trained classifier; when given, analyses carry `predictedLabel` and `labelProbabilities`. */
  readonly model?: StatementPredictor | undefined;
}

/** A ready analyser: pure and synchronous per call. */
export interface StatementAnalyser {
  analyse(text: string, opts?: AnalyseOptions): StatementAnalysis;
}

/** Tokens a negator's scope covers after it (English / German). */
const PRE_SCOPE = { en: 4, de: 3 } as const;
/** Tokens a German clause-final negator ("ich liebe es nicht") covers before it. */
const POST_SCOPE = 4;
/** Negated positive words flip and weaken; negated negative words flip and weaken more ("nicht schlecht" = mildly positive). */
const NEGATE_POSITIVE = -0.75;
const NEGATE_NEGATIVE = -0.5;
/** VADER-style normalisation constant: score = sum / sqrt(sum² + ALPHA). */
const ALPHA = 15;

interface CompiledSentiment {
  readonly words: Map<string, number>;
  readonly prefixWords: Array<[string, number]>;
  readonly negators: Set<string>;
  readonly postNegators: Set<string>;
  readonly exceptions: string[][];
  readonly boundaries: Set<string>;
  readonly intensifiers: Map<string, number>;
}

interface CompiledLanguage {
  readonly trie: TrieNode;
  readonly sentiment: CompiledSentiment;
  /** German: strip common inflection endings when a word is not found as written. */
  readonly stemFallback: boolean;
  /** Valence per token seen so far (a pure function of the lexicon: see valenceOf). */
  readonly valences: Map<string, number>;
}

/** Token arrays of one statement, filled by the language's tokeniser. */
interface Tokens {
  norms: string[];
  starts: number[];
  ends: number[];
  punct: boolean[];
}

const requireCjs = createRequire(import.meta.url);
let winkInstance: WinkMethods | undefined;

/** Loads wink-nlp and its English model once, on first use (never at import time). */
function loadWink(): WinkMethods {
  if (!winkInstance) {
    const winkNLP = requireCjs('wink-nlp') as (model: unknown, pipe?: string[]) => WinkMethods;
    const model: unknown = requireCjs('wink-eng-lite-web-model');
    winkInstance = winkNLP(model, ['sbd', 'negation', 'sentiment']);
  }
  return winkInstance;
}

function compileSentiment(s: SentimentLexicon, tokenize: (w: string) => string[]): CompiledSentiment {
  const words = new Map<string, number>();
  const prefixWords: Array<[string, number]> = [];
  for (const [w, v] of Object.entries(s.words)) {
    if (w.endsWith('*') && w.length > 1) prefixWords.push([foldToken(w.slice(0, -1)), v]);
    else words.set(foldToken(w), v);
  }
  const one = (list: readonly string[]) => new Set(list.flatMap((w) => tokenize(w)));
  return {
    words,
    prefixWords,
    negators: one(s.negators),
    postNegators: one(s.postNegators),
    exceptions: s.negationExceptions.map((p) => p.split(/\s+/).flatMap((w) => tokenize(w))),
    boundaries: one(s.boundaries),
    intensifiers: new Map(Object.entries(s.intensifiers).map(([w, f]) => [foldToken(w), f])),
  };
}

const DE_SUFFIXES = ['em', 'en', 'er', 'es', 'e', 's'];

/** Most distinct tokens whose valence is remembered per language (then the memo starts over). */
const VALENCE_MEMO_SIZE = 50_000;

/** {@link lexiconValence}, remembered per token: the prefix list is scanned once per distinct word. */
function valenceOf(c: CompiledLanguage, norm: string): number {
  const known = c.valences.get(norm);
  if (known !== undefined) return known;
  const v = lexiconValence(c, norm);
  if (c.valences.size >= VALENCE_MEMO_SIZE) c.valences.clear();
  c.valences.set(norm, v);
  return v;
}

function lexiconValence(c: CompiledLanguage, norm: string): number {
  const s = c.sentiment;
  const v = s.words.get(norm);
  if (v !== undefined) return v;
  if (c.stemFallback && norm.length > 3) {
    for (const suf of DE_SUFFIXES) {
      if (norm.length - suf.length >= 3 && norm.endsWith(suf)) {
        const w = s.words.get(norm.slice(0, -suf.length));
        if (w !== undefined) return w;
      }
    }
  }
  for (const [p, pv] of s.prefixWords) if (norm.startsWith(p)) return pv;
  return 0;
}

/** True when token k ends a negation scope (punctuation or a clause word like "but"/"aber"). */
function endsScope(s: CompiledSentiment, norms: readonly string[], punct: readonly boolean[], k: number): boolean {
  return punct[k] === true || s.boundaries.has(norms[k]!);
}

function isException(s: CompiledSentiment, norms: readonly string[], i: number): boolean {
  for (const ex of s.exceptions) {
    let k = 0;
    while (k < ex.length && norms[i + k] === ex[k]) k++;
    if (k === ex.length) return true;
  }
  return false;
}

/**
 * Creates a statement analyser from a lexicon (and optionally a trained statement model).
 * Builds the phrase tries and loads wink-nlp's English model here, once; `analyse` is then a
 * pure, synchronous function of its input.
 */
export function createStatementAnalyser(deps: StatementAnalyserDeps): StatementAnalyser {
  const nlp = loadWink();
  const its = nlp.its;
  const enTokenize = (word: string): string[] =>
    nlp
      .readDoc(word)
      .tokens()
      .out(its.normal)
      .map((t) => foldToken(String(t)));
  const deTokenize = (word: string): string[] => tokenizeText(word).map((t) => t.norm);
  const compile = (lex: LanguageLexicon, tokenize: (w: string) => string[], stemFallback: boolean): CompiledLanguage => ({
    trie: compilePhrases(lex.cues, tokenize, lex.ignore ?? []),
    sentiment: compileSentiment(lex.sentiment, tokenize),
    stemFallback,
    valences: new Map(),
  });
  const langs: Record<StatementLanguage, CompiledLanguage> = {
    en: compile(deps.lexicon.en, enTokenize, false),
    de: compile(deps.lexicon.de, deTokenize, true),
  };
  const hit: TrieHit = { end: -1, node: null };
  // Per-token scratch, reused across calls (analyse is synchronous); grown on demand, cleared per call.
  let covered = new Uint8Array(64);
  let valence = new Float64Array(64);
  let negated = new Uint8Array(64);

  function englishTokens(text: string): { tokens: Tokens; winkSentiment: number } {
    const doc = nlp.readDoc(text);
    const winkSentiment = Number(doc.out(its.sentiment)) || 0;
    const toks = doc.tokens();
    const values = toks.out() as string[];
    const normals = toks.out(its.normal) as string[];
    const types = toks.out(its.type) as string[];
    const n = values.length;
    const tokens: Tokens = { norms: new Array(n), starts: new Array(n), ends: new Array(n), punct: new Array(n) };
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const value = values[i]!;
      const at = text.indexOf(value, pos);
      const start = at < 0 ? pos : at;
      pos = start + value.length;
      tokens.norms[i] = foldToken(normals[i]!);
      tokens.starts[i] = start;
      tokens.ends[i] = pos;
      tokens.punct[i] = types[i] === 'punctuation';
    }
    return { tokens, winkSentiment };
  }

  function germanTokens(text: string): Tokens {
    const list = tokenizeText(text);
    const n = list.length;
    const tokens: Tokens = { norms: new Array(n), starts: new Array(n), ends: new Array(n), punct: new Array(n) };
    for (let i = 0; i < n; i++) {
      const t = list[i]!;
      tokens.norms[i] = t.norm;
      tokens.starts[i] = t.start;
      tokens.ends[i] = t.end;
      tokens.punct[i] = t.punct;
    }
    return tokens;
  }

  function analyse(text: string, opts?: AnalyseOptions): StatementAnalysis {
    const language = opts?.lang ?? detectLanguage(text);
    const c = langs[language];
    const s = c.sentiment;
    let tokens: Tokens;
    let winkSentiment = 0;
    if (language === 'en') {
      const r = englishTokens(text);
      tokens = r.tokens;
      winkSentiment = r.winkSentiment;
    } else {
      tokens = germanTokens(text);
    }
    const { norms, starts, ends, punct } = tokens;
    const n = norms.length;

    if (covered.length < n) {
      const size = Math.max(n, covered.length * 2);
      covered = new Uint8Array(size);
      valence = new Float64Array(size);
      negated = new Uint8Array(size);
    } else {
      covered.fill(0, 0, n);
      valence.fill(0, 0, n);
      negated.fill(0, 0, n);
    }

    // 1. Cue phrases: longest match, left to right, non-overlapping.
    const found: Array<{ start: number; end: number; cues: CueName[] }> = [];
    for (let i = 0; i < n; ) {
      if (!punct[i] && longestMatch(c.trie, norms, i, hit)) {
        const node = hit.node!;
        if (node.cues!.length === 0) {
          // Ignore phrase ("Liebe Grüße"): its words are neither cues, sentiment nor negators.
          for (let k = i; k < hit.end; k++) covered[k] = 3;
        } else {
          found.push({ start: i, end: hit.end, cues: node.cues! });
          for (let k = i; k < hit.end; k++) covered[k] = 2;
          covered[i] = 1;
        }
        i = hit.end;
      } else i++;
    }

    // 2. Sentiment valences (needed to aim clause-final negators).
    let anySentiment = false;
    for (let i = 0; i < n; i++) {
      if (punct[i] || covered[i] === 3) continue;
      const v = valenceOf(c, norms[i]!);
      if (v !== 0) {
        valence[i] = v;
        anySentiment = true;
      }
    }

    // 3. Negation scopes. Negators that are part of a matched phrase ("can't live without") do not negate.
    for (let i = 0; i < n; i++) {
      const w = norms[i]!;
      if (covered[i] || !s.negators.has(w) || isException(s, norms, i)) continue;
      let aimedForward = false;
      for (let j = i + 1; j <= i + PRE_SCOPE[language] && j < n && !endsScope(s, norms, punct, j); j++) {
        negated[j] = 1;
        if (j <= i + 2 && (valence[j] !== 0 || covered[j] === 1)) aimedForward = true;
      }
      if (s.postNegators.has(w) && !aimedForward) {
        for (let j = i - 1; j >= 0 && j >= i - POST_SCOPE && !endsScope(s, norms, punct, j); j--) negated[j] = 1;
      }
    }

    // 4. Cue counts after negation.
    const cues = emptyCues();
    const matches: StatementMatch[] = [];
    for (const f of found) {
      const isNeg = negated[f.start] === 1 || negated[f.end - 1] === 1;
      const start = starts[f.start]!;
      const end = ends[f.end - 1]!;
      for (const cue of f.cues) {
        if (!isNeg) cues[cue]++;
        matches.push({ cue, phrase: text.slice(start, end), start, end, negated: isNeg });
      }
    }

    // 5. Lexicon sentiment with intensifiers and negation.
    let sum = 0;
    let hits = 0;
    if (anySentiment) {
      for (let i = 0; i < n; i++) {
        let v = valence[i]!;
        if (v === 0) continue;
        for (let j = i - 1; j >= 0 && j >= i - 2 && !punct[j]; j--) {
          const f = s.intensifiers.get(norms[j]!);
          if (f !== undefined) {
            v *= f;
            break;
          }
        }
        const isNeg = negated[i] === 1;
        if (isNeg) v *= v > 0 ? NEGATE_POSITIVE : NEGATE_NEGATIVE;
        sum += v;
        hits++;
        matches.push({ cue: 'sentiment', phrase: text.slice(starts[i], ends[i]), start: starts[i]!, end: ends[i]!, negated: isNeg });
      }
      if (sum !== 0) {
        // Exclamation marks strengthen the tone (up to three).
        let bangs = 0;
        for (let i = 0; i < text.length && bangs < 3; i++) if (text.charCodeAt(i) === 33) bangs++;
        sum += Math.sign(sum) * 0.3 * bangs;
      }
    }
    const lexScore = sum / Math.sqrt(sum * sum + ALPHA);
    let sentiment: number;
    if (language === 'de') sentiment = lexScore;
    else if (hits === 0) sentiment = winkSentiment;
    else sentiment = winkSentiment === 0 ? lexScore : (winkSentiment + lexScore) / 2;
    sentiment = withCueValence(sentiment, cues);
    sentiment = Math.max(-1, Math.min(1, Math.round(sentiment * 1e4) / 1e4));

    matches.sort((a, b) => a.start - b.start || a.end - b.end);
    const analysis: StatementAnalysis = { language, sentiment, cues, matches };
    if (!deps.model) return analysis;
    const p = deps.model.predict(text);
    return { ...analysis, predictedLabel: p.label, labelProbabilities: p.probabilities };
  }

  return { analyse };
}

/** How each (non-negated) relationship cue colours the statement's tone towards the brand. */
const CUE_VALENCE: Readonly<Partial<Record<CueName, number>>> = {
  love: 0.6,
  advocacy: 0.6,
  nostalgia: 0.3,
  family: 0.3,
  excitement: 0.3,
  partnership: 0.15,
  switching: -0.6,
  entitlement: -0.3,
};
/** {@link CUE_VALENCE} as entries, in the same order (not rebuilt per statement). */
const CUE_VALENCE_ENTRIES = Object.entries(CUE_VALENCE) as ReadonlyArray<readonly [CueName, number]>;

/**
 * Word-level sentiment misreads devotion ("I can't live without it" reads as negative to a word list).
 * The cues are negation-aware phrases about the relationship itself, so when they point the other way
 * they outweigh the word score; when they agree, they only reinforce it.
 */
export function withCueValence(sentiment: number, cues: Readonly<Record<CueName, number>>): number {
  let v = 0;
  for (const [cue, w] of CUE_VALENCE_ENTRIES) v += w * (cues[cue] ?? 0);
  if (v === 0) return sentiment;
  const cueScore = Math.tanh(v);
  return Math.sign(cueScore) === Math.sign(sentiment) ? (sentiment + cueScore) / 2 : 0.3 * sentiment + 0.7 * cueScore;
}
