import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/domain/errors';
import { createStatementAnalyser } from '../../src/indicators/statements/statement-analyser';
import {
  builtinLexiconDir,
  loadBuiltinLexicon,
  loadStatementLexicon,
  parseCueFile,
  parseSentimentFile,
} from '../../src/indicators/statements/statement-lexicon';
import { CUE_NAMES } from '../../src/indicators/statements/statement-types';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('lexicon files', () => {
  it('the built-in lexicons load and have at least 25 phrases per cue and language', () => {
    const lex = loadBuiltinLexicon();
    for (const lang of ['en', 'de'] as const) {
      for (const cue of CUE_NAMES) expect(lex[lang].cues[cue].length, `${lang} ${cue}`).toBeGreaterThanOrEqual(25);
    }
    expect(Object.keys(lex.de.sentiment.words).length).toBeGreaterThanOrEqual(200);
    expect(lex.de.sentiment.negators).toEqual(expect.arrayContaining(['nicht', 'kein', 'keine', 'keinen', 'keinem', 'keiner', 'nie', 'niemals', 'ohne']));
  });

  it('a wrong cue name names file, line, column and the allowed names', () => {
    const e = errorOf(() => parseCueFile('language: en\ncues:\n  love:\n    - love\n  lov:\n    - adore\n', 'lexicons/cues.en.yaml'));
    expect(e.message).toBe(`lexicons/cues.en.yaml:5:3: unknown cue 'lov'; allowed cue names: ${CUE_NAMES.join(', ')}`);
    expect([e.file, e.line, e.column]).toEqual(['lexicons/cues.en.yaml', 5, 3]);
    expect(e.code).toBe('invalid_config');
  });

  it('a non-list names the position of the value', () => {
    const e = errorOf(() => parseCueFile('language: de\ncues:\n  love:\n    - liebe\n  price: billig\n', 'cues.de.yaml'));
    expect(e.message).toMatch(/^cues\.de\.yaml:5:10: cues\.price must be a list of phrases/);
  });

  it('YAML syntax errors, unknown keys, bad values and multi-word sentiment keys are located', () => {
    expect(errorOf(() => parseCueFile('language: en\ncues:\n  love: [love\n  price: x\n', 'f.yaml')).message).toMatch(/^f\.yaml:\d+:\d+: invalid YAML/);
    expect(errorOf(() => parseCueFile('language: en\ncue:\n  love: [a]\n', 'f.yaml')).message).toBe("f.yaml:2:1: unknown key 'cue' in the file; remove it or check the spelling");
    expect(errorOf(() => parseSentimentFile('language: de\nnegators: [nicht]\nwords:\n  gut: 2\n  toll: sehr\n', 's.yaml')).message).toBe(
      's.yaml:5:9: words.toll must be a number, got string "sehr"',
    );
    expect(errorOf(() => parseSentimentFile('language: de\nnegators: [nicht]\nwords:\n  zu spät: -2\n', 's.yaml')).message).toMatch(/^s\.yaml:4:3: 'zu spät' in words must be a single word/);
    expect(errorOf(() => parseSentimentFile('language: de\nnegators: [nicht]\nwords:\n  gut: 9\n', 's.yaml')).message).toMatch(/^s\.yaml:4:8: words\.gut/);
  });

  it('loading a directory reports the real file path of a broken file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-lex-'));
    dirs.push(dir);
    cpSync(builtinLexiconDir(), dir, { recursive: true });
    const file = join(dir, 'cues.de.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  nostalgia:', '  nostalgie:'));
    const e = errorOf(() => loadStatementLexicon(dir));
    expect(e.file).toBe(file);
    expect(e.message).toContain("unknown cue 'nostalgie'");
    expect(e.line).toBeGreaterThan(1);
  });

  it('ignore phrases hide letter greetings from cues and sentiment', () => {
    const a = createStatementAnalyser({ lexicon: loadBuiltinLexicon() }).analyse('Liebe Grüße, Anna', { lang: 'de' });
    expect(a.cues.love).toBe(0);
    expect(a.sentiment).toBe(0);
    expect(a.matches).toEqual([]);
    expect(parseCueFile('language: de\ncues: {}\nignore: [liebe grüße]\n', 'f.yaml').ignore).toEqual(['liebe grüße']);
  });

  it('an edited lexicon changes what the analyser finds (wildcards, multi-word phrases)', () => {
    const base = loadBuiltinLexicon();
    const cues = { ...base.de.cues, excitement: ['neugier*', 'kann es kaum abwarten'] };
    const analyser = createStatementAnalyser({ lexicon: { ...base, de: { ...base.de, cues } } });
    const a = analyser.analyse('Ich bin neugierig und kann es kaum abwarten', { lang: 'de' });
    expect(a.cues.excitement).toBe(2);
    expect(a.matches.filter((m) => m.cue === 'excitement').map((m) => m.phrase)).toEqual(['neugierig', 'kann es kaum abwarten']);
  });
});
