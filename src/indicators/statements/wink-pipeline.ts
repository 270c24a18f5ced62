/**
 * A lean replica of wink-nlp's `readDoc` for the pipe ['sbd', 'negation', 'sentiment'], built from
 * wink-nlp's own modules (tokenizer, lexeme cache, the model's transformer and setters) in the same order,
 * so tokens and the document sentiment are exactly what `winkNLP(model, pipe).readDoc(text)` gives.
 * Where the time went, and what replaces it:
 *  - the Doc API object and its `out()` collections: the analyser reads the token arrays directly;
 *  - loading the NER and POS models: skipped (not in the pipe; loading them never adds to the cache);
 *  - tokenising every chunk between spaces again: each chunk's tokens are remembered while the lexeme
 *    cache cannot make them differ (see tokenizeRemembered);
 *  - the automata (`recognize`): the same algorithm over array-indexed states (compileRecognizer), the
 *    SBD transformer's per-token property reads remembered per lexeme (rememberProperties);
 *  - sentence detection, negation and sentiment when no token can start a sentiment pattern (the
 *    sentiment automaton then matches nothing, and sentences and negation flags only feed sentiment:
 *    the score is 0 either way); the negation automaton when no token can start a negation.
 * Pinned to wink-nlp 2.x internals (package.json: ^2.4.0) and the machines of wink-eng-lite-web-model;
 * test/statements/wink-pipeline.test.ts compares it with wink-nlp's public API, and bench/statements-golden.ts
 * hashes the analyser's output to compare with an earlier version.
 */
import { createRequire } from 'node:module';

/** wink-nlp's lexeme cache (src/cache.js), as far as it is used here. */
export interface WinkCache {
  /** The string of a lexeme (or normal) index. */
  value(index: number): string;
  property(index: number, name: string): unknown;
  lookup(text: string): number[] | null;
  /** Index of a lexeme's normal. */
  normal(index: number): number;
  /** Index of a contraction expansion's normal (from the token's second number). */
  nox(binaryWord: number): number;
}

/** One tokenised document: raw token quadruples, normal ids, the document sentiment. */
export interface WinkTokens {
  /** wink-nlp's raw tokens: 4 numbers per token (lexeme index first). */
  readonly raw: readonly number[];
  /** Per token, the lexeme index of its normal (what the automata see). */
  readonly normals: readonly number[];
  readonly count: number;
  /** wink-nlp's document sentiment (`doc.out(its.sentiment)`). */
  readonly sentiment: number;
}

/** The lean pipeline: `read` is `readDoc` without the Doc API; `cache` decodes the indices. */
export interface WinkPipeline {
  readonly cache: WinkCache;
  read(text: string, withSentiment: boolean): WinkTokens;
  /** Lexemes in the cache: the model's (~88,000) plus every unknown word read so far (the cache only grows). */
  lexemeCount(): number;
}

type Fsm = {
  importJSON(json: string): void;
  setPatternSwap(px: unknown): void;
  recognize(tokens: readonly number[], transform?: unknown, param?: unknown): unknown[];
};
type Recognize = (tokens: readonly number[], transform?: Transform, param?: unknown) => unknown[];
type Transform = (token: number, cache: WinkCache, param: unknown, index: number) => number;

/** wink-nlp's automaton constants (src/automaton.js) for automata built with a cache. */
const EOS_TOKEN = 2070000;
const OTHERWISE = 2070003;
/** Rows with at least this many transitions get a dense table (see compileRecognizer). */
const DENSE_ROW_MIN = 32;
/** Largest event index a dense table covers (the lexicon's indices are below it; hint codes are above). */
const DENSE_KEY_LIMIT = 1_000_000;

/**
 * wink-nlp's `recognize` (src/automaton.js, greedy longest match with "otherwise" fallbacks), step for
 * step, over the same exported machine: states in arrays, transitions as typed-array tables or short
 * event lists instead of objects with numeric string keys, which is what makes it cheaper. Covers what
 * readDoc uses here — no pattern swap, no detection callback; returns null for a machine it cannot run
 * the same way (then wink's own runs).
 */
