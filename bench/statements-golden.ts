/**
 * Golden hash of the statement analyser's output, to prove that a speed-up changes no result.
 *
 * Hashes (SHA-256) `analyseStatement(text, opts)` as JSON over:
 *  - every distinct statement text of the pipeline bench log, with its `lang` property as hint and
 *    without a hint (the log built by `npm run bench:pipeline`; BENCH_DIR or the default folder for
 *    10000 customers x 365 days, seed 7; skipped with a notice when it does not exist),
 *  - every string literal in test/statements/*.ts (the fixtures, incl. the English/German negation cases),
 *  - every cue phrase, ignore phrase, sentiment word, negator and intensifier of the built-in lexicons,
 *    alone and in small negated / intensified / punctuated sentences,
 *  - the generated EN/DE corpus of bench/statements.ts (20,000 texts, seed 42),
 * the fixed ones each without a hint and with 'en' and 'de'. Run it before and after a change; the hash
 * must not move. The inputs include the test files, so when tests change too, compare the old analyser
 * code and the new one on the same tree (e.g. the old src/indicators/statements in a copy of the repo).
 * `--dump <file>` writes one line per analysis (hint, text, JSON) for diffing.
 *
 * Recorded (issue 3 speed-up of the analyser, 2026-11-23): 902dfed2d3c67e3930a40633a6b5143d6234cddd3d6e0ce499efeccba1142d0d
 * for the old and the new analyser alike (2,601 bench-log texts, 26,904 fixed texts, 85,914 analyses).
 *
 *   node --import tsx bench/statements-golden.ts [--dump /tmp/golden.txt]
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseStatement } from '../src/indicators/statements/analyse-statement';
import { loadBuiltinLexicon } from '../src/indicators/statements/statement-lexicon';
import type { AnalyseOptions, StatementLanguage } from '../src/indicators/statements/statement-types';
import { generateStatements } from './statements';

const root = fileURLToPath(new URL('..', import.meta.url));
const dumpAt = process.argv.indexOf('--dump');
const dumpFile = dumpAt > 0 ? process.argv[dumpAt + 1] : undefined;

/** Distinct (text, lang) pairs of the pipeline bench's statement log. */
function benchLogTexts(): Array<{ text: string; lang?: string }> {
  const dir = process.env['BENCH_DIR'] ?? join(tmpdir(), 'rapport-bench-pipeline-10000x365-s7');
  const file = join(dir, 'text', 'rapport.db');
  if (!existsSync(file)) {
    console.log(`no bench log at ${file}: run npm run bench:pipeline once (its statement texts are left out)`);
    return [];
  }
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(`SELECT DISTINCT json_extract(data, '$.properties.text') AS text, json_extract(data, '$.properties.lang') AS lang FROM events ORDER BY 1, 2`)
    .all() as Array<{ text: string | null; lang: string | null }>;
  db.close();
  return rows.filter((r) => typeof r.text === 'string').map((r) => ({ text: r.text!, ...(typeof r.lang === 'string' ? { lang: r.lang } : {}) }));
}

/** String literals of the statement tests (quoted, without interpolation). */
function testFixtures(): string[] {
  const dir = join(root, 'test', 'statements');
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`([^`$]*)`/g)) {
      const raw = m[1] ?? m[2] ?? m[3] ?? '';
      out.push(raw.replace(/\\(.)/g, '$1'));
    }
  }
  return out;
}

/** Lexicon entries alone and in small sentences around negators, intensifiers and punctuation. */
function lexiconTexts(): string[] {
  const lex = loadBuiltinLexicon();
  const out: string[] = [];
  for (const lang of ['en', 'de'] as const) {
    const l = lex[lang];
    const s = l.sentiment;
    const entries = [
      ...Object.values(l.cues).flat(),
      ...(l.ignore ?? []),
      ...Object.keys(s.words),
      ...s.negators,
      ...s.postNegators,
      ...s.negationExceptions,
      ...s.boundaries,
      ...Object.keys(s.intensifiers),
    ].map((p) => p.replace(/\*/g, lang === 'en' ? 'ed' : 'en'));
    const neg = s.negators;
    const int = Object.keys(s.intensifiers);
    entries.forEach((p, i) => {
      const n = neg[i % neg.length]!;
      const k = int[i % int.length]!;
      if (lang === 'en') {
        out.push(p, `${p}!`, `I ${n} ${p}.`, `I really ${k} ${p} it, but ${n} ${p}!!`, `${p.toUpperCase()}? ${n} way, I don't ${p} - never.`, `"${p}" (${n}); ${k} ${p}…`);
      } else {
        out.push(p, `${p}!`, `Ich ${n} ${p}.`, `Ich ${p} es ${n}.`, `${k} ${p}, aber ${n} ${p}!!`, `„${p}“ – ${n}; ${k} ${p}…`);
      }
    });
  }
  return out;
}

const lines: string[] = [];
const hash = createHash('sha256');
let count = 0;
function add(text: string, opts: AnalyseOptions | undefined, hint: string): void {
  const line = `${hint}\t${JSON.stringify(text)}\t${JSON.stringify(analyseStatement(text, opts))}`;
  hash.update(line).update('\n');
  if (dumpFile) lines.push(line);
  count++;
}

const t0 = performance.now();
const log = benchLogTexts();
for (const { text, lang } of log) {
  add(text, undefined, '-');
  if (lang === 'en' || lang === 'de') add(text, { lang }, lang);
}
const fixed = [...testFixtures(), ...lexiconTexts(), ...generateStatements(20_000, 42)];
for (const text of fixed) {
  add(text, undefined, '-');
  for (const lang of ['en', 'de'] as StatementLanguage[]) add(text, { lang }, lang);
}
if (dumpFile) writeFileSync(dumpFile, lines.join('\n') + '\n');
console.log(`${log.length} bench-log texts, ${fixed.length} fixed texts, ${count} analyses in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`golden sha256: ${hash.digest('hex')}`);
