import { z } from 'zod';
import { capSchema, CHANNELS, durationSchema } from './contact-policy';

/**
 * Playbooks: YAML rules that turn relationship signals into measures.
 * A playbook has one trigger, optional conditions, a holdout share, a goal (conversion) and a flat
 * list of steps. Steps run in order; `branch` and `split` jump forward to a step id (never back, so a
 * playbook always ends). Reference with examples: docs/automation.md.
 */

const id = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "lower-case letters, digits, '_', '-' or '.'");
const name = z.string().min(1);

// ---- conditions ------------------------------------------------------------------------------

/** Comparison operators for indicator and trait conditions. */
const compare = {
  lt: z.number().optional(),
  lte: z.number().optional(),
  gt: z.number().optional(),
  gte: z.number().optional(),
  eq: z.union([z.number(), z.string(), z.boolean()]).optional(),
  ne: z.union([z.number(), z.string(), z.boolean()]).optional(),
};

/** A condition on a customer: indicators, traits, types in any lens, combined with all/any/not. */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { indicator: string; lt?: number; lte?: number; gt?: number; gte?: number; eq?: number | string | boolean; ne?: number | string | boolean }
  | { trait: string; lt?: number; lte?: number; gt?: number; gte?: number; eq?: number | string | boolean; ne?: number | string | boolean; in?: (string | number)[]; exists?: boolean }
  | { lens: string; is?: string; in?: string[]; not_in?: string[] };

/** Schema of {@link Condition}. */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(conditionSchema).min(1) }),
    z.strictObject({ any: z.array(conditionSchema).min(1) }),
    z.strictObject({ not: conditionSchema }),
    z.strictObject({ indicator: name, ...compare }),
    z.strictObject({ trait: name, ...compare, in: z.array(z.union([z.string(), z.number()])).optional(), exists: z.boolean().optional() }),
    z.strictObject({ lens: name, is: name.optional(), in: z.array(name).optional(), not_in: z.array(name).optional() }),
  ]),
) as z.ZodType<Condition>;

// ---- triggers --------------------------------------------------------------------------------

const typeRef = z.strictObject({ lens: name, type: name });

/** What starts a playbook for a customer. Exactly one key. */
export const triggerSchema = z.union([
  z.strictObject({ entered: typeRef }),
  z.strictObject({ left: typeRef }),
  z.strictObject({ transition: z.strictObject({ lens: name, from: name, to: name }) }),
  z.strictObject({
    indicator: z.strictObject({ name, crosses: z.enum(['below', 'above']), threshold: z.number() }),
  }),
  z.strictObject({ event: z.strictObject({ name, where: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional() }) }),
  z.strictObject({
    schedule: z.strictObject({
      every: z.enum(['daily', 'weekly', 'monthly']),
      lens: name,
      type: name,
    }),
  }),
]);
/** A parsed trigger. */
export type Trigger = z.output<typeof triggerSchema>;

// ---- steps -----------------------------------------------------------------------------------

const onBlocked = z.enum(['defer', 'drop']);

const waitStep = z.strictObject({
  id,
  /** A duration ('3d') or `until: 'HH:MM'` (next such local time) or an ISO date-time. */
  wait: z.union([durationSchema, z.strictObject({ until: z.string().min(1) })]),
});

const sendStep = z.strictObject({
  id,
  send: z.strictObject({
    channel: z.enum(['email', 'in_app']).default('email'),
    /** Template name, or one per A/B variant (`{ A: t1, B: t2 }`). */
    template: z.union([name, z.record(z.string(), name)]),
    /** Selling message (counts against `max_selling_share`). */
    promotional: z.boolean().default(false),
    /** Transactional: exempt from caps and quiet hours and from unsubscribe; never from hard bounces. */
    transactional: z.boolean().default(false),
    /** Overrides the playbook's `on_blocked`. */
    on_blocked: onBlocked.optional(),
  }),
});