export function compileRecognizer(json: string, cache: WinkCache): Recognize | null {
  const m = JSON.parse(json) as [number, number, Record<string, Record<string, number>>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  const [, lastUsedState, fsm, terminalStates, markedStates, customProperties] = m;
  const isIndex = (k: string): boolean => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) <= 0x7fffffff;
  if (Object.keys(customProperties).length > 0) return null;
  const size = lastUsedState + 1;
  const rows: Array<Map<number, number> | undefined> = new Array(size).fill(undefined);
  const otherwiseOf = new Int32Array(size);
  const names: Array<string | undefined> = new Array(size).fill(undefined);
  const marks: Array<readonly [number, number] | undefined> = new Array(size).fill(undefined);
  for (const [state, row] of Object.entries(fsm)) {
    if (!isIndex(state) || Number(state) >= size) return null;
    const map = new Map<number, number>();
    for (const [ev, next] of Object.entries(row)) {
      if (!isIndex(ev) || !Number.isInteger(next) || next < 0 || next >= size) return null;
      map.set(Number(ev), next);
    }
    rows[Number(state)] = map;
    otherwiseOf[Number(state)] = map.get(OTHERWISE) ?? 0;
  }
  for (const [state, name] of Object.entries(terminalStates)) {
    // `terminalStates[ns]` is tested for truthiness: every name must be a non-empty string.
    if (!isIndex(state) || Number(state) >= size || typeof name !== 'string' || name === '') return null;
    names[Number(state)] = name;
  }
  for (const [state, mark] of Object.entries(markedStates)) {
    if (!isIndex(state) || Number(state) >= size || !Array.isArray(mark) || mark.length !== 2 || !mark.every(Number.isInteger)) return null;
    marks[Number(state)] = [mark[0] as number, mark[1] as number];
  }
  // Large rows (the sentiment machine's root has thousands of words) as a dense table over the lexicon's
  // indices (larger events stay in the Map); small rows as a list of events scanned in order. Either way
  // an array read instead of a hash lookup per token. 0 = no transition, the same as `|| root`.
  const dense: Array<Uint16Array | Int32Array | undefined> = new Array(size).fill(undefined);
  const smallEvents: Array<Int32Array | undefined> = new Array(size).fill(undefined);
  const smallNext: Array<Int32Array | undefined> = new Array(size).fill(undefined);
  rows.forEach((row, state) => {
    if (!row) return;
    if (row.size < DENSE_ROW_MIN) {
      smallEvents[state] = Int32Array.from(row.keys());
      smallNext[state] = Int32Array.from(row.values());
      return;
    }
    let max = -1;
    for (const ev of row.keys()) if (ev < DENSE_KEY_LIMIT && ev > max) max = ev;
    const table = size <= 0xffff ? new Uint16Array(max + 1) : new Int32Array(max + 1);
    for (const [ev, next] of row) if (ev <= max) table[ev] = next;
    dense[state] = table;
  });
  const keyLF = cache.lookup('\n')?.[0];
  if (keyLF === undefined) return null;
  const ROOT = 0;

  function push(patterns: unknown[], match: [number, number, number | string]): void {
    const m0 = match[2] as number;
    if (names[m0] === '0') return;
    const mark = marks[m0];
    if (mark) {
      match[0] += mark[0];
      match[1] -= mark[1];
    }
    match[2] = names[m0]!;
    patterns.push(match);
  }

  return function recognize(tokens, transform, param) {
    const length = tokens.length;
    const patterns: unknown[] = [];
    let first = 0;
    let state = ROOT;
    let ns = ROOT;
    let lastOtherwiseIndex = 0;
    let lastOtherwiseState = 0;
    let t: number;
    for (let i = 0; i <= length; i += 1) {
      for (let j = i; j <= length; j += 1) {
        t = j === length ? EOS_TOKEN : tokens[j]!;
        if (t === keyLF) continue;
        if (transform && j < length) t = transform(t, cache, param, j);
        if (typeof t !== 'number' || !Number.isInteger(t)) {
          ns = fsm[state]![t as never] || ROOT; // as wink does (a transformer returning something odd)
        } else {
          const table = dense[state];
          if (table !== undefined) ns = (t < table.length ? table[t]! : rows[state]!.get(t)) || ROOT;
          else {
            const events = smallEvents[state]!;
            ns = ROOT;
            for (let k = 0; k < events.length; k++) {
              if (events[k] === t) {
                ns = smallNext[state]![k]!;
                break;
              }
            }
          }
        }
        if (!state && ns) first = j;
        if (names[ns] !== undefined) {
          push(patterns, [first, j, ns]);
          i = j;
          j = length + 100;
          ns = ROOT;
          lastOtherwiseState = ROOT;
        } else if (ns === ROOT) {
          if (lastOtherwiseState) {
            push(patterns, [first, lastOtherwiseIndex, lastOtherwiseState]);
            i = lastOtherwiseIndex;
            j = length + 100;
            ns = ROOT;
            lastOtherwiseState = ROOT;
          } else {
            j = length + 100;
          }
        }
        state = ns;
        if (otherwiseOf[state]) {
          lastOtherwiseIndex = j;
          lastOtherwiseState = otherwiseOf[state]!;
        }
      }
    }
    return patterns;
  };
}
type Rdd = Record<string, unknown> & { tokens: number[]; sentences: unknown[]; document: number[]; numOfTokens: number; numOfSentences: number };
type Setter = (px: unknown, rdd: Rdd, constants?: unknown, helper?: unknown) => void;
interface MachineModel {
  machines: string[];
  setter: Setter;
  transformers?: unknown[];
}
interface WinkModel {
  core(): { trex: unknown; tcat: { hash: unknown }; preserve: unknown; features: { lexeme: { list: unknown[] } } };
  featureFn: unknown;
  sbd(): MachineModel;
  negation(): MachineModel;
  sa(): MachineModel;
}

