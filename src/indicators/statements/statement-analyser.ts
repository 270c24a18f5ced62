import { compilePhrases, longestMatch, type TrieHit, type TrieNode } from './phrase-trie';
import { detectLanguage } from './detect-language';
import type { LanguageLexicon, SentimentLexicon, StatementLexicon } from './statement-lexicon';
import { foldToken, tokenizeText, tokenizeTextColumns } from './text-tokens';
import { createWinkPipeline, loadWinkPipeline, WINK_TOKEN_SIZE } from './wink-pipeline';
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
  /**
   * Unknown English words the language model's lexeme cache may learn before it is loaded afresh (default
   * 250,000, some 30 MB): wink-nlp adds every unknown word to the cache for good, so a server reading
   * free text for months would otherwise grow without bound. Results do not depend on it.
   */
  readonly maxLearnedWords?: number;
  /** Called after the English model was loaded afresh (for a log line). */
  readonly onModelReload?: (learnedWords: number) => void;
}

/** Default of {@link StatementAnalyserDeps.maxLearnedWords}. */
const MAX_LEARNED_WORDS = 250_000;

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
  /** What the lexicon says about each token seen so far (a pure function of the lexicon: see infoOf). */
  readonly infos: Map<string, TokenInfo>;
}

/** Everything the analysis looks up per token, resolved once per distinct (folded) token. */
interface TokenInfo {
  /** The phrase trie has an edge for it at the root: a phrase may start here. */
  readonly startsPhrase: boolean;
  /** Lexicon valence (0 = none). */
  readonly valence: number;
  readonly negator: boolean;
  readonly postNegator: boolean;
  /** A clause word that ends a negation scope ("but", "aber"). */
  readonly boundary: boolean;
  /** Multiplier for a following sentiment word, when it is an intensifier. */
  readonly intensifier: number | undefined;
}

