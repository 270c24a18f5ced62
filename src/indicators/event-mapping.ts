import { z } from 'zod';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { JsonObject, StoredEvent } from '../domain/event';
import { ConfigError } from '../domain/errors';
import { TEXT_PROPERTIES, VOCABULARY, VOCABULARY_EVENTS, type VocabularyEvent } from '../domain/vocabulary';
import { KIND, KIND_BY_EVENT_NAME, type CanonicalEvent, type EventKind } from './event-kind';
import { localHour } from './local-hour';

/**
 * Event vocabulary mapping: a user's own event names and properties mapped onto the canonical
 * events of src/domain/vocabulary.ts, and `canonicalise`, which turns a stored event into the
 * small record the indicator engine consumes.
 *
 * YAML shape (the `mapping:` section of rapport.config.yaml, or a file of its own):
 * ```yaml
 * events:
 *   - from: purchase               # exact event name
 *     to: Order Completed
 *     properties: { revenue: amount, order_id: id }
 *   - match: '^mail_(open|read)$'  # regular expression on the event name
 *     to: Email Opened
 *   - from: checkout
 *     to: Order Completed
 *     properties:
 *       revenue: { path: cart.total_cents, scale: 0.01 }
 *       promotional: { const: false }
 * traits:
 *   sow: share_of_wallet            # user trait name -> trait name Rapport reads
 *   kam: account_manager
 * ```
 */

const CANONICAL_NAMES = [...VOCABULARY_EVENTS] as [VocabularyEvent, ...VocabularyEvent[]];

const propertySourceSchema = z.union([
  z.string().min(1, 'a property path such as amount or cart.total'),
  z.strictObject({
    path: z.string().min(1, 'a property path such as amount or cart.total'),
    scale: z.number().finite().optional(),
    default: z.unknown().optional(),
  }),
  z.strictObject({ const: z.unknown() }),
], { error: "a property source: a path string (amount, cart.total), { path, scale?, default? } or { const: value }" });

/** One rule: an event name (exact `from` or regex `match`) onto a canonical event. */
export const mappingRuleSchema = z
  .strictObject({
    from: z.string().min(1).optional(),
    match: z.string().min(1).optional(),
    to: z.enum(CANONICAL_NAMES, {
      error: (iss) =>
        iss.input === undefined
          ? `missing 'to': the canonical event name, one of: ${CANONICAL_NAMES.join(', ')}`
          : `unknown canonical event ${JSON.stringify(iss.input)}; use one of: ${CANONICAL_NAMES.join(', ')}`,
    }),
    /** canonical property name -> source path / {path, scale, default} / {const}. */
    properties: z.record(z.string().min(1), propertySourceSchema).default({}),
  })
  .superRefine((rule, ctx) => {
    if ((rule.from === undefined) === (rule.match === undefined)) {
      ctx.addIssue({ code: 'custom', message: "give exactly one of 'from' (exact event name) or 'match' (regular expression)" });
    }
    if (rule.match !== undefined) {
      try {
        new RegExp(rule.match);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['match'], message: `invalid regular expression: ${(err as Error).message}` });
      }
    }
  });

/** The event mapping configuration schema. */
export const eventMappingSchema = z.strictObject({
  events: z.array(mappingRuleSchema).default([]),
  /** user trait name -> canonical trait name (identify traits are renamed before they reach the profile). */
  traits: z.record(z.string().min(1), z.string().min(1)).default({}),
});

/** A validated event mapping configuration. */
export type EventMapping = z.output<typeof eventMappingSchema>;
/** An event mapping as written by a user (before defaults). */
export type EventMappingInput = z.input<typeof eventMappingSchema>;

type PropertySource = z.output<typeof propertySourceSchema>;

interface CompiledRule {
  readonly to: VocabularyEvent;
  readonly kind: EventKind;
  readonly props: readonly (readonly [string, PropertySource])[];
}

/** A mapping ready for the hot path: exact names in a Map, regexes in order, a per-name cache. */
export interface CompiledMapping {
  readonly exact: ReadonlyMap<string, CompiledRule>;
  readonly patterns: readonly (readonly [RegExp, CompiledRule])[];
  readonly traits: ReadonlyMap<string, string>;
  /** Event name -> resolved rule (null: no rule, use the built-in vocabulary). Bounded. */
  readonly cache: Map<string, CompiledRule | null>;
}

