import { describe, expect, it } from 'vitest';
import { analyseStatement } from '../../src/indicators/statements/analyse-statement';

describe('relationship cues colour the sentiment', () => {
  it('reads devotion as positive even when the words sound negative', () => {
    const a = analyseStatement("I can't live without it and I love it");
    expect(a.cues.love).toBeGreaterThan(0);
    expect(a.sentiment).toBeGreaterThan(0.2);
  });
  it('keeps negated cues out: "I don\'t love it" stays negative, "I would never switch" is not switching', () => {
    expect(analyseStatement("I don't love it").sentiment).toBeLessThan(0);
    const never = analyseStatement('I would never switch, best shop ever');
    expect(never.cues.switching).toBe(0);
    expect(never.sentiment).toBeGreaterThan(0);
  });
  it('reads switching intent as negative in English and German', () => {
    expect(analyseStatement('thinking of switching to another provider').sentiment).toBeLessThan(0);
    expect(analyseStatement('Ich wechsle zur Konkurrenz, das reicht mir', { lang: 'de' }).sentiment).toBeLessThan(0);
  });
});
