/**
 * Cheap Unicode-aware tokenisation shared by the German analyser, language detection and the
 * statement classifier. English analysis uses wink-nlp's tokens instead (see statement-analyser).
 */

/** Words (with inner hyphens/apostrophes), emoticon-ish symbols, and single punctuation marks. */
const TOKEN_RE = /[\p{L}\p{M}\p{N}]+(?:['’\-][\p{L}\p{M}\p{N}]+)*|[.!?;:,()"„“”]|[^\s\p{L}\p{M}\p{N}]+/gu;

/** First character of a word token. */
const WORD_START = /[\p{L}\p{M}\p{N}]/u;

/** Punctuation that ends a negation scope. */
const BOUNDARY_PUNCT = /^[.!?;:,()"„“”\-–—]+$/;

/**
 * Lower-cases and folds German umlauts and ß to their ASCII spellings (ä→ae, ö→oe, ü→ue, ß→ss),
 * and the typographic apostrophe to ', so "enttäuscht" and "enttaeuscht" meet.
 */
export function foldToken(word: string): string {
  const lower = word.toLowerCase();
  // Fast path: most tokens are plain ASCII (a char loop: cheaper than a regex per token).
  let ascii = true;
  for (let i = 0; i < lower.length; i++) {
    if (lower.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return lower;
  return lower
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .replace(/’/g, "'")
    .replace(/[àáâ]/g, 'a')
    .replace(/[èéê]/g, 'e');
}

/** A token with its position in the source text. */
export interface TextToken {
  /** Folded, lower-case form used for lookups. */
  readonly norm: string;
  readonly start: number;
  readonly end: number;
  /** Punctuation that ends negation scope. */
  readonly punct: boolean;
}

/** Splits text into folded tokens with offsets. */
export function tokenizeText(text: string): TextToken[] {
  const out: TextToken[] = [];
  scanTokens(text, (norm, start, end, punct) => out.push({ norm, start, end, punct }));
  return out;
}

/** The tokens of {@link tokenizeText} as parallel columns (no object per token). */
export interface TokenColumns {
  norms: string[];
  starts: number[];
  ends: number[];
  punct: boolean[];
}

/** {@link tokenizeText} into columns: the same tokens, for callers that read them by index. */
export function tokenizeTextColumns(text: string): TokenColumns {
  const cols: TokenColumns = { norms: [], starts: [], ends: [], punct: [] };
  scanTokens(text, (norm, start, end, punct) => {
    cols.norms.push(norm);
    cols.starts.push(start);
    cols.ends.push(end);
    cols.punct.push(punct);
  });
  return cols;
}

function scanTokens(text: string, emit: (norm: string, start: number, end: number, punct: boolean) => void): void {
  TOKEN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN_RE.exec(text)) !== null) {
    const raw = m[0];
    // Words start with a letter or digit and are never boundary punctuation: skip that regex for them.
    const punct = !WORD_START.test(raw[0]!) && BOUNDARY_PUNCT.test(raw);
    emit(foldToken(raw), m.index, m.index + raw.length, punct);
  }
}

/** English contractions expanded for the classifier's bag of words ("don't" → "do not"). */
function expandContractions(text: string): string {
  return text
    .replace(/\b(can)['’]t\b/gi, '$1 not')
    .replace(/\bwon['’]t\b/gi, 'will not')
    .replace(/n['’]t\b/gi, ' not')
    .replace(/['’](re|ve|ll|d|m)\b/gi, ' $1');
}

/**
 * Word tokens for bag-of-words models: folded, contractions expanded, punctuation dropped
 * except ! and ? (they carry tone).
 */
export function wordsForModel(text: string): string[] {
  const words: string[] = [];
  for (const t of tokenizeText(expandContractions(text))) {
    if (t.punct && t.norm !== '!' && t.norm !== '?') continue;
    words.push(t.norm);
  }
  return words;
}
