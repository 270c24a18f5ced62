import { describe, expect, it } from 'vitest';
import { analyseStatement } from '../../src/indicators/statements/analyse-statement';
import { detectLanguage } from '../../src/indicators/statements/detect-language';

describe('sentiment sign', () => {
  const positive = {
    en: ['The staff were wonderful and the food was excellent.', 'Great service, I am very happy!', 'Best purchase I made this year.'],
    de: ['Der Service war hervorragend, ich bin sehr zufrieden.', 'Einfach toll, super Qualität!', 'Die Beratung war freundlich und kompetent.'],
  };
  const negative = {
    en: ['Terrible service, the worst experience ever.', 'I am very disappointed, the product broke after a day.', 'Rude staff and awful food.'],
    de: ['Furchtbarer Service, ich bin total enttäuscht.', 'Das Gerät ist kaputt und der Support ist unfreundlich.', 'Schlechte Qualität, eine echte Frechheit.'],
  };
  for (const lang of ['en', 'de'] as const) {
    it(`positive ${lang} statements score > 0`, () => {
      for (const s of positive[lang]) expect(analyseStatement(s).sentiment, s).toBeGreaterThan(0.2);
    });
    it(`negative ${lang} statements score < 0`, () => {
      for (const s of negative[lang]) expect(analyseStatement(s).sentiment, s).toBeLessThan(-0.2);
    });
  }

  it('stays within -1..1 and intensifiers strengthen', () => {
    const a = analyseStatement('super toll genial hervorragend perfekt!!!', { lang: 'de' });
    expect(a.sentiment).toBeLessThanOrEqual(1);
    expect(analyseStatement('sehr gut', { lang: 'de' }).sentiment).toBeGreaterThan(analyseStatement('gut', { lang: 'de' }).sentiment);
    expect(analyseStatement('etwas enttäuscht', { lang: 'de' }).sentiment).toBeGreaterThan(analyseStatement('enttäuscht', { lang: 'de' }).sentiment);
  });

  it('inflected German forms are found ("gute", "schlechten")', () => {
    expect(analyseStatement('Eine gute Wahl', { lang: 'de' }).sentiment).toBeGreaterThan(0);
    expect(analyseStatement('Mit einem schlechten Gefühl', { lang: 'de' }).sentiment).toBeLessThan(0);
  });

  it('English domain overrides are reported as sentiment matches', () => {
    const a = analyseStatement('Totally overpriced, a real rip-off.');
    expect(a.sentiment).toBeLessThan(0);
    expect(a.matches.some((m) => m.cue === 'sentiment' && m.phrase.toLowerCase() === 'overpriced')).toBe(true);
  });

  it('is deterministic', () => {
    const s = 'Ich liebe euch nicht mehr, ich wechsle zur Konkurrenz.';
    expect(analyseStatement(s)).toEqual(analyseStatement(s));
  });
});

describe('language detection', () => {
  it.each([
    ['I love the new store, thanks!', 'en'],
    ['What are your opening hours?', 'en'],
    ['Ich liebe den neuen Laden, danke!', 'de'],
    ['Wie sind eure Öffnungszeiten?', 'de'],
    ['Das ist nicht schlecht', 'de'],
    ['Schöne Grüße', 'de'],
    ['', 'en'],
  ])('%s -> %s', (text, lang) => {
    expect(detectLanguage(text)).toBe(lang);
    expect(analyseStatement(text).language).toBe(lang);
  });

  it('the lang option overrides detection', () => {
    expect(analyseStatement('I love it', { lang: 'de' }).language).toBe('de');
    expect(analyseStatement('Ich liebe es', { lang: 'en' }).language).toBe('en');
  });
});