const requireCjs = createRequire(import.meta.url);
let instance: WinkPipeline | undefined;

/** The tokenizer's splitter (the model's trex helpers) that tokenizeRemembered scans by hand. */
const SPLITTER_SOURCE = '([ \\u00a0\\u2002-\\u2005\\u2009\\u200a\\u202f\\u205f]+|[\\n\\r\\t]+)';

/** A UTF-16 unit of the splitter's space class: ' ' or one of NBSP's. */
function isSpaceUnit(c: number): boolean {
  return c === 32 || c === 0xa0 || (c >= 0x2002 && c <= 0x2005) || c === 0x2009 || c === 0x200a || c === 0x202f || c === 0x205f;
}

/** A UTF-16 unit of the splitter's line class. */
function isBreakUnit(c: number): boolean {
  return c === 10 || c === 13 || c === 9;
}

/** Most lexemes added since a chunk was remembered that are checked against it (else it is tokenised again). */
const MAX_REVALIDATE = 64;
/** Most chunks remembered per count of preceding spaces (then the memo starts over). */
const CHUNK_MEMO_SIZE = 50_000;

/** A chunk's tokens (4 numbers each) and their normals, valid while the lexeme cache has `version` lexemes. */
interface RememberedChunk {
  /** Lexeme count the tokens are known to be valid for (moved forward when newer lexemes cannot matter). */
  version: number;
  readonly tokens: readonly number[];
  readonly normals: readonly number[];
  /** START_SENTIMENT / START_NEGATION when a normal can start such a pattern. */
  readonly starts: number;
}

const START_SENTIMENT = 1;
const START_NEGATION = 2;

/** Lexeme indices whose remembered properties sit in arrays (the English model has ~88,000 lexemes). */
const PROPERTY_SLOTS = 1 << 17;
const UNSET: unique symbol = Symbol('unset');

/**
 * The cache with `property(index, name)` remembered for two property names: a lexeme's properties never
 * change once it has an index (the lexicon is fixed, an unknown word's features are written when it is
 * added). Values are kept as returned (the transformer tests them with || and ===).
 */
