import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { checkPlaybook, playbookSchema, type Playbook } from './playbook';

/** One problem in a playbook file, with its position (1-based line and column). */
export interface PlaybookError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Result of parsing one playbook file. */
export type PlaybookParseResult = { ok: true; playbook: Playbook } | { ok: false; errors: PlaybookError[] };

/** Formats an error as `file:line:column: message`. */
export function formatPlaybookError(e: PlaybookError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}

function positionOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  // Walk up the path until a node exists (a missing key is reported at its parent).
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}

/**
 * Parses and validates one playbook YAML text. Every problem names file:line:column and what is
 * wrong; nothing throws for bad input. Pure (the caller reads the file).
 */
export function parsePlaybookYaml(text: string, file: string): PlaybookParseResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const p = lc.linePos(e.pos[0]);
        return { file, line: p.line, column: p.col, message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    };
  }
  const parsed = playbookSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => {
        const p = positionOf(doc, lc, i.path);
        const where = i.path.length ? `${i.path.join('.')}: ` : '';
        return { file, line: p.line, column: p.col, message: `${where}${describeIssue(i)}` };
      }),
    };
  }
  const problems = checkPlaybook(parsed.data);
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((pr) => {
        const p = positionOf(doc, lc, pr.path);
        return { file, line: p.line, column: p.col, message: `${pr.path.join('.')}: ${pr.message}` };
      }),
    };
  }
  return { ok: true, playbook: parsed.data };
}

function describeIssue(i: { code: string; message: string; keys?: string[] }): string {
  if (i.code === 'unrecognized_keys' && i.keys) return `unknown key(s) ${i.keys.map((k) => `'${k}'`).join(', ')}; remove or fix the spelling`;
  if (i.code === 'invalid_union') return `${i.message}: not a valid form; see docs/automation.md for the allowed shapes`;
  return i.message;
}