const taskStep = z.strictObject({
  id,
  task: z.strictObject({
    /** `trait:<key>` (e.g. trait:account_manager) for a named person, else a queue name. */
    assign_to: name,
    /** Queue used when `assign_to` names a trait the customer does not have. */
    fallback_queue: name.default('customer-care'),
    title: name,
    description: z.string().default(''),
    due_in: durationSchema.optional(),
    /** personal or dedicated assistance (canvas modes). */
    kind: z.enum(['personal', 'dedicated']).default('personal'),
  }),
});

const webhookStep = z.strictObject({
  id,
  webhook: z.strictObject({
    url: z.url(),
    /** Extra fields merged into the JSON body. */
    payload: z.record(z.string(), z.unknown()).default({}),
    /** True when the receiver contacts the customer (then policy and consent apply as for email). */
    customer_facing: z.boolean().default(false),
  }),
});

const branchStep = z.strictObject({
  id,
  branch: z.union([
    z.strictObject({ if: conditionSchema, then: id.optional(), else: id.optional() }),
    z.strictObject({
      /** Wait up to `within` for this event (default: of this playbook's messages when it is an email event). */
      on_event: name,
      within: durationSchema,
      then: id.optional(),
      else: id.optional(),
    }),
  ]),
});

const splitStep = z.strictObject({
  id,
  split: z.strictObject({
    variants: z
      .array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_-]+$/), weight: z.number().positive().default(1), goto: id.optional() }))
      .min(2),
    /** `hash`: stable weighted split; `thompson`: per type, once `min_samples` enrolments per variant exist. */
    strategy: z.enum(['hash', 'thompson']).default('hash'),
    min_samples: z.number().int().min(1).default(100),
    seed: z.number().int().default(1),
  }),
});

const exitStep = z.strictObject({ id, exit: z.union([z.literal(true), z.string()]) });

/** One step of a playbook. */
export const stepSchema = z.union([waitStep, sendStep, taskStep, webhookStep, branchStep, splitStep, exitStep]);
/** A parsed step. */
export type Step = z.output<typeof stepSchema>;
/** Kinds of step. */
export type StepKind = 'wait' | 'send' | 'task' | 'webhook' | 'branch' | 'split' | 'exit';

/** The kind of a step (its action key). */
export function stepKind(step: Step): StepKind {
  if ('wait' in step) return 'wait';
  if ('send' in step) return 'send';
  if ('task' in step) return 'task';
  if ('webhook' in step) return 'webhook';
  if ('branch' in step) return 'branch';
  if ('split' in step) return 'split';
  return 'exit';
}

/** Overrides of a type's contact policy: every field optional and without defaults (absent = keep the type's). */
export const policyOverrideSchema = z.strictObject({
  channels: z.array(z.enum(CHANNELS)).optional(),
  caps: z.partialRecord(z.enum([...CHANNELS, 'overall']), capSchema).optional(),
  quiet_hours: z.strictObject({ start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/), end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/) }).optional(),
  send_time: z
    .strictObject({ strategy: z.enum(['best_hour', 'fixed', 'immediate']), fallback_hour: z.number().int().min(0).max(23).default(10) })
    .optional(),
  tone: z.string().min(1).optional(),
  max_selling_share: z.number().min(0).max(1).optional(),
});

// ---- playbook --------------------------------------------------------------------------------

