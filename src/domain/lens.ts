import { z } from 'zod';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { contactPolicySchema, type ContactPolicy } from './contact-policy';
import { INDICATOR_CATALOGUE, INDICATOR_NAMES, isKnownIndicator } from './indicator-catalogue';
import { RapportError } from './errors';

/**
 * Lenses: one relationship taxonomy per YAML file. This module holds the lens schema, the
 * text validator with file:line:column errors, and the compiler that turns a validated lens into
 * flat arrays for the hot path (src/domain/lens-classifier.ts). No I/O here: the registry
 * (src/classify/lens-registry.ts) reads the files.
 */

/** Comparison a condition makes. */
export type ConditionOp = 'above' | 'below' | 'between' | 'equals';

/** One weighted indicator condition of a type, normalised from the YAML. */
export interface LensCondition {
  /** Catalogue indicator name or `traits.<key>`. */
  readonly indicator: string;
  readonly op: ConditionOp;
  /** Threshold (`above`/`below`), lower bound (`between`) or numeric value (`equals`). */
  readonly threshold: number;
  /** Upper bound for `between`. */
  readonly upper?: number;
  /** String value for a trait `equals` condition. */
  readonly equalsText?: string;
  /** Added to the type's logit times the membership; negative = evidence against. */
  readonly weight: number;
  /** Scale of the logistic ramp (indicator units); 0 = a hard step. */
  readonly softness: number;
  readonly note?: string;
}

/** One relationship type of a lens. */
export interface LensType {
  readonly name: string;
  readonly label: string;
  readonly description: string;
  /** Prior probability, normalised over the lens's types. */
  readonly prior: number;
  readonly conditions: readonly LensCondition[];
  readonly policy: ContactPolicy;
}

/** Hysteresis settings: a challenger must beat the current type by `margin` for `confirmations` evaluations in a row. */
export interface Hysteresis {
  readonly margin: number;
  readonly confirmations: number;
}

/** A validated lens. */
export interface LensDefinition {
  readonly lens: string;
  readonly title: string;
  readonly description: string;
  /** Softmax temperature: > 1 flattens, < 1 sharpens the probabilities. */
  readonly temperature: number;
  readonly hysteresis: Hysteresis;
  /** λ in final logit = (1-λ)·yaml + λ·learned, used when a learned model exists. */
  readonly learnedWeight: number;
  /** The company's self-image: intended share per type (normalised), when configured. */
  readonly intended?: Readonly<Record<string, number>>;
  readonly types: readonly LensType[];
  /** File it came from, when read from disk. */
  readonly source?: string;
}

/** One validation problem, with its position in the file. */
export interface LensError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Path in the document, e.g. `types.new.conditions[0].weight`. */
  readonly path: string;
  /** What is wrong and what to do. */
  readonly message: string;
}

/** Formats an error as `file:line:column: message` (the form editors and terminals link). */
export function formatLensError(e: LensError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}

/** Thrown when a lens cannot be used; `details` holds the LensError list. */
export class LensValidationError extends RapportError {
  readonly errors: readonly LensError[];
  constructor(errors: readonly LensError[]) {
    super('invalid_lens', errors.map(formatLensError).join('\n'), errors);
    this.errors = errors;
  }
}

const NAME_RE = /^[a-z][a-z0-9_]*$/;
const nameSchema = z.string().regex(NAME_RE, 'a lowercase snake_case name such as committed_partnership');

const conditionSchema = z.strictObject({
  indicator: z.string().min(1),
  above: z.number().optional(),
  below: z.number().optional(),
  between: z.tuple([z.number(), z.number()]).optional(),
  equals: z.union([z.number(), z.string(), z.boolean()]).optional(),
  weight: z.number(),
  softness: z.number().min(0).optional(),
  note: z.string().optional(),
});

const typeSchema = z.strictObject({
  label: z.string().min(1),
  description: z.string().min(1),
  prior: z.number().gt(0).max(1),
  conditions: z.array(conditionSchema).default([]),
  policy: contactPolicySchema,
});

const hysteresisSchema = z.union([
  z.number().min(0).max(1),
  z.strictObject({ margin: z.number().min(0).max(1).default(0.08), confirmations: z.number().int().min(1).default(1) }),
]);

