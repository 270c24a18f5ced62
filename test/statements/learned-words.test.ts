import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/domain/random';
import { createStatementAnalyser } from '../../src/indicators/statements/statement-analyser';
import { loadBuiltinLexicon } from '../../src/indicators/statements/statement-lexicon';

/** Texts full of words the English model does not know (names, codes, typos), around real cues and negations. */
function texts(n: number): string[] {
  const rng = createRng(42);
  const word = () => {
    let w = '';
    const len = 4 + Math.floor(rng.next() * 8);
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(rng.next() * 26));
    return w;
  };
  const frames = [
    (a: string, b: string) => `I don't love ${a}, ${b} was not bad though!`,
    (a: string, b: string) => `Order ${a}-${b} arrived late. I want a refund now.`,
    (a: string, b: string) => `We have an idea for ${a}: co-create the ${b} with you?`,
    (a: string, b: string) => `${a} ${b} is the cheapest, that's the only reason I buy here.`,
    (a: string, b: string) => `I'll tell everyone about ${a}. Never switching from ${b}!`,
  ];
  return Array.from({ length: n }, (_, i) => frames[i % frames.length]!(word(), word()));
}

describe('the English model\'s learned words', () => {
  it('is loaded afresh once it learned too many unknown words, with the same analyses', () => {
    const lexicon = loadBuiltinLexicon();
    const unbounded = createStatementAnalyser({ lexicon, maxLearnedWords: Number.MAX_SAFE_INTEGER });
    const reloads: number[] = [];
    const bounded = createStatementAnalyser({ lexicon, maxLearnedWords: 50, onModelReload: (n) => reloads.push(n) });
    const all = texts(400);
    for (const t of all) expect(bounded.analyse(t, { lang: 'en' })).toEqual(unbounded.analyse(t, { lang: 'en' }));
    // ~2 new words per text: a fresh model every 25 texts or so.
    expect(reloads.length).toBeGreaterThan(10);
    expect(Math.min(...reloads)).toBeGreaterThan(50);
    // Texts seen before the reloads read the same afterwards.
    for (const t of all.slice(0, 20)) expect(bounded.analyse(t)).toEqual(unbounded.analyse(t));
  });
});