/** Older Segment spec names and common spellings of the canonical events. */
const ALIASES: Readonly<Record<string, VocabularyEvent>> = {
  'Completed Order': VOCABULARY.orderCompleted,
  'Refunded Order': VOCABULARY.orderRefunded,
  'Viewed Product': VOCABULARY.productViewed,
  'Added Product': VOCABULARY.productAdded,
  'Searched Products': VOCABULARY.productsSearched,
  'Email Clicked': VOCABULARY.emailLinkClicked,
  'Email Spam Reported': VOCABULARY.emailMarkedAsSpam,
  Unsubscribe: VOCABULARY.unsubscribed,
};

/** 'Order Completed', 'order_completed', 'order-completed', 'ORDER COMPLETED' -> 'ordercompleted'. */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[\s_.-]+/g, '');
}

const BUILTIN_BY_NORMALISED: ReadonlyMap<string, VocabularyEvent> = new Map<string, VocabularyEvent>([
  ...[...VOCABULARY_EVENTS].map((n) => [normaliseName(n), n as VocabularyEvent] as const),
  ...Object.entries(ALIASES).map(([a, n]) => [normaliseName(a), n] as const),
]);

function compileRule(rule: EventMapping['events'][number]): CompiledRule {
  return { to: rule.to, kind: KIND_BY_EVENT_NAME.get(rule.to) ?? KIND.other, props: Object.entries(rule.properties) };
}

/** Compiles a validated mapping for {@link canonicalise}. */
export function compileMapping(mapping: EventMapping): CompiledMapping {
  const exact = new Map<string, CompiledRule>();
  const patterns: [RegExp, CompiledRule][] = [];
  for (const rule of mapping.events) {
    if (rule.from !== undefined) {
      if (!exact.has(rule.from)) exact.set(rule.from, compileRule(rule)); // first rule wins
    } else if (rule.match !== undefined) patterns.push([new RegExp(rule.match), compileRule(rule)]);
  }
  return { exact, patterns, traits: new Map(Object.entries(mapping.traits)), cache: new Map() };
}

/** The empty mapping: only the built-in vocabulary. */
export function emptyMapping(): CompiledMapping {
  return compileMapping({ events: [], traits: {} });
}

/**
 * Validates a mapping object (e.g. the `mapping` section of a parsed config) and compiles it.
 * Throws ConfigError (code invalid_config) naming the path and what to fix; `locate` turns a
 * path into a file position when the caller has one.
 */
export function parseEventMapping(
  raw: unknown,
  opts: { file?: string; locate?: (path: readonly PropertyKey[]) => { line: number; column: number } | undefined } = {},
): CompiledMapping {
  const parsed = eventMappingSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const pos = opts.locate?.(path);
    const where = path.length > 0 ? `${path.map(String).join('.')}: ` : '';
    throw new ConfigError(`event mapping: ${where}${issue?.message ?? 'invalid'}`, { file: opts.file, ...pos });
  }
  return compileMapping(parsed.data);
}

/**
 * Parses a YAML mapping file (shape in the module comment). Errors name file:line:column.
 * When the document has a top-level `mapping:` key, that section is used.
 */