function rememberProperties(cache: WinkCache, first: string, second: string): WinkCache {
  const firstSlots = new Array<unknown>(PROPERTY_SLOTS).fill(UNSET);
  const secondSlots = new Array<unknown>(PROPERTY_SLOTS).fill(UNSET);
  return {
    value: (index) => cache.value(index),
    lookup: (text) => cache.lookup(text),
    normal: (index) => cache.normal(index),
    nox: (binaryWord) => cache.nox(binaryWord),
    property(index, name) {
      const slots = name === first ? firstSlots : name === second ? secondSlots : undefined;
      if (slots === undefined || !(index >= 0 && index < PROPERTY_SLOTS && Number.isInteger(index))) return cache.property(index, name);
      let v = slots[index];
      if (v === UNSET) slots[index] = v = cache.property(index, name);
      return v;
    },
  };
}

/**
 * Tokens a machine can start a pattern with: its root state's transitions. A run without any of them
 * matches nothing (recognize finds no pattern, the setters then change nothing that is read). Null when
 * that does not hold: the root has an "otherwise" fallback or an end-of-text transition.
 */
function startTokens(json: string): Set<number> | null {
  const root = (JSON.parse(json) as [number, number, Record<string, Record<string, number>>])[2]['0'] ?? {};
  if (root[String(OTHERWISE)] || root[String(EOS_TOKEN)] !== undefined) return null;
  return new Set(Object.keys(root).filter((k) => k !== String(OTHERWISE)).map(Number));
}

/** Placeholder for document fields set later or never used here (never written to). */
const EMPTY_DOCUMENT: number[] = [];

/** The token size of wink-nlp's raw token array (constants.tkSize). */
export const WINK_TOKEN_SIZE = 4;

/** Loads the English model and builds the pipeline once (never at import time). */
export function loadWinkPipeline(): WinkPipeline {
  instance ??= createWinkPipeline();
  return instance;
}