/** Token arrays of one statement, filled by the language's tokeniser. */
interface Tokens {
  norms: string[];
  infos: TokenInfo[];
  starts: number[];
  ends: number[];
  punct: boolean[];
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

/** A wink normal, folded, with its lexicon facts. */
interface EnglishNormal {
  readonly norm: string;
  readonly info: TokenInfo;
}

/** Wink lexeme indices remembered in arrays (the English model has ~88,000; unknown words are added after them). */
const EN_ID_SLOTS = 1 << 17;

/** Most distinct tokens whose lexicon facts are remembered per language (then the memo starts over). */
const INFO_MEMO_SIZE = 50_000;

/** The lexicon's facts about one token, remembered per token: tries, sets and the prefix list are consulted once per distinct word. */
function infoOf(c: CompiledLanguage, norm: string): TokenInfo {
  const known = c.infos.get(norm);
  if (known !== undefined) return known;
  const s = c.sentiment;
  const info: TokenInfo = {
    startsPhrase: startsPhrase(c.trie, norm),
    valence: lexiconValence(c, norm),
    negator: s.negators.has(norm),
    postNegator: s.postNegators.has(norm),
    boundary: s.boundaries.has(norm),
    intensifier: s.intensifiers.get(norm),
  };
  if (c.infos.size >= INFO_MEMO_SIZE) c.infos.clear();
  c.infos.set(norm, info);
  return info;
}

/** True when the trie's root has an exact edge for `norm` or a prefix edge `norm` starts with (what longestMatch needs to find anything). */
function startsPhrase(root: TrieNode, norm: string): boolean {
  if (root.exact?.has(norm)) return true;
  return root.prefix?.some(([p]) => norm.startsWith(p)) ?? false;
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
function endsScope(infos: readonly TokenInfo[], punct: readonly boolean[], k: number): boolean {
  return punct[k] === true || infos[k]!.boundary;
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
  // wink-nlp's tokens and document sentiment for English, without its Doc API (see wink-pipeline).
  let wink = loadWinkPipeline();
  let winkCache = wink.cache;
  const maxLearned = deps.maxLearnedWords ?? MAX_LEARNED_WORDS;
  let learnedFrom = wink.lexemeCount();
  const enTokenize = (word: string): string[] => wink.read(word, false).normals.map((id) => foldToken(String(winkCache.value(id))));
  const deTokenize = (word: string): string[] => tokenizeText(word).map((t) => t.norm);
  const compile = (lex: LanguageLexicon, tokenize: (w: string) => string[], stemFallback: boolean): CompiledLanguage => ({
    trie: compilePhrases(lex.cues, tokenize, lex.ignore ?? []),
    sentiment: compileSentiment(lex.sentiment, tokenize),
    stemFallback,
    infos: new Map(),
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

  // Per wink lexeme index (fixed once assigned: the cache only grows): its folded normal with the lexicon's
  // facts, and whether it is punctuation. Array slots instead of hashing the token text per occurrence;
  // indices past the arrays (a cache grown very large) are resolved directly.
  const enNormById: Array<EnglishNormal | undefined> = new Array<EnglishNormal | undefined>(EN_ID_SLOTS).fill(undefined);
  const enPunctById = new Uint8Array(EN_ID_SLOTS); // 0 unknown, 1 no, 2 punctuation

  function englishNormal(id: number): EnglishNormal {
    let e = id < EN_ID_SLOTS ? enNormById[id] : undefined;
    if (e === undefined) {
      const norm = foldToken(winkCache.value(id));
      e = { norm, info: infoOf(langs.en, norm) };
      if (id < EN_ID_SLOTS) enNormById[id] = e;
    }
    return e;
  }

  function isPunctuation(lexeme: number): boolean {
    const known = lexeme < EN_ID_SLOTS ? enPunctById[lexeme]! : 0;
    if (known !== 0) return known === 2;
    const punct = winkCache.property(lexeme, 'tokenType') === 'punctuation';
    if (lexeme < EN_ID_SLOTS) enPunctById[lexeme] = punct ? 2 : 1;
    return punct;
  }

  /** A fresh English model when the cache learned too many words; what is remembered per lexeme index goes with it. */
  function boundLexemes(): void {
    const learned = wink.lexemeCount() - learnedFrom;
    if (learned <= maxLearned) return;
    wink = createWinkPipeline();
    winkCache = wink.cache;
    learnedFrom = wink.lexemeCount();
    enNormById.fill(undefined);
    enPunctById.fill(0);
    deps.onModelReload?.(learned);
  }

  function englishTokens(text: string): { tokens: Tokens; winkSentiment: number } {
    boundLexemes();
    const doc = wink.read(text, true);
    const winkSentiment = Number(doc.sentiment) || 0;
    const { raw, normals } = doc;
    const n = doc.count;
    const tokens: Tokens = { norms: new Array(n), infos: new Array(n), starts: new Array(n), ends: new Array(n), punct: new Array(n) };
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const lexeme = raw[i * WINK_TOKEN_SIZE]!;
      const value = winkCache.value(lexeme);
      const at = text.indexOf(value, pos);
      const start = at < 0 ? pos : at;
      pos = start + value.length;
      const e = englishNormal(normals[i]!);
      tokens.norms[i] = e.norm;
      tokens.infos[i] = e.info;
      tokens.starts[i] = start;
      tokens.ends[i] = pos;
      tokens.punct[i] = isPunctuation(lexeme);
    }
    return { tokens, winkSentiment };
  }

  function germanTokens(text: string): Tokens {
    const cols = tokenizeTextColumns(text);
    const n = cols.norms.length;
    const infos: TokenInfo[] = new Array(n);
    const de = langs.de;
    for (let i = 0; i < n; i++) infos[i] = infoOf(de, cols.norms[i]!);
    return { norms: cols.norms, infos, starts: cols.starts, ends: cols.ends, punct: cols.punct };
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
    const { norms, infos, starts, ends, punct } = tokens;
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
      if (!punct[i] && infos[i]!.startsPhrase && longestMatch(c.trie, norms, i, hit)) {
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
      const v = infos[i]!.valence;
      if (v !== 0) {
        valence[i] = v;
        anySentiment = true;
      }
    }

    // 3. Negation scopes. Negators that are part of a matched phrase ("can't live without") do not negate.
    for (let i = 0; i < n; i++) {
      const info = infos[i]!;
      if (covered[i] || !info.negator || isException(s, norms, i)) continue;
      let aimedForward = false;
      for (let j = i + 1; j <= i + PRE_SCOPE[language] && j < n && !endsScope(infos, punct, j); j++) {
        negated[j] = 1;
        if (j <= i + 2 && (valence[j] !== 0 || covered[j] === 1)) aimedForward = true;
      }
      if (info.postNegator && !aimedForward) {
        for (let j = i - 1; j >= 0 && j >= i - POST_SCOPE && !endsScope(infos, punct, j); j--) negated[j] = 1;
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
          const f = infos[j]!.intensifier;
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
const CUE_VALENCE_NAMES = CUE_VALENCE_ENTRIES.map(([cue]) => cue);
const CUE_VALENCE_WEIGHTS = CUE_VALENCE_ENTRIES.map(([, w]) => w);

/**
 * Word-level sentiment misreads devotion ("I can't live without it" reads as negative to a word list).
 * The cues are negation-aware phrases about the relationship itself, so when they point the other way
 * they outweigh the word score; when they agree, they only reinforce it.
 */
export function withCueValence(sentiment: number, cues: Readonly<Record<CueName, number>>): number {
  let v = 0;
  // Same terms in the same order as over CUE_VALENCE_ENTRIES (so the same sum), without destructuring per entry.
  for (let k = 0; k < CUE_VALENCE_NAMES.length; k++) v += CUE_VALENCE_WEIGHTS[k]! * (cues[CUE_VALENCE_NAMES[k]!] ?? 0);
  if (v === 0) return sentiment;
  const cueScore = Math.tanh(v);
  return Math.sign(cueScore) === Math.sign(sentiment) ? (sentiment + cueScore) / 2 : 0.3 * sentiment + 0.7 * cueScore;
}