/** The playbook schema (as written in YAML). */
export const playbookSchema = z.strictObject({
  id,
  name,
  description: z.string().default(''),
  enabled: z.boolean().default(true),
  trigger: triggerSchema,
  /** Must hold when the trigger fires, or the customer is not enrolled. */
  conditions: conditionSchema.optional(),
  /** Checked before every step; when true the customer leaves the playbook. */
  exit_when: conditionSchema.optional(),
  /** Lens whose type policy governs sends (default: the trigger's lens, else lifecycle). */
  policy_lens: name.optional(),
  /** Overrides of the type's contact policy for this playbook. */
  policy: policyOverrideSchema.optional(),
  /** Share of triggered customers deliberately not treated (control group). */
  holdout: z.number().min(0).max(0.9).default(0.1),
  /** `once`: a customer enters at most once ever; `always`; or a duration between entries. */
  reenter: z.union([z.enum(['once', 'always']), durationSchema]).default('once'),
  /** What a blocked send does by default. */
  on_blocked: onBlocked.default('defer'),
  /** Give up deferring a send after this long (then it is dropped with its reason). */
  max_defer: durationSchema.default(14 * 86_400_000),
  /** Conversion: this event within `within` of entering. Revenue from properties.revenue|total. */
  goal: z.strictObject({ event: name, within: durationSchema }).default({ event: 'Order Completed', within: 14 * 86_400_000 }),
  steps: z.array(stepSchema).min(1),
});

/** A validated playbook. */
export type Playbook = z.output<typeof playbookSchema>;

/** A semantic problem in a playbook (after the schema): message and the path to the bad node. */
export interface PlaybookProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Lens (if any) a trigger refers to. */
export function triggerLens(t: Trigger): string | null {
  if ('entered' in t) return t.entered.lens;
  if ('left' in t) return t.left.lens;
  if ('transition' in t) return t.transition.lens;
  if ('schedule' in t) return t.schedule.lens;
  return null;
}

/** Lens whose contact policy governs this playbook's sends. */
export function policyLensOf(p: Playbook): string {
  return p.policy_lens ?? triggerLens(p.trigger) ?? 'lifecycle';
}

/**
 * Checks what the schema cannot: unique step ids, jump targets that exist and lie strictly
 * ahead (so a playbook always terminates), variant names used by templates, known channels.
 */
export function checkPlaybook(p: Playbook): PlaybookProblem[] {
  const problems: PlaybookProblem[] = [];
  const index = new Map<string, number>();
  p.steps.forEach((s, i) => {
    if (index.has(s.id)) problems.push({ path: ['steps', i, 'id'], message: `duplicate step id '${s.id}'` });
    else index.set(s.id, i);
  });
  const target = (from: number, to: string | undefined, path: (string | number)[]): void => {
    if (to === undefined) return;
    const j = index.get(to);
    if (j === undefined) problems.push({ path, message: `no step with id '${to}'` });
    else if (j <= from) problems.push({ path, message: `jump to '${to}' goes backwards; targets must come later in the list` });
  };
  const variants = new Set<string>();
  p.steps.forEach((s, i) => {
    if ('branch' in s) {
      target(i, s.branch.then, ['steps', i, 'branch', 'then']);
      target(i, s.branch.else, ['steps', i, 'branch', 'else']);
    }
    if ('split' in s) {
      s.split.variants.forEach((v, k) => {
        if (variants.has(v.name)) problems.push({ path: ['steps', i, 'split', 'variants', k, 'name'], message: `duplicate variant '${v.name}'` });
        variants.add(v.name);
        target(i, v.goto, ['steps', i, 'split', 'variants', k, 'goto']);
      });
    }
  });
  p.steps.forEach((s, i) => {
    if ('send' in s && typeof s.send.template !== 'string') {
      for (const v of Object.keys(s.send.template)) {
        if (v !== 'default' && !variants.has(v)) {
          problems.push({ path: ['steps', i, 'send', 'template', v], message: `variant '${v}' is not defined by any split step (or use 'default')` });
        }
      }
    }
  });
  if (p.policy?.channels) {
    for (const c of p.policy.channels) if (!CHANNELS.includes(c)) problems.push({ path: ['policy', 'channels'], message: `unknown channel ${c}` });
  }
  return problems;
}

/** Template name a send step uses for a variant (falls back to `default`, then the first one). */
export function templateFor(send: { template: string | Record<string, string> }, variant: string | null): string {
  if (typeof send.template === 'string') return send.template;
  return (variant ? send.template[variant] : undefined) ?? send.template['default'] ?? Object.values(send.template)[0] ?? '';
}
