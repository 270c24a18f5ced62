import { describe, expect, it } from 'vitest';
import { analyseStatement } from '../../src/indicators/statements/analyse-statement';

describe('negation (English)', () => {
  it('"I don\'t love it" counts no love and is not positive', () => {
    const a = analyseStatement("I don't love it");
    expect(a.language).toBe('en');
    expect(a.cues.love).toBe(0);
    expect(a.sentiment).toBeLessThanOrEqual(0);
    expect(a.matches).toContainEqual({ cue: 'love', phrase: 'love', start: 8, end: 12, negated: true });
  });

  it('handles contractions and other negators', () => {
    for (const s of ["I doesn't love it", "She doesn't love it anymore", "I won't switch", "I can't recommend them", 'I never loved it', "You don't owe me anything", "I wouldn't say I adore it"]) {
      const a = analyseStatement(s, { lang: 'en' });
      const counted = Object.values(a.cues).reduce((x, y) => x + y, 0);
      expect(counted, `${s}: ${JSON.stringify(a.matches)}`).toBe(0);
      expect(a.matches.some((m) => m.cue !== 'sentiment' && m.negated), s).toBe(true);
    }
  });

  it('"I would never switch" counts no switching', () => {
    const a = analyseStatement('I would never switch');
    expect(a.cues.switching).toBe(0);
    expect(a.matches.find((m) => m.cue === 'switching')?.negated).toBe(true);
  });

  it('negators inside a phrase belong to the phrase ("can\'t live without")', () => {
    // wink's own sentiment negation would spill over "and I love it"; the comma keeps this about our cue handling.
    const a = analyseStatement("I can't live without your coffee, I love it");
    expect(a.cues.love).toBe(2);
    expect(a.matches.filter((m) => m.cue === 'love').every((m) => !m.negated)).toBe(true);
    expect(a.sentiment).toBeGreaterThan(0);
  });

  it('scope ends at punctuation and at "but"', () => {
    expect(analyseStatement("I don't care what others say, I love it").cues.love).toBe(1);
    expect(analyseStatement("Not cheap but I love it").cues.love).toBe(1);
  });

  it('"not bad" is not negative', () => {
    expect(analyseStatement('Not bad at all').sentiment).toBeGreaterThan(0);
  });
});

describe('negation (German)', () => {
  it('"ich liebe es nicht" counts no love and is negative', () => {
    const a = analyseStatement('ich liebe es nicht');
    expect(a.language).toBe('de');
    expect(a.cues.love).toBe(0);
    expect(a.sentiment).toBeLessThan(0);
    expect(a.matches.filter((m) => m.cue === 'love').every((m) => m.negated)).toBe(true);
  });

  it('"nicht schlecht" is mildly positive, not negative', () => {
    for (const s of ['nicht schlecht', 'Das Essen war nicht schlecht.', 'Gar nicht schlecht!']) {
      const a = analyseStatement(s, { lang: 'de' });
      expect(a.sentiment, s).toBeGreaterThan(0);
      expect(a.sentiment, s).toBeLessThan(0.5);
    }
    const clear = analyseStatement('sehr gut', { lang: 'de' }).sentiment;
    expect(analyseStatement('nicht schlecht', { lang: 'de' }).sentiment).toBeLessThan(clear);
  });

  it('"nicht gut" is negative; kein/keine/keinen negate what follows', () => {
    expect(analyseStatement('Der Service ist nicht gut.', { lang: 'de' }).sentiment).toBeLessThan(0);
    const a = analyseStatement('Ich habe keine Liebe für diese Marke.', { lang: 'de' });
    expect(a.cues.love).toBe(0);
    expect(analyseStatement('Ich werde niemals wechseln.', { lang: 'de' }).cues.switching).toBe(0);
    expect(analyseStatement('Ich empfehle euch nicht weiter.', { lang: 'de' }).cues.advocacy).toBe(0);
    expect(analyseStatement('Auf keinen Fall kündige ich.', { lang: 'de' }).cues.switching).toBe(0);
  });

  it('umlaut folding: ae/oe/ue/ss spellings are the same words', () => {
    const a = analyseStatement('Ich bin sehr enttaeuscht, das ist aergerlich', { lang: 'de' });
    const b = analyseStatement('Ich bin sehr enttäuscht, das ist ärgerlich', { lang: 'de' });
    expect(a.sentiment).toBeLessThan(0);
    expect(a.sentiment).toBe(b.sentiment);
    expect(analyseStatement('Das wuerde ich nie hergeben, ich liebe es', { lang: 'de' }).cues.love).toBeGreaterThanOrEqual(1);
  });

  it('"nicht nur" is not a negation', () => {
    expect(analyseStatement('Nicht nur gut, sondern großartig', { lang: 'de' }).sentiment).toBeGreaterThan(0);
  });

  it('a clause boundary stops a clause-final negator', () => {
    const a = analyseStatement('Ich liebe euren Kaffee, aber den Preis mag ich nicht.', { lang: 'de' });
    expect(a.cues.love).toBe(1);
  });
});