/** The lens file schema (as written in YAML). */
export const lensFileSchema = z.strictObject({
  lens: nameSchema,
  title: z.string().min(1),
  description: z.string().default(''),
  temperature: z.number().positive().default(1),
  hysteresis: hysteresisSchema.default(0.08),
  learned_weight: z.number().min(0).max(1).default(0.7),
  intended: z.record(z.string(), z.number().min(0)).optional(),
  types: z.record(nameSchema, typeSchema),
});

/** Keys of a lens file, a type and a condition: used to suggest fixes for typos. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  lens: Object.keys(lensFileSchema.shape),
  type: Object.keys(typeSchema.shape),
  condition: Object.keys(conditionSchema.shape),
  policy: Object.keys(contactPolicySchema.shape),
};

/**
 * Indicators whose value -1 means "unknown" (their catalogue description says `-1 when ...`,
 * `-1 without ...`, `else -1`), treated as missing. Indicators whose unit allows negative values
 * (e.g. sentiment, `score -1..1`) never are.
 */
export const SENTINEL_INDICATORS: ReadonlySet<string> = new Set(
  INDICATOR_CATALOGUE.filter((s) => /(^|[^0-9.])-1(?![0-9]|\.[0-9])/.test(s.description) && !/-|score$/.test(s.unit)).map((s) => s.name),
);

/** Default ramp scale for a threshold: 10 % of its size, at least 0.02. */
export function defaultSoftness(threshold: number): number {
  return Math.max(0.1 * Math.abs(threshold), 0.02);
}

/** Levenshtein distance (small strings only). */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to `word` when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

type PathKey = string | number;

function pathText(path: readonly PathKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  return s || '(document)';
}

/** Locates a path in a YAML document: the node's offset, or the deepest existing ancestor's. */
function locate(doc: Document, path: readonly PathKey[], keyOf?: string): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  const steps = keyOf === undefined ? path : [...path, keyOf];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(step));
      if (!pair) return offset;
      // For an unknown key, point at the key itself rather than its value.
      const target = last && keyOf !== undefined ? pair.key : (pair.value ?? pair.key);
      const r = (target as Node | null)?.range;
      if (r) offset = r[0];
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step] as Node | undefined;
      if (!item) return offset;
      if (item.range) offset = item.range[0];
      node = item;
    } else return offset;
  }
  return offset;
}