/** A pipeline of its own, with a fresh lexeme cache (loads the model again: ~40 ms). */
export function createWinkPipeline(): WinkPipeline {
  const w = (file: string): unknown => requireCjs(`wink-nlp/src/${file}`);
  const Cache = w('cache.js') as (model: unknown, featureFn: unknown) => WinkCache;
  const compileTRex = w('compile-trex.js') as (trex: unknown) => unknown;
  const tokenizer = w('tokenizer.js') as (trex: unknown, cats: unknown, preserve: unknown) => (doc: unknown, text: string) => void;
  const fsm = w('automaton.js') as (cache: WinkCache) => Fsm;
  const DocDataWrapper = w('dd-wrapper.js') as (rdd: Rdd) => { clean(): void };
  const constants = w('constants.js') as { tkSize: number };
  const search = w('search.js');
  const locate = w('locate.js');
  if (constants.tkSize !== WINK_TOKEN_SIZE) throw new Error(`unexpected wink-nlp token size ${constants.tkSize}`);
  const theModel = requireCjs('wink-eng-lite-web-model') as WinkModel;

  // As wink-nlp's load(), in the same order, without NER/POS (not in the pipe).
  const model = theModel.core();
  const cache = Cache(model, theModel.featureFn);
  const trex = compileTRex(model.trex) as { helpers: { splitter: RegExp } };
  const tokenize = tokenizer(trex, model.tcat.hash, model.preserve);
  const splitter = trex.helpers.splitter;
  const scanChunks = splitter.source === SPLITTER_SOURCE && splitter.flags === '';
  const lexemes = model.features.lexeme.list;
  const sbdModel = theModel.sbd();
  const sbdAutomata = sbdModel.machines.map((m) => {
    const a = fsm(cache);
    a.importJSON(m);
    return a;
  });
  const sbdTransformers = (sbdModel.transformers ?? []) as Array<Transform | undefined>;
  const negModel = theModel.negation();
  const negAutomaton = fsm(cache);
  negAutomaton.importJSON(negModel.machines[0]!);
  const saModel = theModel.sa();
  const saAutomaton = fsm(cache);
  saAutomaton.importJSON(saModel.machines[0]!);
  // The faster recognizers where they run the machine exactly as wink does (one SBD machine: no pattern swap).
  // The SBD transformer reads lexeme properties of every token: remembered per lexeme (see rememberProperties).
  const fastSbd = sbdAutomata.length === 1 ? compileRecognizer(sbdModel.machines[0]!, rememberProperties(cache, 'sbdHint', 'isAbbrev')) : null;
  const recognizeNeg = compileRecognizer(negModel.machines[0]!, cache) ?? negAutomaton.recognize.bind(negAutomaton);
  const recognizeSa = compileRecognizer(saModel.machines[0]!, cache) ?? saAutomaton.recognize.bind(saAutomaton);
  const saStarts = startTokens(saModel.machines[0]!);
  const negStarts = startTokens(negModel.machines[0]!);
  const currPipe = Object.assign(Object.create(null) as Record<string, boolean>, { sbd: true, negation: true, sentiment: true });

  // Tokenisation per chunk (what the tokenizer's splitter leaves between spaces), remembered: see tokenizeRemembered.
  const chunks: [Map<string, RememberedChunk>, Map<string, RememberedChunk>] = [new Map(), new Map()];

  /**
   * Whether a chunk remembered at an older cache version tokenises the same now. Tokenising a chunk looks
   * up only substrings of it (the chunk itself, the pieces the tokenizer splits off and rebuilds), and a
   * lookup can only change by an added lexeme (entries are never removed or changed). So when none of the
   * lexemes added since is a substring of the chunk, the tokens stand (and the version moves forward).
   * After many additions it is cheaper to tokenise again.
   */
  function stillValid(known: RememberedChunk, chunk: string, version: number): boolean {
    if (version - known.version > MAX_REVALIDATE) return false;
    for (let k = known.version; k < version; k++) if (chunk.includes(String(lexemes[k]))) return false;
    known.version = version;
    return true;
  }

  /** As tokens-mappers' mapRawTokens2UIdOfNormal for the tokens from `from` on, appended to `normals`; returns their START_* flags. */
  function normalsOf(tokens: readonly number[], from: number, normals: number[]): number {
    let flags = 0;
    for (let i = from; i < tokens.length; i += WINK_TOKEN_SIZE) {
      const id = tokens[i + 1]! > 65535 ? cache.nox(tokens[i + 1]!) : cache.normal(tokens[i]!);
      normals.push(id);
      if (saStarts === null || saStarts.has(id)) flags |= START_SENTIMENT;
      if (negStarts === null || negStarts.has(id)) flags |= START_NEGATION;
    }
    return flags;
  }

  /**
   * wink-nlp's tokenize (src/tokenizer.js): the text is split on space runs and newlines, and each other
   * chunk is tokenised on its own, given only the spaces before it (a count, or the run itself when it
   * holds a non-breaking space) and the lexeme cache. So each chunk is handed to wink's tokenizer with
   * the space run before it — the same call, the same tokens — and the tokens it produced (with their
   * normals, as mapRawTokens2UIdOfNormal maps them) are remembered for the chunk with 0 or 1 plain space
   * before it. A chunk whose own tokenisation adds a lexeme is not remembered (the lexeme list only grows,
   * and nothing else in the cache changes without it); a remembered one is replayed while no lexeme was
   * added since, or none added since can matter to it (stillValid). Replayed, the tokens are the same
   * numbers wink would push. Returns START_* flags: which automata can match anything.
   */
  function tokenizeRemembered(rdd: Rdd, normals: number[], text: string): number {
    const tokens = rdd.tokens;
    let wrapped: { clean(): void } | undefined;
    let starts = 0;
    // The space run before the current chunk: its offsets (sliced only when the chunk is tokenised).
    let spaceFrom = 0;
    let spaceTo = 0;
    let plain = true;

    const chunk = (t: string): void => {
      const precedingSpaces = spaceTo - spaceFrom;
      const memo = plain && precedingSpaces <= 1 ? chunks[precedingSpaces]! : undefined;
      const version = lexemes.length;
      const known = memo?.get(t);
      if (known !== undefined && (known.version === version || stillValid(known, t, version))) {
        for (let k = 0; k < known.tokens.length; k++) tokens.push(known.tokens[k]!);
        for (let k = 0; k < known.normals.length; k++) normals.push(known.normals[k]!);
        starts |= known.starts;
      } else {
        const from = tokens.length;
        const fromNormal = normals.length;
        if (wrapped === undefined) {
          // Only the tokenizer writes non-breaking spaces (nothing here reads them): a fresh store per document.
          rdd['nonBreakingSpaces'] = Object.create(null) as Record<number, string>;
          wrapped = DocDataWrapper(rdd);
        }
        tokenize(wrapped, text.slice(spaceFrom, spaceTo) + t);
        const chunkStarts = normalsOf(tokens, from, normals);
        starts |= chunkStarts;
        if (memo && lexemes.length === version) {
          if (memo.size >= CHUNK_MEMO_SIZE) memo.clear();
          memo.set(t, { version, tokens: tokens.slice(from), normals: normals.slice(fromNormal), starts: chunkStarts });
        }
      }
      spaceFrom = spaceTo = 0;
      plain = true;
    };

    if (scanChunks) {
      // text.split(splitter) by hand: runs of space units, runs of line breaks / tabs (a chunk), the rest.
      const length = text.length;
      for (let i = 0; i < length; ) {
        const c = text.charCodeAt(i);
        let j = i + 1;
        if (isSpaceUnit(c)) {
          let nbsp = c !== 32;
          for (let d: number; j < length && isSpaceUnit((d = text.charCodeAt(j))); j++) if (d !== 32) nbsp = true;
          // As wink: a run starting with ' ' or holding a non-breaking space sets the spaces before the next chunk.
          spaceFrom = i;
          spaceTo = j;
          plain = !nbsp;
        } else if (isBreakUnit(c)) {
          while (j < length && isBreakUnit(text.charCodeAt(j))) j++;
          chunk(text.slice(i, j));
        } else {
          for (let d: number; j < length && !isSpaceUnit((d = text.charCodeAt(j))) && !isBreakUnit(d); j++);
          chunk(text.slice(i, j));
        }
        i = j;
      }
    } else {
      // Another splitter than the one scanned above: wink's tokenizer on the whole text, nothing remembered.
      rdd['nonBreakingSpaces'] = Object.create(null) as Record<number, string>;
      wrapped = DocDataWrapper(rdd);
      tokenize(wrapped, text);
      starts = normalsOf(tokens, 0, normals);
    }
    wrapped?.clean();
    return starts;
  }

  function read(text: string, withSentiment: boolean): WinkTokens {
    // The same fields as readDoc's document data, as a plain object (fixed shape, fast property access).
    const rdd: Rdd = {
      cache,
      wordVectors: null,
      tokens: [],
      sentences: [],
      markings: EMPTY_DOCUMENT,
      currPipe,
      nonBreakingSpaces: null,
      numOfTokens: 0,
      numOfSentences: 0,
      document: EMPTY_DOCUMENT,
      entities: EMPTY_DOCUMENT,
    };
    const normals: number[] = [];
    const starts = tokenizeRemembered(rdd, normals, text);
    rdd.numOfTokens = rdd.tokens.length / WINK_TOKEN_SIZE;
    rdd.document = [0, rdd.numOfTokens - 1, 0, 0];
    let sentiment = 0;
    // An end-of-text transition at a machine's root (startTokens null) would need no token at all.
    const sa = withSentiment && (saStarts === null || (starts & START_SENTIMENT) !== 0);
    const neg = negStarts === null || (starts & START_NEGATION) !== 0;
    if (sa) {
      let px: unknown = null;
      if (fastSbd) px = fastSbd(normals, sbdTransformers[0], rdd.tokens);
      else {
        for (let i = 0; i < sbdAutomata.length; i++) {
          sbdAutomata[i]!.setPatternSwap(px);
          px = sbdAutomata[i]!.recognize(normals, sbdTransformers[i], rdd.tokens);
        }
      }
      sbdModel.setter(px, rdd);
      rdd.numOfSentences = rdd.sentences.length;
      rdd['entities'] = [];
      negModel.setter(neg ? recognizeNeg(normals) : [], rdd, constants, search);
      saModel.setter(recognizeSa(normals), rdd, constants, locate);
      sentiment = rdd.document[3]!;
    }
    return { raw: rdd.tokens, normals, count: rdd.numOfTokens, sentiment };
  }

  return { cache, read, lexemeCount: () => lexemes.length };
}
