import type { StatementLanguage } from './statement-types';

const EN_STOP = new Set(
  ('the a an and or but is are was were be been am i you he she it we they my your our their me us them this that these those ' +
    'of to in on for with at by from not no never do does did don\'t can\'t won\'t isn\'t have has had will would should could ' +
    'what which who when where why how very so just really all any there here than then too also if because about love like hate').split(' '),
);
const DE_STOP = new Set(
  ('der die das den dem des ein eine einen einem einer und oder aber ist sind war waren bin bist sein ich du er sie es wir ihr ' +
    'mein meine meinen mir mich dich dir uns euch ihnen nicht kein keine keinen nie niemals mit von zu im in am auf für fuer bei ' +
    'aus nach wie was wer wenn weil dass auch noch schon sehr so nur ganz immer hat habe haben wird werde würde wuerde kann ' +
    'könnt koennt mehr seit doch mal gibt gut toll schlecht liebe').split(' '),
);
const WORD_RE = /[\p{L}']+/gu;
const GERMAN_CHARS = /[äöüß]/i;

/**
 * Guesses English or German from stop words (plus a bonus for umlauts/ß). Cheap enough to run
 * on every statement; ties and texts without evidence default to English.
 */
export function detectLanguage(text: string): StatementLanguage {
  let en = 0;
  let de = GERMAN_CHARS.test(text) ? 2 : 0;
  WORD_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = WORD_RE.exec(text)) !== null) {
    const w = m[0].toLowerCase();
    if (EN_STOP.has(w)) en++;
    if (DE_STOP.has(w)) de++;
  }
  return de > en ? 'de' : 'en';
}
