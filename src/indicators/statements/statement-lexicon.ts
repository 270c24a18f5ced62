import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../domain/errors';
import { CUE_NAMES, isCueName, type CueName, type StatementLanguage } from './statement-types';

/** Sentiment resources of one language: valences, negators, intensifiers. */
export interface SentimentLexicon {
  /** Word (folded) → valence, -4..4. Words ending in `*` match by prefix. */
  readonly words: Readonly<Record<string, number>>;
  /** Words that negate what follows ("not", "nicht", "kein"). */
  readonly negators: readonly string[];
  /** Negators that may also negate what comes before them in the clause ("ich liebe es nicht"). */
  readonly postNegators: readonly string[];
  /** Multi-word sequences starting with a negator that are not negations ("no doubt", "nicht nur"). */
  readonly negationExceptions: readonly string[];
  /** Words that end a negation scope ("but", "aber"). */
  readonly boundaries: readonly string[];
  /** Word → multiplier for the next sentiment word ("very" 1.5, "slightly" 0.6). */
  readonly intensifiers: Readonly<Record<string, number>>;
}

/** All resources of one language. */
export interface LanguageLexicon {
  readonly language: StatementLanguage;
  /** Cue → phrases (words separated by spaces; a trailing `*` on a word matches by prefix). */
  readonly cues: Readonly<Record<CueName, readonly string[]>>;
  /** Phrases that count for nothing and hide their words from cues and sentiment ("Liebe Grüße"). */
  readonly ignore?: readonly string[];
  readonly sentiment: SentimentLexicon;
}

/** The complete lexicon the analyser is built from. */
export interface StatementLexicon {
  readonly en: LanguageLexicon;
  readonly de: LanguageLexicon;
}

const phraseList = z.array(z.string().trim().min(1, 'a phrase must not be empty'));

/** Sentiment entries are single words; phrases belong in the cue files. */
const singleWord = z.string().regex(/^\S+$/, 'must be a single word (no spaces)');

const cueFileSchema = z.strictObject({
  language: z.enum(['en', 'de']),
  cues: z.record(z.string(), phraseList),
  ignore: phraseList.optional(),
});

const sentimentFileSchema = z.strictObject({
  language: z.enum(['en', 'de']),
  negators: phraseList,
  post_negators: phraseList.optional(),
  negation_exceptions: phraseList.optional(),
  boundaries: phraseList.optional(),
  intensifiers: z.record(singleWord, z.number().min(0).max(4)).optional(),
  words: z.record(singleWord, z.number().min(-4).max(4)).optional(),
});

type Pos = { line: number; column: number };

/** Position of the node at `path` (or of its key when `key`), falling back to the nearest parent. */
function positionOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[], key = false): Pos {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n) as (string | number)[];
    if (key && n === path.length && n > 0) {
      const parent = doc.getIn(sub.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(sub[sub.length - 1]));
        const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
        if (range) return toPos(lc, range[0]);
      }
      continue;
    }
    const node = n === 0 ? doc.contents : doc.getIn(sub, true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return toPos(lc, range[0]);
  }
  return { line: 1, column: 1 };
}

function toPos(lc: LineCounter, offset: number): Pos {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Parses YAML text and validates it with `schema`, turning every problem into a ConfigError at file:line:column. */
function parseYaml<T>(text: string, file: string, schema: z.ZodType<T>, extra?: (doc: Document, lc: LineCounter, data: T) => void): T {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const p = lc.linePos(first.pos[0]);
    throw new ConfigError(`invalid YAML: ${first.message.split('\n')[0]}`, { file, line: p.line, column: p.col });
  }
  const raw: unknown = doc.toJS();
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    // Unknown keys first: a misspelt key usually also causes a "missing" issue for the right one.
    const issues = [...parsed.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
    const issue = issues[0]!;
    const path = issue.path;
    let value: unknown = raw;
    for (const k of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
    const where = path.length ? path.join('.') : 'the file';
    let message: string;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      const p = positionOf(doc, lc, [...path, keys[0]!], true);
      throw new ConfigError(`unknown key '${keys[0]}' in ${where}; remove it or check the spelling`, { file, line: p.line, column: p.column });
    }
    if (issue.code === 'invalid_key') {
      const p = positionOf(doc, lc, path, true);
      throw new ConfigError(`'${String(path[path.length - 1])}' in ${path.slice(0, -1).join('.')} must be a single word (no spaces); put phrases in the cue files`, {
        file,
        line: p.line,
        column: p.column,
      });
    }
    const expected = (issue as { expected?: string }).expected;
    if (issue.code === 'invalid_type' && value === undefined) {
      message = `'${where}' is missing; add it (${expected === 'array' ? 'a list' : expected === 'record' ? 'a mapping' : expected})`;
    } else if (issue.code === 'invalid_type' && expected === 'array') {
      message = `${where} must be a list of phrases (one '- phrase' per line), got ${describe(value)}`;
    } else if (issue.code === 'invalid_type') {
      message = `${where} must be ${expected === 'record' ? 'a mapping' : `a ${expected}`}, got ${describe(value)}`;
    } else {
      message = `${where}: ${issue.message}`;
    }
    const p = positionOf(doc, lc, path);
    throw new ConfigError(message, { file, line: p.line, column: p.column });
  }
  extra?.(doc, lc, parsed.data);
  return parsed.data;
}

