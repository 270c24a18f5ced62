import { describe, expect, it } from 'vitest';
import { analyseStatement, CUE_NAMES, type CueName } from '../../src/indicators/statements/analyse-statement';
import { INDICATOR_NAMES } from '../../src/domain/indicator-catalogue';

/** Three or more realistic sentences per cue and language; each must count the cue at least once. */
const EXAMPLES: Record<CueName, { en: string[]; de: string[] }> = {
  love: {
    en: ["I can't live without your coffee.", 'Honestly I adore this brand.', 'You are my favourite shop, no other brand for me.'],
    de: ['Ich liebe euren Kaffee.', 'Ohne euch kann ich nicht mehr.', 'Ihr seid meine Lieblingsmarke, keine andere Marke kommt ins Haus.'],
  },
  advocacy: {
    en: ['I recommend you to everyone.', 'Told all my friends about the app.', "Don't listen to the haters, they fixed everything."],
    de: ['Ich empfehle euch jedem.', 'Habe meinen Freunden erzählt, wie gut ihr seid.', 'Unbedingt ausprobieren, fünf Sterne!'],
  },
  entitlement: {
    en: ['I expect a refund by tomorrow.', 'After all the money I spent, you owe me an upgrade.', 'As a loyal customer I deserve better.'],
    de: ['Ich erwarte eine Erstattung bis morgen.', 'Ihr schuldet mir eine Entschädigung.', 'Als treuer Kunde verlange ich mehr.'],
  },
  price: {
    en: ['Whoever is cheapest gets my order.', 'Any coupon codes this week?', 'I only buy when it is on sale.'],
    de: ['Nur der Preis zählt für mich.', 'Gibt es einen Rabattcode?', 'Ich kaufe dort, wo es am billigsten ist.'],
  },
  switching: {
    en: ["I'm switching to another provider.", 'Please cancel my subscription.', 'Looking for alternatives after this outage.'],
    de: ['Ich wechsle zu einem anderen Anbieter.', 'Hiermit kündige ich meinen Vertrag.', 'Ich schaue mich nach Alternativen um.'],
  },
  partnership: {
    en: ['I have an idea for the app.', 'It would be great if you added a dark mode.', 'Happy to help test the new checkout.'],
    de: ['Ich habe eine Idee für die App.', 'Es wäre schön, wenn ihr einen Dunkelmodus einbaut.', 'Mein Verbesserungsvorschlag: mehr Filter.'],
  },
  nostalgia: {
    en: ['I have bought these since I was a kid.', 'Remember when the bars were bigger?', 'Takes me back to the good old days.'],
    de: ['Ich kaufe das, seit ich ein Kind war.', 'Früher war das Rezept besser.', 'Erinnert mich an meine Kindheit, die gute alte Zeit.'],
  },
  convenience: {
    en: ['The shop is close by, so I go there.', 'Honestly it is the only option in my village.', 'Convenient and saves me time.'],
    de: ['Der Laden ist um die Ecke.', 'Das ist die einzige Option hier.', 'Schnell und einfach, spart mir Zeit.'],
  },
  family: {
    en: ['My mother always used this soap.', 'It is a family tradition for generations.', 'My grandparents bought it, now my kids do.'],
    de: ['Meine Mutter hat das immer benutzt.', 'Bei uns ist das Familientradition.', 'Schon meine Großeltern waren Kunden, seit Generationen.'],
  },
  excitement: {
    en: ["Can't wait for the new collection!", 'So excited about the limited edition.', 'The new release is a game changer.'],
    de: ['Ich kann es kaum erwarten!', 'Bin total gespannt auf die neue Kollektion.', 'Die limitierte Edition ist der Hammer.'],
  },
  competitor_negative: {
    en: ['I switched from my old provider, fed up with them.', 'Sick of my previous provider.', 'So much better than my old bank.'],
    de: ['Ich bin von meinem alten Anbieter gewechselt.', 'Ich hatte die Nase voll von der Telekom.', 'Viel besser als mein alter Anbieter.'],
  },
};

describe('cue detection', () => {
  it('cue names match the indicator catalogue (cue_<name>)', () => {
    for (const cue of CUE_NAMES) expect(INDICATOR_NAMES.has(`cue_${cue}`), `cue_${cue}`).toBe(true);
    const catalogueCues = [...INDICATOR_NAMES].filter((n) => n.startsWith('cue_')).map((n) => n.slice(4));
    expect([...catalogueCues].sort()).toEqual([...CUE_NAMES].sort());
  });

  for (const cue of CUE_NAMES) {
    for (const lang of ['en', 'de'] as const) {
      it(`detects ${cue} in ${lang}`, () => {
        const sentences = EXAMPLES[cue][lang];
        expect(sentences.length).toBeGreaterThanOrEqual(3);
        for (const s of sentences) {
          const a = analyseStatement(s, { lang });
          expect(a.cues[cue], `${cue} in "${s}" (matches: ${JSON.stringify(a.matches)})`).toBeGreaterThanOrEqual(1);
          const m = a.matches.find((x) => x.cue === cue && !x.negated)!;
          expect(s.slice(m.start, m.end)).toBe(m.phrase);
        }
      });
    }
  }

  it('prefers the longest phrase: "switched from" is about the old provider, not switching intent', () => {
    const a = analyseStatement('I switched from Vodafone last year.');
    expect(a.cues.competitor_negative).toBe(1);
    expect(a.cues.switching).toBe(0);
  });

  it('neutral questions carry no cues', () => {
    for (const s of ['What are your opening hours on Sunday?', 'Wie lange dauert der Versand?']) {
      const a = analyseStatement(s);
      expect(Object.values(a.cues).reduce((x, y) => x + y, 0), s).toBe(0);
    }
  });
});
