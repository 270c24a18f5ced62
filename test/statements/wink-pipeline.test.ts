import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/domain/random';
import { compileRecognizer, loadWinkPipeline, WINK_TOKEN_SIZE } from '../../src/indicators/statements/wink-pipeline';

// The lean pipeline must give exactly what wink-nlp's public API gives (tokens, normals, types, sentiment).
const require = createRequire(import.meta.url);
type Its = Record<string, unknown>;
type Doc = { tokens(): { out(f?: unknown): unknown[] }; out(f: unknown): unknown };
const winkNLP = require('wink-nlp') as (model: unknown, pipe: string[]) => { readDoc(t: string): Doc; its: Its };
const model = require('wink-eng-lite-web-model') as Record<string, () => { machines: string[] }>;
const nlp = winkNLP(require('wink-eng-lite-web-model'), ['sbd', 'negation', 'sentiment']);
const its = nlp.its;
const lean = loadWinkPipeline();

function viaWink(text: string) {
  const doc = nlp.readDoc(text);
  const toks = doc.tokens();
  return { values: toks.out(), normals: toks.out(its['normal']), types: toks.out(its['type']), sentiment: Number(doc.out(its['sentiment'])) || 0 };
}

function viaLean(text: string) {
  const d = lean.read(text, true);
  const values: string[] = [];
  const types: unknown[] = [];
  for (let i = 0; i < d.count; i++) {
    values.push(lean.cache.value(d.raw[i * WINK_TOKEN_SIZE]!));
    types.push(lean.cache.property(d.raw[i * WINK_TOKEN_SIZE]!, 'tokenType'));
  }
  return { values, normals: d.normals.map((id) => lean.cache.value(id)), types, sentiment: Number(d.sentiment) || 0 };
}

/** Root words of a machine (what can start a negation / sentiment pattern), as text. */
function rootWords(kind: 'negation' | 'sa', max: number): string[] {
  const root = (JSON.parse(model[kind]!().machines[0]!) as [number, number, Record<string, Record<string, number>>])[2]['0']!;
  return Object.keys(root)
    .map(Number)
    .filter((id) => id < 2_000_000)
    .slice(0, max)
    .map((id) => lean.cache.value(id))
    .filter((w): w is string => typeof w === 'string' && w.length > 0);
}

const EXTRA = [
  'I', 'you', 'it', 'the', 'coffee', 'Northwind', 'not', "don't", "can't", "won't", "I'm", 'never', 'no', 'but', 'very', 'really',
  '.', '!', '?', '...', ',', ';', ':', '-', '"', "'", '(', ')', 'Mr.', 'Dr.', 'e.g.', 'U.S.', 'etc.', '\n', '\n\n', ':)', ':-(', '😀', '👍',
  '#love', '@brand', 'http://example.com', '42', '3.5', '$10', '10%', 'I.B.M.', 'A.', 'NOT', 'Love', 'LOVE', 'bad!', 'good,', 'ok?!',
];

function corpus(n: number, seed: number): string[] {
  const rng = createRng(seed);
  const words = [...rootWords('sa', 3000), ...rootWords('negation', 100), ...EXTRA, ...EXTRA, ...EXTRA];
  const pick = () => words[Math.floor(rng.next() * words.length)]!;
  const seps = [' ', ' ', ' ', ' ', '  ', '', '\u00a0', '\n', '\t', '\r\n', ' \u2003', '\u205f ', ' \n ', '\t\t'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rng.next() * 25);
    let s = '';
    for (let k = 0; k < len; k++) s += (k ? seps[Math.floor(rng.next() * seps.length)] : '') + pick();
    out.push(s);
  }
  return out;
}

describe('wink pipeline (lean readDoc)', () => {
  it('compiles the fast recognizers for the shipped models', () => {
    for (const kind of ['sbd', 'negation', 'sa'] as const) expect(compileRecognizer(model[kind]!().machines[0]!, lean.cache), kind).not.toBeNull();
  });

  it('gives the same tokens and document sentiment as wink-nlp readDoc', () => {
    const fixed = [
      '', ' ', '.', "I don't love it", 'I would never switch. Best shop ever!', 'Not bad at all', "I can't live without your coffee, I love it",
      'Mr. Smith said it was not good. But I love it!!! :)', 'Totally overpriced, a real rip-off.', 'no\nno\nno', 'Good.Bad.Good',
      'Honestly I am switching away from the new app - would love to see a dark mode.', 'ich liebe es nicht', '😀😀 great!! 👍',
      '  leading and trailing  ', '\u00a0good\u00a0', 'not\r\nbad', 'a \u2003 b\u205fc', '\t\tlove\n', ' . ',
    ];
    // Twice: the second pass replays remembered chunks (the first adds unknown words to the cache as it goes).
    const texts = [...fixed, ...corpus(3000, 11)];
    for (const pass of [1, 2]) for (const text of texts) expect(viaLean(text), `pass ${pass}: ${JSON.stringify(text)}`).toEqual(viaWink(text));
  });

  it('the fast recognizer finds the same patterns as wink-nlp on random token runs', () => {
    const fsm = require('wink-nlp/src/automaton.js') as (cache: unknown) => { importJSON(j: string): void; recognize(t: number[]): unknown[] };
    const rng = createRng(5);
    for (const kind of ['negation', 'sa'] as const) {
      const json = model[kind]!().machines[0]!;
      const ref = fsm(lean.cache);
      ref.importJSON(json);
      const fast = compileRecognizer(json, lean.cache)!;
      // Token runs that walk the machine (mostly following its transitions, so multi-token patterns and
      // "otherwise" fallbacks occur), mixed with tokens that match nothing and the ignored line feed.
      const fsmRows = (JSON.parse(json) as [0, 0, Record<string, Record<string, number>>])[2];
      const noise = [1, 7, 12345, lean.cache.lookup('\n')![0]!];
      const keysOf = new Map<string, string[]>();
      let multiToken = 0;
      for (let i = 0; i < 20_000; i++) {
        const len = Math.floor(rng.next() * 14);
        const tokens: number[] = [];
        let state = '0';
        while (tokens.length < len) {
          let keys = keysOf.get(state);
          if (!keys) keysOf.set(state, (keys = Object.keys(fsmRows[state] ?? {}).filter((k) => k !== '2070003' && k !== '2070000')));
          if (keys.length === 0 || rng.next() < 0.12) {
            tokens.push(noise[Math.floor(rng.next() * noise.length)]!);
            state = '0';
            continue;
          }
          const k = keys[Math.floor(rng.next() * keys.length)]!;
          tokens.push(Number(k));
          state = String(fsmRows[state]![k]);
        }
        const found = fast(tokens) as Array<[number, number, string]>;
        expect(found, `${kind} ${JSON.stringify(tokens)}`).toEqual(ref.recognize(tokens));
        multiToken += found.filter((p) => p[1] > p[0]).length;
      }
      expect(multiToken, kind).toBeGreaterThan(500);
    }
  });
});