export function parseEventMappingYaml(text: string, file = 'mapping.yaml'): CompiledMapping {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new ConfigError(`YAML syntax error: ${first.message.split('\n')[0]}; fix the syntax at this position`, {
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  const data = doc.toJS() as unknown;
  const nested = data !== null && typeof data === 'object' && !Array.isArray(data) && 'mapping' in data;
  const prefix: string[] = nested ? ['mapping'] : [];
  const raw = nested ? (data as Record<string, unknown>)['mapping'] : data;
  const locate = (path: readonly PropertyKey[]) => {
    // Walk up to the nearest node that exists (a missing key is reported at its parent).
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn([...prefix, ...path.slice(0, n).map((p) => (typeof p === 'number' ? p : String(p)))], true);
      if (isNode(node) && node.range) {
        const p = lineCounter.linePos(node.range[0]);
        return { line: p.line, column: p.col };
      }
    }
    return undefined;
  };
  return parseEventMapping(raw, { file, locate: (path) => locate(path) });
}

/** Built-in rules (no property mapping) by canonical name. */
const BUILTIN_RULES: ReadonlyMap<VocabularyEvent, CompiledRule> = new Map(
  [...VOCABULARY_EVENTS].map((n) => [n as VocabularyEvent, { to: n as VocabularyEvent, kind: KIND_BY_EVENT_NAME.get(n) ?? KIND.other, props: [] }]),
);

/** User rule (exact, then regex), else the built-in vocabulary; null for unknown names. Cached per name. */
function resolveRule(name: string, mapping: CompiledMapping): CompiledRule | null {
  const hit = mapping.cache.get(name);
  if (hit !== undefined) return hit;
  let rule: CompiledRule | null = mapping.exact.get(name) ?? null;
  if (rule === null) {
    for (const [re, r] of mapping.patterns) {
      if (re.test(name)) {
        rule = r;
        break;
      }
    }
  }
  if (rule === null) {
    const builtin = BUILTIN_BY_NORMALISED.get(normaliseName(name));
    rule = builtin === undefined ? null : (BUILTIN_RULES.get(builtin) ?? null);
  }
  if (mapping.cache.size >= 10_000) mapping.cache.clear();
  mapping.cache.set(name, rule);
  return rule;
}

function getPath(o: JsonObject, path: string): unknown {
  if (!path.includes('.')) return o[path];
  let cur: unknown = o;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function mapProperties(props: JsonObject, rule: CompiledRule): JsonObject {
  if (rule.props.length === 0) return props;
  const out: JsonObject = { ...props };
  for (const [target, src] of rule.props) {
    let v: unknown;
    if (typeof src === 'string') v = getPath(props, src);
    else if ('const' in src) v = src.const;
    else {
      v = getPath(props, src.path);
      if (v === undefined) v = src.default;
      if (src.scale !== undefined && v !== undefined) {
        const n = toNumber(v);
        v = Number.isFinite(n) ? n * src.scale : v;
      }
    }
    if (v !== undefined) out[target] = v;
  }
  return out;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

function num(v: unknown, fallback: number): number {
  const n = toNumber(v);
  return Number.isFinite(n) ? n : fallback;
}

function str(v: unknown): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function bool(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1 || v === '1') return true;
  if (v === 'false' || v === 0 || v === '0') return false;
  return null;
}

/** Channels whose statements are public (seen by other people). */
export const PUBLIC_CHANNELS: ReadonlySet<string> = new Set([
  'twitter',
  'x',
  'facebook',
  'instagram',
  'tiktok',
  'youtube',
  'linkedin',
  'reddit',
  'review',
  'community',
  'forum',
  'social',
]);

/** Order revenue: `revenue`, else `total`, else the sum of products' price x quantity. */
function orderRevenue(p: JsonObject, products: unknown): number {
  const r = num(p['revenue'], Number.NaN);
  if (!Number.isNaN(r)) return r;
  const tot = num(p['total'], Number.NaN);
  if (!Number.isNaN(tot)) return tot;
  let sum = 0;
  if (Array.isArray(products)) {
    for (const item of products) {
      if (item !== null && typeof item === 'object') {
        const it = item as Record<string, unknown>;
        sum += num(it['price'], 0) * num(it['quantity'], 1);
      }
    }
  }
  return sum;
}

function orderCategories(p: JsonObject, products: unknown): string[] {
  const out: string[] = [];
  const add = (c: unknown) => {
    const s = str(c);
    if (s === null) return;
    const k = s.trim().toLowerCase();
    if (k !== '' && !out.includes(k)) out.push(k);
  };
  if (Array.isArray(products)) {
    for (const item of products) if (item !== null && typeof item === 'object') add((item as Record<string, unknown>)['category']);
  }
  add(p['category']);
  return out;
}

function firstText(p: JsonObject): string | null {
  for (const key of TEXT_PROPERTIES) {
    const v = p[key];
    if (typeof v === 'string' && v.trim() !== '') return v;
  }
  return null;
}

function mapTraits(traits: JsonObject, mapping: CompiledMapping): JsonObject {
  if (mapping.traits.size === 0) return traits;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(traits)) {
    const target = mapping.traits.get(k);
    if (target === undefined) {
      if (!(k in out)) out[k] = v;
    } else out[target] = v; // a renamed trait wins over a same-named raw one
  }
  return out;
}

const NO_CATEGORIES: string[] = [];
const EMPTY: JsonObject = {};

function blank(kind: EventKind, name: string, t: number, properties: JsonObject): CanonicalEvent {
  return {
    kind,
    name,
    t,
    revenue: 0,
    discount: 0,
    coupon: null,
    orderId: null,
    categories: NO_CATEGORIES,
    channel: null,
    agent: false,
    promotional: false,
    bounceType: null,
    nps: -1,
    label: null,
    lens: null,
    public: false,
    text: null,
    contract: false,
    hour: -1,
    properties,
    traits: null,
  };
}

function timezoneOf(e: StoredEvent): string | null {
  const tz = e.context['timezone'];
  return typeof tz === 'string' && tz !== '' ? tz : null;
}

/**
 * Turns a stored event into the canonical record for the indicator engine.
 * - track: user rule (exact, then regex, in file order), else the built-in vocabulary
 *   (case/separator-insensitive, plus older Segment names); unknown names give kind `other`
 *   (counts as activity only).
 * - page / screen: engagement.
 * - identify: kind `identify` with the mapped traits (the processor merges them into the
 *   profile; the engine itself ignores it). group / alias: null (no indicator change).
 */
export function canonicalise(event: StoredEvent, mapping: CompiledMapping): CanonicalEvent | null {
  const t = event.timestamp;
  switch (event.type) {
    case 'page':
    case 'screen': {
      const ev = blank(event.type === 'page' ? KIND.page : KIND.screen, event.type, t, event.properties ?? EMPTY);
      ev.hour = localHour(t, timezoneOf(event));
      return ev;
    }
    case 'identify': {
      const ev = blank(KIND.identify, 'identify', t, EMPTY);
      ev.traits = mapTraits(event.traits ?? EMPTY, mapping);
      return ev;
    }
    case 'group':
    case 'alias':
      return null;
    case 'track':
      break;
  }
  const rawName = event.event ?? '';
  const rule = resolveRule(rawName, mapping);
  let p: JsonObject = event.properties ?? EMPTY;
  if (rule === null) {
    const other = blank(KIND.other, rawName, t, p);
    other.text = firstText(p);
    return other;
  }
  const name = rule.to;
  const kind = rule.kind;
  p = mapProperties(p, rule);
  const ev = blank(kind, name, t, p);
  ev.text = firstText(p);
  switch (kind) {
    case KIND.orderCompleted: {
      const products = p['products'];
      ev.revenue = orderRevenue(p, products);
      ev.discount = Math.abs(num(p['discount'], 0));
      ev.coupon = str(p['coupon']);
      ev.orderId = str(p['order_id']);
      ev.categories = orderCategories(p, products);
      ev.promotional = bool(p['promotional']) ?? false;
      break;
    }
    case KIND.orderRefunded: {
      ev.revenue = Math.abs(orderRevenue(p, p['products']));
      ev.orderId = str(p['order_id']);
      break;
    }
    case KIND.emailDelivered:
      ev.promotional = bool(p['promotional']) ?? false;
      break;
    case KIND.emailOpened:
    case KIND.emailLinkClicked:
    case KIND.productViewed:
    case KIND.productAdded:
    case KIND.productsSearched:
      ev.promotional = bool(p['promotional']) ?? false;
      ev.hour = localHour(t, timezoneOf(event));
      break;
    case KIND.emailBounced: {
      const b = str(p['bounce_type'])?.toLowerCase();
      ev.bounceType = b === 'hard' ? 'hard' : b === 'soft' ? 'soft' : null;
      break;
    }
    case KIND.supportTicketCreated: {
      ev.channel = str(p['channel'])?.toLowerCase() ?? null;
      ev.agent = bool(p['agent']) ?? ev.channel !== 'self_service';
      break;
    }
    case KIND.surveyAnswered: {
      const n = num(p['nps'], Number.NaN);
      ev.nps = Number.isFinite(n) ? Math.min(10, Math.max(0, n)) : -1;
      ev.label = str(p['relationship']);
      ev.lens = str(p['lens']);
      ev.channel = 'survey';
      break;
    }
    case KIND.statementCaptured: {
      ev.channel = str(p['channel'])?.toLowerCase() ?? null;
      ev.public = bool(p['public']) ?? (ev.channel !== null && PUBLIC_CHANNELS.has(ev.channel));
      break;
    }
    case KIND.reviewSubmitted:
      ev.channel = 'review';
      ev.public = bool(p['public']) ?? true;
      break;
    case KIND.communityPostCreated:
      ev.channel = 'community';
      ev.public = bool(p['public']) ?? true;
      break;
    case KIND.complaintFiled:
    case KIND.ideaSubmitted:
      ev.channel = str(p['channel'])?.toLowerCase() ?? null;
      ev.public = bool(p['public']) ?? false;
      break;
    case KIND.membershipStarted:
      ev.contract = bool(p['contract']) ?? false;
      break;
    default:
      break;
  }
  return ev;
}
