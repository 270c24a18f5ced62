/**
 * Statement analysis throughput: analyseStatement over a generated EN/DE mix, against a ceiling
 * measured in the same run (a plain regex tokenisation loop over the same texts — the least any
 * analyser must do). Last line: one JSON object with the figures.
 *
 *   npm run bench:statements [-- --seconds 3]
 */
import { analyseStatement } from '../src/indicators/statements/analyse-statement';
import { tokenizeText } from '../src/indicators/statements/text-tokens';
import { createRng } from '../src/domain/random';
import { pathToFileURL } from 'node:url';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;

const EN_PARTS = {
  open: ['I', 'Honestly I', 'To be fair I', 'My husband and I', 'We', 'Seriously, I'],
  verb: ['love', "don't love", 'really like', 'hate', 'would never switch from', 'am switching away from', 'expect more from', 'recommend'],
  obj: ['your coffee', 'this brand', 'the new app', 'the store around the corner', 'the delivery service', 'your prices'],
  tail: [
    '.',
    ', best in town!',
    ' since I was a kid.',
    ', but the price is too high.',
    ' and I told all my friends.',
    ', you owe me a refund.',
    ', fed up with my old provider.',
    ' - would love to see a dark mode.',
  ],
};
const DE_PARTS = {
  open: ['Ich', 'Ehrlich gesagt', 'Meine Mutter und ich', 'Wir', 'Also ich'],
  verb: ['liebe', 'mag', 'hasse', 'empfehle', 'vermisse', 'erwarte mehr von'],
  obj: ['euren Kaffee', 'diese Marke', 'die neue App', 'den Laden um die Ecke', 'den Lieferdienst', 'eure Preise'],
  tail: [
    '.',
    ' nicht.',
    ', einfach super!',
    ', aber der Preis ist nicht gut.',
    ' seit ich ein Kind war.',
    ', ich wechsle zur Konkurrenz.',
    ', nicht schlecht.',
    ', ihr schuldet mir eine Entschädigung.',
  ],
};

/** The bench's EN/DE corpus: `n` statements from fixed parts, deterministic per seed (also used by statements-golden). */
export function generateStatements(n: number, seed: number): string[] {
  const rng = createRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.next() < 0.5 ? EN_PARTS : DE_PARTS;
    out.push(`${pick(p.open)} ${pick(p.verb)} ${pick(p.obj)}${pick(p.tail)}`);
  }
  return out;
}

function measure(label: string, texts: readonly string[], fn: (t: string) => number): { perSecond: number; checksum: number } {
  // Warm-up, then timed loop over the corpus until `seconds` have passed.
  let checksum = 0;
  for (let i = 0; i < Math.min(texts.length, 2000); i++) checksum += fn(texts[i]!);
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) checksum += fn(texts[(n + i) % texts.length]!);
    n += 1000;
  }
  const perSecond = n / ((performance.now() - t0) / 1000);
  console.log(`${label.padEnd(34)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} statements/s`);
  return { perSecond, checksum };
}

function main(): void {
  const texts = generateStatements(20_000, 42);
  const tLoad = performance.now();
  analyseStatement('warm up the default analyser');
  const loadMs = performance.now() - tLoad;
  console.log(`statement analysis bench: ${texts.length} generated EN/DE statements, ${seconds} s per measurement`);
  console.log(`analyser creation (lexicon + wink-nlp model): ${loadMs.toFixed(0)} ms`);

  const ceiling = measure('ceiling: plain tokenisation', texts, (t) => tokenizeText(t).length);
  const full = measure('analyseStatement (auto language)', texts, (t) => analyseStatement(t).sentiment + 1);
  const en = measure('analyseStatement EN only', texts.filter((t) => /^(I|Honestly|To be|My|We|Seriously)/.test(t)), (t) => analyseStatement(t, { lang: 'en' }).sentiment + 1);
  const de = measure('analyseStatement DE only', texts.filter((t) => /^(Ich|Ehrlich|Meine|Wir|Also)/.test(t)), (t) => analyseStatement(t, { lang: 'de' }).sentiment + 1);

  const target = 20_000;
  const ratio = full.perSecond / ceiling.perSecond;
  console.log(`ratio to ceiling: ${(ratio * 100).toFixed(1)} %; target ${target.toLocaleString('en-US')}/s: ${full.perSecond >= target ? 'met' : 'NOT met'}`);
  console.log(
    JSON.stringify({
      bench: 'statements',
      statementsPerSecond: Math.round(full.perSecond),
      englishPerSecond: Math.round(en.perSecond),
      germanPerSecond: Math.round(de.perSecond),
      ceilingPerSecond: Math.round(ceiling.perSecond),
      ratioToCeiling: Math.round(ratio * 1000) / 1000,
      target,
      targetMet: full.perSecond >= target,
      analyserCreateMs: Math.round(loadMs),
    }),
  );
}

// Run only when executed, not when imported for its corpus.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
