import { loadBuiltinLexicon } from './statement-lexicon';
import { createStatementAnalyser, type StatementAnalyser } from './statement-analyser';
import type { AnalyseOptions, StatementAnalysis } from './statement-types';

export type { AnalyseOptions, CueName, StatementAnalysis, StatementLanguage, StatementMatch } from './statement-types';
export { CUE_NAMES } from './statement-types';
export { createStatementAnalyser } from './statement-analyser';
export type { StatementAnalyser, StatementAnalyserDeps, StatementPredictor } from './statement-analyser';

let defaultAnalyser: StatementAnalyser | undefined;

/**
 * Analyses one statement with the built-in lexicon: language, sentiment (-1..1), cue counts
 * after negation and the matched phrases. The default analyser (lexicon files + wink-nlp) is
 * created on the first call; later calls are pure and synchronous.
 */
export function analyseStatement(text: string, opts?: AnalyseOptions): StatementAnalysis {
  defaultAnalyser ??= createStatementAnalyser({ lexicon: loadBuiltinLexicon() });
  return defaultAnalyser.analyse(text, opts);
}