function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string "${v}"`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

function exampleFor(field: string | number | undefined, expected: string): string {
  const examples: Record<string, string> = {
    weight: 'weight: 1.5',
    prior: 'prior: 0.1',
    above: 'above: 0.5',
    below: 'below: 30',
    between: 'between: [10, 90]',
    softness: 'softness: 0.1',
    temperature: 'temperature: 1',
    learned_weight: 'learned_weight: 0.7',
    max: 'max: 4',
    fallback_hour: 'fallback_hour: 10',
    max_selling_share: 'max_selling_share: 0.3',
  };
  if (typeof field === 'string' && examples[field]) return `, e.g. ${examples[field]}`;
  if (expected === 'number') return ' (a plain number without quotes)';
  return '';
}

function keyContext(path: readonly PathKey[]): keyof typeof KNOWN_KEYS | undefined {
  if (path.length === 0) return 'lens';
  if (path.length === 2 && path[0] === 'types') return 'type';
  if (path.length === 3 && path[0] === 'types' && path[2] === 'policy') return 'policy';
  if (path.length === 4 && path[0] === 'types' && path[2] === 'conditions') return 'condition';
  return undefined;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const where = pathText(issue.path as PathKey[]);
  const field = issue.path[issue.path.length - 1] as string | number | undefined;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = String(issue.expected);
      if (input === undefined) return `'${where}' is missing: add ${String(field)}: <${expected}>${exampleFor(field, expected)}`;
      return `'${where}' must be a ${expected}, got ${describeInput(input)}: write a ${expected}${exampleFor(field, expected)}`;
    }
    case 'too_small':
    case 'too_big':
      return `'${where}' ${issue.message.replace(/^Too (small|big): expected \w+ to (have|be) /, 'must be ')}${input !== undefined ? ` (got ${describeInput(input)})` : ''}`;
    case 'invalid_value':
      return `'${where}' must be one of ${issue.values.map((v) => `'${String(v)}'`).join(', ')}${input !== undefined ? ` (got ${describeInput(input)})` : ''}`;
    case 'invalid_format':
      return `'${where}' is malformed: ${issue.message.replace(/^Invalid string: /, '')}${input !== undefined ? ` (got ${describeInput(input)})` : ''}`;
    case 'invalid_union':
      if (field === 'hysteresis') return `'${where}' must be a number 0..1 (the margin) or { margin: 0.08, confirmations: 2 }`;
      if (field === 'equals') return `'${where}' must be a number, a string or true/false`;
      return `'${where}' has the wrong shape: ${issue.message}`;
    case 'invalid_key':
      return `type name '${String(field)}' is not allowed: use a lowercase snake_case name such as committed_partnership`;
    default:
      return `'${where}': ${issue.message}`;
  }
}

/** Result of validating lens text: the lens, or every error found. */
export type LensValidation =
  | { readonly ok: true; readonly lens: LensDefinition; readonly errors: readonly [] }
  | { readonly ok: false; readonly errors: readonly LensError[] };

/**
 * Validates one lens file's text (pure; for the CLI, the registry and the dashboard's
 * validate-as-you-type). `fileName` is used in errors and its stem must equal `lens:`.
 */
export function validateLensText(text: string, fileName: string): LensValidation {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const errors: LensError[] = [];
  const at = (offset: number, path: readonly PathKey[], message: string) => {
    const { line, col } = lineCounter.linePos(offset);
    errors.push({ file: fileName, line, column: col, path: pathText(path), message });
  };
  if (doc.errors.length > 0) {
    const seenLines = new Set<number>();
    for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      // Later errors on the same line are consequences of the first one.
      if (seenLines.has(pos.line)) continue;
      seenLines.add(pos.line);
      let column = pos.col;
      let hint = 'check the YAML syntax';
      if (e.code === 'BAD_INDENT') {
        // The parser points at the line start; the offending key is at its first non-blank character.
        const lineText = text.split(/\r?\n/)[pos.line - 1] ?? '';
        column = lineText.length - lineText.trimStart().length + 1;
        hint = 'indent this key exactly like its siblings (use spaces, two per level)';
      } else if (e.code === 'BLOCK_AS_IMPLICIT_KEY' || e.code === 'MULTILINE_IMPLICIT_KEY') {
        hint = 'a value cannot start a nested mapping on the same line; check the indentation of the next line';
      } else if (e.code === 'TAB_AS_INDENT') hint = 'indent with spaces, not tabs';
      else if (e.code === 'DUPLICATE_KEY') hint = 'remove or rename the duplicate key';
      const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      errors.push({ file: fileName, line: pos.line, column, path: '', message: `YAML syntax error (${e.code}): ${first} — ${hint}` });
    }
    return { ok: false, errors };
  }
  const raw: unknown = doc.toJS();
  // Indicator names are checked on the raw document so typos show up together with schema errors.
  const rawTypes = (raw as { types?: unknown } | null)?.types;
  if (rawTypes && typeof rawTypes === 'object' && !Array.isArray(rawTypes)) {
    for (const [name, t] of Object.entries(rawTypes as Record<string, unknown>)) {
      const conds = (t as { conditions?: unknown } | null)?.conditions;
      if (!Array.isArray(conds)) continue;
      conds.forEach((c: unknown, i) => {
        const ind = (c as { indicator?: unknown } | null)?.indicator;
        if (typeof ind !== 'string' || ind === '' || isKnownIndicator(ind)) return;
        const path: PathKey[] = ['types', name, 'conditions', i, 'indicator'];
        const hint = suggest(ind, INDICATOR_NAMES);
        at(
          locate(doc, path),
          path,
          `unknown indicator '${ind}'${hint ? ` — did you mean '${hint}'?` : ' — use a name from the indicator catalogue (docs/indicators.md) or traits.<key>'}`,
        );
      });
    }
  }
  const parsed = lensFileSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as PathKey[];
      if (issue.code === 'unrecognized_keys') {
        const ctx = keyContext(path);
        for (const key of issue.keys) {
          const hint = ctx ? suggest(key, KNOWN_KEYS[ctx]!) : undefined;
          const allowed = ctx ? `; allowed here: ${KNOWN_KEYS[ctx]!.join(', ')}` : '';
          at(locate(doc, path, key), [...path, key], `unknown key '${key}'${hint ? ` — did you mean '${hint}'?` : ''}${hint ? '' : allowed}`);
        }
      } else at(locate(doc, path), path, issueMessage(issue));
    }
    return { ok: false, errors: sortErrors(errors) };
  }
  const file = parsed.data;
  const stem = fileStem(fileName);
  if (stem !== undefined && stem !== file.lens) {
    at(locate(doc, ['lens']), ['lens'], `lens name '${file.lens}' must equal the file name '${stem}': rename the file to ${file.lens}.yaml or set lens: ${stem}`);
  }
  const typeNames = Object.keys(file.types);
  if (typeNames.length < 2) at(locate(doc, ['types']), ['types'], 'a lens needs at least two types under types:');
  const priorSum = typeNames.reduce((a, t) => a + file.types[t]!.prior, 0);
  const types: LensType[] = [];
  for (const name of typeNames) {
    const t = file.types[name]!;
    const conditions: LensCondition[] = [];
    t.conditions.forEach((c, i) => {
      const path: PathKey[] = ['types', name, 'conditions', i];
      const ops = (['above', 'below', 'between', 'equals'] as const).filter((k) => c[k] !== undefined);
      if (ops.length !== 1) {
        at(
          locate(doc, path),
          path,
          ops.length === 0
            ? `condition on '${c.indicator}' needs one comparison: add above:, below:, between: [lo, hi] or equals:`
            : `condition on '${c.indicator}' has ${ops.join(' and ')}: keep exactly one (use between: [lo, hi] for a range)`,
        );
        return;
      }
      const op = ops[0]!;
      const isTrait = c.indicator.startsWith('traits.');
      let threshold = 0;
      let upper: number | undefined;
      let equalsText: string | undefined;
      if (op === 'above') threshold = c.above!;
      else if (op === 'below') threshold = c.below!;
      else if (op === 'between') {
        [threshold, upper] = c.between!;
        if (!(upper > threshold)) at(locate(doc, [...path, 'between']), [...path, 'between'], `between: [${threshold}, ${upper}] must list the lower bound first`);
      } else {
        const v = c.equals!;
        if (typeof v === 'string') {
          if (!isTrait) {
            at(locate(doc, [...path, 'equals']), [...path, 'equals'], `'${c.indicator}' is numeric: equals needs a number (strings are only for traits.<key>)`);
          }
          equalsText = v.toLowerCase();
        } else threshold = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      }
      conditions.push({
        indicator: c.indicator,
        op,
        threshold,
        ...(upper !== undefined ? { upper } : {}),
        ...(equalsText !== undefined ? { equalsText } : {}),
        weight: c.weight,
        softness: c.softness ?? (op === 'equals' ? 0 : defaultSoftness(op === 'between' ? Math.max(Math.abs(threshold), Math.abs(upper ?? 0)) : threshold)),
        ...(c.note !== undefined ? { note: c.note } : {}),
      });
    });
    types.push({ name, label: t.label, description: t.description.trim(), prior: t.prior / priorSum, conditions, policy: t.policy });
  }
  let intended: Record<string, number> | undefined;
  if (file.intended) {
    const total = Object.values(file.intended).reduce((a, b) => a + b, 0);
    for (const key of Object.keys(file.intended)) {
      if (!file.types[key]) {
        const hint = suggest(key, typeNames);
        at(locate(doc, ['intended'], key), ['intended', key], `intended share for unknown type '${key}'${hint ? ` — did you mean '${hint}'?` : `; types are ${typeNames.join(', ')}`}`);
      }
    }
    if (!(total > 0)) at(locate(doc, ['intended']), ['intended'], 'intended shares must add up to more than 0');
    else intended = Object.fromEntries(Object.entries(file.intended).map(([k, v]) => [k, v / total]));
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  const h = file.hysteresis;
  const lens: LensDefinition = {
    lens: file.lens,
    title: file.title,
    description: file.description.trim(),
    temperature: file.temperature,
    hysteresis: typeof h === 'number' ? { margin: h, confirmations: 1 } : { margin: h.margin, confirmations: h.confirmations },
    learnedWeight: file.learned_weight,
    ...(intended ? { intended } : {}),
    types,
    source: fileName,
  };
  return { ok: true, lens, errors: [] };
}

function sortErrors(errors: LensError[]): LensError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `dir/fournier.yaml` -> `fournier`; undefined for in-memory names without an extension. */
export function fileStem(fileName: string): string | undefined {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const m = /^(.*)\.ya?ml$/i.exec(base);
  return m ? m[1] : undefined;
}

/** Validates lens text and returns the lens, or throws {@link LensValidationError}. */
export function parseLens(text: string, fileName: string): LensDefinition {
  const v = validateLensText(text, fileName);
  if (!v.ok) throw new LensValidationError(v.errors);
  return v.lens;
}