/**
 * Parses a cue phrase file (`lexicons/cues.<lang>.yaml`). Throws a ConfigError naming
 * file:line:column for bad YAML, an unknown cue name (listing the allowed ones) or a non-list.
 */
export function parseCueFile(text: string, file: string): { language: StatementLanguage; cues: Record<CueName, string[]>; ignore: string[] } {
  const data = parseYaml(text, file, cueFileSchema, (doc, lc, d) => {
    for (const name of Object.keys(d.cues)) {
      if (!isCueName(name)) {
        const p = positionOf(doc, lc, ['cues', name], true);
        throw new ConfigError(`unknown cue '${name}'; allowed cue names: ${CUE_NAMES.join(', ')}`, { file, line: p.line, column: p.column });
      }
    }
  });
  const cues = Object.fromEntries(CUE_NAMES.map((c) => [c, data.cues[c] ?? []])) as Record<CueName, string[]>;
  return { language: data.language, cues, ignore: data.ignore ?? [] };
}

/** Parses a sentiment file (`lexicons/sentiment.<lang>.yaml`); errors name file:line:column. */
export function parseSentimentFile(text: string, file: string): { language: StatementLanguage; sentiment: SentimentLexicon } {
  const d = parseYaml(text, file, sentimentFileSchema);
  return {
    language: d.language,
    sentiment: {
      words: d.words ?? {},
      negators: d.negators,
      postNegators: d.post_negators ?? [],
      negationExceptions: d.negation_exceptions ?? [],
      boundaries: d.boundaries ?? [],
      intensifiers: d.intensifiers ?? {},
    },
  };
}

function readLanguage(dir: string, lang: StatementLanguage): LanguageLexicon {
  const cueFile = join(dir, `cues.${lang}.yaml`);
  const sentFile = join(dir, `sentiment.${lang}.yaml`);
  const cues = parseCueFile(readText(cueFile), cueFile);
  const sent = parseSentimentFile(readText(sentFile), sentFile);
  for (const [parsed, file] of [[cues, cueFile], [sent, sentFile]] as const) {
    if (parsed.language !== lang) throw new ConfigError(`language is '${parsed.language}' but the file name says '${lang}'`, { file, line: 1, column: 1 });
  }
  return { language: lang, cues: cues.cues, ignore: cues.ignore, sentiment: sent.sentiment };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read lexicon file: ${(err as Error).message}`, { file });
  }
}

/**
 * Loads `cues.en.yaml`, `cues.de.yaml`, `sentiment.en.yaml` and `sentiment.de.yaml` from `dir`.
 * Synchronous so the default analyser can be created lazily inside a synchronous call.
 */
export function loadStatementLexicon(dir: string): StatementLexicon {
  return { en: readLanguage(dir, 'en'), de: readLanguage(dir, 'de') };
}

/** Directory of the lexicons shipped with Rapport (`<repo>/lexicons`). */
export function builtinLexiconDir(): string {
  return fileURLToPath(new URL('../../../lexicons/', import.meta.url));
}

/** Loads the built-in lexicon files. */
export function loadBuiltinLexicon(): StatementLexicon {
  return loadStatementLexicon(builtinLexiconDir());
}
