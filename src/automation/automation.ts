import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CONTACT_POLICY, type Channel, type ContactPolicy } from '../domain/contact-policy';
import { isoTime } from '../domain/event';
import { NotFoundError } from '../domain/errors';
import { policyLensOf, stepKind, templateFor, type Playbook, type Step } from '../domain/playbook';
import { evaluateCondition } from '../domain/playbook-condition';
import {
  afterQuietHours,
  checkContactPolicy,
  chooseSendTime,
  historyWindow,
  inQuietHours,
  mergePolicy,
  nextLocalTime,
  type PolicyBlock,
} from '../domain/playbook-policy';
import { hashChoose, holdoutDraw, thompsonChoose } from '../domain/playbook-stats';
import { VOCABULARY } from '../domain/vocabulary';
import type { Clock } from '../ports/clock';
import type { ActionCompletion, AutomationStore, Enrolment, ScheduledAction } from '../ports/automation-store';
import { HARD_SUPPRESSIONS, pendingAction } from '../ports/automation-store';
import { optedOutPerEngine } from './engine-opt-out';
import type { ChannelAdapter, OutboundMessage, SendOptions, SendResult } from '../ports/channel';
import { parseAutomationConfig, type AutomationConfigInput } from './config';
import { dryRunPlaybook, type DryRunOptions, type DryRunReport } from './dry-run';
import { computeEffectiveness, type EffectivenessReport } from './effectiveness';
import { createLimiter, type Limiter } from './limiter';
import type { PlaybookRegistry } from './playbook-registry';
import { registerAutomationRoutes } from './routes';
import { createTemplateRenderer, type TemplateRenderer } from './templates';
import { signToken } from './tokens';
import type { AutomationConfig, AutomationLogger, AutomationSignal, CustomerDirectory, CustomerView, Emit, EmittedMessage } from './types';

/** Everything the automation engine needs, passed explicitly. */
export interface AutomationDeps {
  readonly clock: Clock;
  readonly store: AutomationStore;
  readonly customers: CustomerDirectory;
  /** Adapters per channel; a playbook step on a missing channel fails (dead letter). */
  readonly channels: Partial<Record<Channel, ChannelAdapter>>;
  /** Feedback events out (Segment track messages with deterministic messageIds). */
  readonly emit: Emit;
  readonly playbooks: PlaybookRegistry;
  readonly config: AutomationConfigInput;
  readonly logger?: AutomationLogger;
  /** Defaults to templates loaded from `config.templateDirs`. */
  readonly templates?: TemplateRenderer;
}

/** The automation engine. */
export interface Automation {
  /** Reacts to one processor signal (enrolments, conversions, event branches, suppressions). */
  handle(signal: AutomationSignal): Promise<void>;
  /** Same for a batch in log order, in one store transaction; returns enrolments created. */
  handleMany(signals: readonly AutomationSignal[]): Promise<number>;
  /** Carries out actions due at `now` (default clock), at most `max` (default all); returns how many were processed. */
  dispatchDue(now?: number, max?: number): Promise<number>;
  /** Enrols customers for schedule-triggered playbooks whose period began; returns enrolments. */
  tickSchedules(now?: number): Promise<number>;
  /** Polls (schedules + due actions) every `config.pollMs` until stop(). */
  start(): void;
  /** Stops polling, waits for the round in flight and closes channel adapters. */
  stop(): Promise<void>;
  /** Registers tracking, unsubscribe, inbox, task and playbook routes on a Fastify instance. */
  routes(app: FastifyInstance): Promise<void>;
  dryRun(playbookId: string, opts?: Partial<DryRunOptions>): Promise<DryRunReport>;
  effectiveness(playbookId: string): Promise<EffectivenessReport>;
  /** Internals used by the routes (and tests). */
  readonly internals: AutomationInternals;
}

/** What routes and tools use besides the public methods. */
export interface AutomationInternals {
  readonly deps: AutomationDeps;
  readonly config: AutomationConfig;
  readonly templates: TemplateRenderer;
  /** Builds a feedback message about an action. */
  feedback(event: string, actionId: string, customerId: string, at: number, extra: Record<string, unknown>, messageKey: string): Promise<EmittedMessage | null>;
  /** Records an unsubscribe on a channel (marketing) with its source; emits Unsubscribed. */
  unsubscribe(customerId: string, channel: Channel, source: string, actionId: string | null, at: number): Promise<void>;
  /** Lifts a previous unsubscribe (preference page, Subscribed event). */
  resubscribe(customerId: string, channel: Channel, at: number): Promise<void>;
  /** Enables/disables a playbook at runtime (new enrolments only; running ones finish). */
  setEnabled(playbookId: string, enabled: boolean): Promise<void>;
  /** Whether a playbook is enabled now (YAML value unless overridden). */
  isEnabled(playbookId: string): Promise<boolean>;
  /** Completes a task and emits Task Completed. */
  completeTask(id: string, outcome: string): Promise<import('../ports/automation-store').Task>;
}

const EMAIL_EVENTS: ReadonlySet<string> = new Set([
  VOCABULARY.emailDelivered,
  VOCABULARY.emailOpened,
  VOCABULARY.emailLinkClicked,
  VOCABULARY.emailBounced,
  VOCABULARY.emailMarkedAsSpam,
  VOCABULARY.unsubscribed,
]);

/**
 * Start of the reason of an action completed as sent although the server's acceptance was never seen: the
 * send passed its commit point (marked handed over) and then the dispatcher died, or the connection was
 * lost after the end of data. Such a message was delivered unless the failure fell in the instant between
 * the mark and the final dot.
 */
export const HANDED_OVER_NOT_CONFIRMED = 'handed over; delivery not confirmed';

/** Deterministic message ids, so a re-emitted feedback event is deduplicated by ingest. */
export function feedbackMessageId(key: string): string {
  return `rapport-auto-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

function periodKey(now: number, every: 'daily' | 'weekly' | 'monthly'): string {
  const d = new Date(now);
  if (every === 'daily') return d.toISOString().slice(0, 10);
  if (every === 'monthly') return d.toISOString().slice(0, 7);
  // Weeks start on Monday (UTC).
  const monday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7)));
  return `W${monday.toISOString().slice(0, 10)}`;
}

/** The effective contact policy for a playbook and a customer (type policy of the policy lens + overrides). */
export function policyFor(pb: Playbook, view: CustomerView | null): ContactPolicy {
  const lens = policyLensOf(pb);
  return mergePolicy(view?.policies[lens] ?? DEFAULT_CONTACT_POLICY, pb.policy as Partial<ContactPolicy> | undefined);
}

/** Whether a signal matches a playbook's trigger (enabled state is checked by the caller). */
export function triggered(pb: Playbook, s: AutomationSignal): boolean {
  const t = pb.trigger;
  if (s.kind === 'type_changed') {
    if ('entered' in t) return t.entered.lens === s.lens && t.entered.type === s.to && s.from !== s.to;
    if ('left' in t) return t.left.lens === s.lens && t.left.type === s.from && s.to !== s.from;
    if ('transition' in t) return t.transition.lens === s.lens && t.transition.from === s.from && t.transition.to === s.to;
    return false;
  }
  if (s.kind === 'indicator_changed') {
    if (!('indicator' in t) || t.indicator.name !== s.indicator) return false;
    const th = t.indicator.threshold;
    return t.indicator.crosses === 'below' ? s.previous >= th && s.value < th : s.previous <= th && s.value > th;
  }
  if ('event' in t && t.event.name === s.event) {
    for (const [k, v] of Object.entries(t.event.where ?? {})) if (s.properties[k] !== v) return false;
    return true;
  }
  return false;
}

/** Creates the automation engine. Nothing runs until handle/dispatchDue/start is called. */
export function createAutomation(deps: AutomationDeps): Automation {
  const config = parseAutomationConfig(deps.config);
  const { store, customers, clock } = deps;
  const templates = deps.templates ?? createTemplateRenderer(config.templateDirs);
  const log = deps.logger;
  const limiters = new Map<Channel, Limiter>();
  const limiter = (c: Channel): Limiter => {
    let l = limiters.get(c);
    if (!l) {
      const lim = config.limits[c] ?? { concurrency: c === 'email' ? 8 : 16, ratePerSecond: 0 };
      l = createLimiter(lim.concurrency, lim.ratePerSecond);
      limiters.set(c, l);
    }
    return l;
  };

  // ---- scheduling ----------------------------------------------------------------------------

  function actionId(pb: Playbook, step: Step, customerId: string, triggerKey: string): string {
    return `${pb.id}:${step.id}:${customerId}:${triggerKey}`;
  }

  function makeAction(pb: Playbook, index: number, e: Enrolment, view: CustomerView | null, base: number, now: number): ScheduledAction | null {
    const step = pb.steps[index];
    if (!step) return null;
    let due = base;
    let waitEvent: string | null = null;
    if ('send' in step && !step.send.transactional) {
      due = chooseSendTime(base, view?.timezone, policyFor(pb, view), view?.indicators['best_send_hour']);
    } else if ('branch' in step && 'on_event' in step.branch) {
      waitEvent = step.branch.on_event;
      due = base + step.branch.within;
    }
    return pendingAction({
      id: actionId(pb, step, e.customerId, e.triggerKey),
      enrolmentId: e.id,
      playbookId: pb.id,
      stepId: step.id,
      customerId: e.customerId,
      due,
      waitEvent,
      createdAt: now,
    });
  }

  // Runtime enable/disable overrides (POST /api/playbooks/:id/enable|disable), loaded once, kept in step.
  let overrides: Record<string, boolean> | null = null;
  async function enabledSet(): Promise<(pb: Playbook) => boolean> {
    overrides ??= await store.playbookStates();
    const o = overrides;
    return (pb) => o[pb.id] ?? pb.enabled;
  }

  async function mayEnter(pb: Playbook, customerId: string, at: number, batch: Map<string, number>): Promise<boolean> {
    if (pb.reenter === 'always') return true;
    const k = `${pb.id}\u0000${customerId}`;
    const inBatch = batch.get(k);
    const last = inBatch !== undefined ? inBatch : (await store.lastEnrolment(pb.id, customerId))?.enteredAt;
    if (last === undefined) return true;
    if (pb.reenter === 'once') return false;
    return at - last >= pb.reenter;
  }

  function newEnrolment(pb: Playbook, view: CustomerView, triggerKey: string, at: number): { enrolment: Enrolment; actions: ScheduledAction[] } {
    const lens = policyLensOf(pb);
    const holdout = holdoutDraw(pb.id, view.customerId) < pb.holdout;
    const enrolment: Enrolment = {
      id: `${pb.id}:${view.customerId}:${triggerKey}`,
      playbookId: pb.id,
      customerId: view.customerId,
      triggerKey,
      enteredAt: at,
      holdout,
      variant: null,
      policyLens: lens,
      type: view.types[lens] ?? null,
      status: holdout ? 'holdout' : 'active',
      reached: false,
      convertedAt: null,
      revenue: 0,
      unsubscribed: false,
      goalEvent: pb.goal.event,
      goalWithin: pb.goal.within,
    };
    const now = clock.now();
    const first = holdout ? null : makeAction(pb, 0, enrolment, view, Math.max(now, at), now);
    return { enrolment, actions: first ? [first] : [] };
  }

  async function onEvent(s: Extract<AutomationSignal, { kind: 'event' }>): Promise<void> {
    const channel = (typeof s.properties.channel === 'string' ? s.properties.channel : 'email') as Channel;
    if (s.event === VOCABULARY.unsubscribed) {
      await store.addSuppression({ customerId: s.customerId, address: null, channel, reason: 'unsubscribed', at: s.at, source: 'event' });
    } else if (s.event === VOCABULARY.emailMarkedAsSpam) {
      await store.addSuppression({ customerId: s.customerId, address: null, channel: 'email', reason: 'complained', at: s.at, source: 'event' });
    } else if (s.event === VOCABULARY.emailBounced && s.properties.bounce_type === 'hard') {
      await store.addSuppression({ customerId: s.customerId, address: null, channel: 'email', reason: 'hard_bounce', at: s.at, source: 'event' });
    } else if (s.event === VOCABULARY.subscribed) {
      await store.removeSuppression(s.customerId, channel, ['unsubscribed']);
      await store.setConsent(s.customerId, channel, true, s.at);
    }
    // Conversions: the goal event within the window after entering (holdout included: that is the control).
    const since = s.at - 366 * 86_400_000;
    for (const e of await store.enrolmentsOf(s.customerId, since)) {
      if (e.convertedAt !== null || e.goalEvent !== s.event || s.at < e.enteredAt || s.at > e.enteredAt + e.goalWithin) continue;
      const rev = Number(s.properties.revenue ?? s.properties.total ?? 0);
      await store.markConverted(e.id, s.at, Number.isFinite(rev) ? rev : 0);
    }
    // Event branches ("clicked within 3 days"): email events must belong to the same playbook.
    for (const w of await store.eventWaits(s.customerId, s.event)) {
      if (EMAIL_EVENTS.has(s.event) && s.properties.campaign_id !== undefined && s.properties.campaign_id !== w.playbookId) continue;
      await store.matchEventWait(w.id, clock.now());
    }
  }

  async function handleMany(signals: readonly AutomationSignal[]): Promise<number> {
    const items: { enrolment: Enrolment; actions: ScheduledAction[] }[] = [];
    const batch = new Map<string, number>();
    const isEnabled = await enabledSet();
    const playbooks = deps.playbooks.current().filter(isEnabled);
    for (const s of signals) {
      if (s.kind === 'event') await onEvent(s);
      let view: CustomerView | null | undefined;
      for (const pb of playbooks) {
        if (!triggered(pb, s)) continue;
        if (view === undefined) view = await customers.get(s.customerId);
        if (!view) break;
        if (pb.conditions && !evaluateCondition(pb.conditions, view)) continue;
        if (!(await mayEnter(pb, view.customerId, s.at, batch))) continue;
        batch.set(`${pb.id}\u0000${view.customerId}`, s.at);
        items.push(newEnrolment(pb, view, String(s.eventSeq), s.at));
      }
    }
    if (items.length === 0) return 0;
    return (await store.enrol(items)).length;
  }

  async function tickSchedules(now = clock.now()): Promise<number> {
    let n = 0;
    const isEnabled = await enabledSet();
    for (const pb of deps.playbooks.current()) {
      if (!isEnabled(pb) || !('schedule' in pb.trigger)) continue;
      const sch = pb.trigger.schedule;
      const period = periodKey(now, sch.every);
      if (!(await store.claimScheduleRun(pb.id, period, now))) continue;
      let items: { enrolment: Enrolment; actions: ScheduledAction[] }[] = [];
      for await (const view of customers.iterate()) {
        if (view.types[sch.lens] !== sch.type) continue;
        if (pb.conditions && !evaluateCondition(pb.conditions, view)) continue;
        items.push(newEnrolment(pb, view, `schedule-${period}`, now));
        if (items.length >= 1000) {
          n += (await store.enrol(items)).length;
          items = [];
        }
      }
      n += (await store.enrol(items)).length;
    }
    return n;
  }

  // ---- dispatch ------------------------------------------------------------------------------

  /**
   * How an executed action ends: completed, deferred, or `lost` (the lease was lost at the commit point:
   * another dispatcher reclaimed the action and owns it now, so this one leaves the row alone).
   */
  type Outcome = { kind: 'complete'; completion: ActionCompletion } | { kind: 'defer'; due: number; reason: string } | { kind: 'lost'; reason: string };

  // Group commit of hand-over marks (the commit point of email sends, see SendOptions.commitPoint): a mark
  // is on its send's critical path (the final dot waits for it), so the first one commits at once (next
  // microtask) and those asked for while a commit is under way share the next transaction; with a network
  // store (PostgreSQL) concurrent sends thus pay one round trip between them rather than one each.
  // (Waiting for more, e.g. to the end of the event-loop turn, saved transactions but cost more throughput
  // in bench:automation than it saved: the 8 SMTP connections are latency-bound.)
  let markQueue: { id: string; leaseUntil: number; resolve: (ok: boolean) => void; reject: (err: unknown) => void }[] = [];
  let markBusy = false;
  const flushMarks = async (): Promise<void> => {
    while (markQueue.length > 0) {
      const batch = markQueue;
      markQueue = [];
      try {
        const marked = await store.markHandedOver(
          batch.map((x) => ({ id: x.id, leaseUntil: x.leaseUntil })),
          clock.now(),
        );
        for (const x of batch) x.resolve(marked.has(x.id));
      } catch (err) {
        for (const x of batch) x.reject(err);
      }
    }
    markBusy = false;
  };
  /** Durably marks a claimed action handed over under its lease; false when the lease was lost. */
  function markHandedOver(action: ScheduledAction): Promise<boolean> {
    if (action.leaseUntil === null) return Promise.resolve(false);
    const leaseUntil = action.leaseUntil;
    return new Promise<boolean>((resolve, reject) => {
      markQueue.push({ id: action.id, leaseUntil, resolve, reject });
      if (markBusy) return;
      markBusy = true;
      queueMicrotask(() => void flushMarks());
    });
  }

  async function feedback(
    event: string,
    aid: string,
    customerId: string,
    at: number,
    extra: Record<string, unknown>,
    messageKey: string,
  ): Promise<EmittedMessage | null> {
    const action = await store.getAction(aid);
    const enrolment = action ? await store.getEnrolment(action.enrolmentId) : null;
    const pb = action ? deps.playbooks.get(action.playbookId) : undefined;
    const step = pb?.steps.find((x) => x.id === action?.stepId);
    const view = await customers.get(customerId);
    return {
      type: 'track',
      messageId: feedbackMessageId(messageKey),
      userId: view?.userId ?? customerId,
      event,
      properties: {
        campaign_id: action?.playbookId ?? null,
        email_id: aid,
        variant: enrolment?.variant ?? null,
        promotional: step && 'send' in step ? step.send.promotional : false,
        ...extra,
      },
      timestamp: isoTime(at),
      context: { library: { name: 'rapport-automation' } },
    };
  }

  /** Feedback about an action whose context is already at hand (no lookups). */
  function feedbackFor(event: string, action: ScheduledAction, e: Enrolment, view: CustomerView, promotional: boolean, at: number, extra: Record<string, unknown>, messageKey: string): EmittedMessage {
    return {
      type: 'track',
      messageId: feedbackMessageId(messageKey),
      userId: view.userId,
      event,
      properties: { campaign_id: action.playbookId, email_id: action.id, variant: e.variant, promotional, ...extra },
      timestamp: isoTime(at),
      context: { library: { name: 'rapport-automation' } },
    };
  }

  function nextIndex(pb: Playbook, from: number, target: string | undefined): number {
    if (target === undefined) return from + 1;
    return pb.steps.findIndex((s) => s.id === target);
  }

  async function follow(pb: Playbook, e: Enrolment, index: number, view: CustomerView | null, base: number, now: number): Promise<{ next: ScheduledAction[]; done: boolean }> {
    const a = makeAction(pb, index, e, view, base, now);
    return a ? { next: [a], done: false } : { next: [], done: true };
  }

  function headersFor(unsubscribeUrl: string, key: string, variant: string | null, transactional: boolean, pbId: string): Record<string, string> {
    const h: Record<string, string> = {
      'X-Rapport-Idempotency-Key': key,
      'X-Rapport-Campaign': pbId,
      'X-Rapport-Variant': variant ?? '',
    };
    if (transactional) {
      h['X-Rapport-Transactional'] = 'true';
    } else {
      // RFC 8058 one-click unsubscribe (RFC 2369 List-Unsubscribe with an https URI).
      h['List-Unsubscribe'] = `<${unsubscribeUrl}>`;
      h['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
      h['Precedence'] = 'bulk';
    }
    return h;
  }

  async function consentBlock(view: CustomerView, channel: Channel, transactional: boolean): Promise<string | null> {
    const address = channel === 'email' ? (view.email ?? null) : null;
    const sup = await store.suppressionsFor(view.customerId, address, channel);
    for (const s of sup) {
      if (HARD_SUPPRESSIONS.has(s.reason) || !transactional) return `suppressed_${s.reason}`;
    }
    if (optedOutPerEngine(view, channel, transactional)) return 'suppressed_unsubscribed';
    if (!transactional && config.consentRequired.includes(channel)) {
      const c = await store.consent(view.customerId, channel);
      const trait = view.traits[`consent_${channel}`] ?? view.traits[`${channel}_consent`];
      if (c === false || (c === null && trait !== true)) return 'no_consent';
    }
    return null;
  }

  async function policyBlock(pb: Playbook, view: CustomerView, channel: Channel, promotional: boolean, now: number): Promise<PolicyBlock | null> {
    const policy = policyFor(pb, view);
    if (inQuietHours(now, view.timezone, policy.quiet_hours)) {
      return { reason: 'quiet_hours', retryAt: afterQuietHours(now, view.timezone, policy.quiet_hours) };
    }
    const history = await store.contactHistory(view.customerId, now - historyWindow(policy));
    const b = checkContactPolicy(policy, channel, promotional, now, history);
    if (b && b.retryAt !== null) return { reason: b.reason, retryAt: afterQuietHours(b.retryAt, view.timezone, policy.quiet_hours) };
    return b;
  }

  async function execute(action: ScheduledAction, recovered: boolean, now: number, emitted: EmittedMessage[]): Promise<Outcome> {
    const done = (status: ActionCompletion['status'], reason: string | null, extra: Partial<ActionCompletion> = {}): Outcome => ({
      kind: 'complete',
      completion: { actionId: action.id, status, reason, now, next: [], ...extra },
    });
    if (recovered && action.handedOverAt !== null) return completeHandedOver(action, now, emitted);
    const pb = deps.playbooks.get(action.playbookId);
    if (!pb) return done('cancelled', 'playbook removed');
    const e = await store.getEnrolment(action.enrolmentId);
    if (!e || e.status !== 'active') return done('cancelled', `enrolment ${e?.status ?? 'missing'}`);
    const index = pb.steps.findIndex((s) => s.id === action.stepId);
    const step = pb.steps[index];
    if (!step) return done('cancelled', 'step removed', { enrolment: { id: e.id, status: 'exited' } });
    const view = await customers.get(action.customerId);
    if (!view) return done('cancelled', 'customer unknown', { enrolment: { id: e.id, status: 'exited' } });
    if (pb.exit_when && evaluateCondition(pb.exit_when, view)) return done('cancelled', 'exit_when', { enrolment: { id: e.id, status: 'exited' } });

    const proceed = async (status: 'done' | 'dropped' | 'failed', reason: string | null, target: string | undefined, extra: Partial<ActionCompletion> = {}): Promise<Outcome> => {
      const f = await follow(pb, e, nextIndex(pb, index, target), view, Math.max(now, action.due), now);
      const enrolment = { id: e.id, ...(extra.enrolment ?? {}), ...(f.done ? { status: 'done' as const } : {}) };
      return done(status, reason, { ...extra, next: f.next, enrolment });
    };

    const kind = stepKind(step);
    if (recovered) {
      const ch: Channel | null = kind === 'send' && 'send' in step ? step.send.channel : kind === 'webhook' ? 'webhook' : kind === 'task' ? 'task' : null;
      const adapter = ch ? deps.channels[ch] : undefined;
      if (ch && adapter && !adapter.idempotent) {
        // The process died mid-send on a channel that cannot dedupe: do not risk a second send.
        return proceed('failed', 'in flight at crash; channel not idempotent, not retried', undefined, {
          deadLetter: { actionId: action.id, channel: ch, error: 'in flight at crash', attempts: action.attempts, at: now, payload: null },
        });
      }
    }

    switch (kind) {
      case 'wait': {
        const w = (step as Extract<Step, { wait: unknown }>).wait;
        let until: number;
        if (typeof w === 'number') until = action.due + w;
        else if (/^\d{2}:\d{2}$/.test(w.until)) {
          const [h, m] = w.until.split(':').map(Number);
          until = nextLocalTime(action.due + 60_000, view.timezone, (h ?? 0) * 60 + (m ?? 0));
        } else until = Date.parse(w.until) || action.due;
        const f = await follow(pb, e, index + 1, view, Math.max(until, now), now);
        return done('done', null, { next: f.next, enrolment: { id: e.id, ...(f.done ? { status: 'done' as const } : {}) } });
      }
      case 'exit':
        return done('done', typeof (step as { exit: unknown }).exit === 'string' ? String((step as { exit: string }).exit) : 'exit', { enrolment: { id: e.id, status: 'done' } });
      case 'branch': {
        const b = (step as Extract<Step, { branch: unknown }>).branch;
        if ('if' in b) {
          const yes = evaluateCondition(b.if, view);
          return proceed('done', yes ? 'then' : 'else', yes ? b.then : b.else);
        }
        return proceed('done', action.matched ? 'then' : 'else', action.matched ? b.then : b.else);
      }
      case 'split': {
        const sp = (step as Extract<Step, { split: unknown }>).split;
        let variant = e.variant;
        if (!variant || !sp.variants.some((v) => v.name === variant)) {
          const key = `${pb.id}:${e.customerId}:${e.triggerKey}`;
          variant = hashChoose(sp.variants, key);
          if (sp.strategy === 'thompson') {
            const stats = await store.variantStats(pb.id, e.type);
            const arms = sp.variants.map((v) => ({ name: v.name, n: 0, conversions: 0, ...stats.find((x) => x.name === v.name) }));
            if (arms.every((a) => a.n >= sp.min_samples)) variant = thompsonChoose(arms, sp.seed, key);
          }
        }
        const chosen = sp.variants.find((v) => v.name === variant);
        return proceed('done', `variant ${variant}`, chosen?.goto, { enrolment: { id: e.id, variant } });
      }
      case 'task': {
        const t = (step as Extract<Step, { task: unknown }>).task;
        const adapter = deps.channels.task;
        if (!adapter) return proceed('failed', 'no task channel configured', undefined);
        const traitKey = t.assign_to.startsWith('trait:') ? t.assign_to.slice(6) : null;
        const person = traitKey ? view.traits[traitKey] : undefined;
        const assignee = traitKey ? (typeof person === 'string' && person ? person : t.fallback_queue) : t.assign_to;
        const msg: OutboundMessage = {
          channel: 'task',
          idempotencyKey: action.id,
          actionId: action.id,
          customerId: view.customerId,
          userId: view.userId,
          playbookId: pb.id,
          stepId: step.id,
          variant: e.variant,
          promotional: false,
          transactional: true,
          assignee,
          queue: traitKey && typeof person === 'string' && person ? null : assignee,
          kind: t.kind,
          title: t.title,
          description: t.description,
          dueAt: t.due_in !== undefined ? now + t.due_in : null,
          createdAt: now,
        };
        return sendVia(adapter, msg, action, pb, e, index, view, now, emitted, null);
      }
      case 'webhook': {
        const w = (step as Extract<Step, { webhook: unknown }>).webhook;
        const adapter = deps.channels.webhook;
        if (!adapter) return proceed('failed', 'no webhook channel configured', undefined);
        if (w.customer_facing) {
          const blocked = await gate(pb, view, 'webhook', false, false, pb.on_blocked, action, e, index, now);
          if (blocked) return blocked;
        }
        const msg: OutboundMessage = {
          channel: 'webhook',
          idempotencyKey: action.id,
          actionId: action.id,
          customerId: view.customerId,
          userId: view.userId,
          playbookId: pb.id,
          stepId: step.id,
          variant: e.variant,
          promotional: false,
          transactional: !w.customer_facing,
          url: w.url,
          body: {
            ...w.payload,
            type: 'rapport.playbook_action',
            idempotency_key: action.id,
            playbook_id: pb.id,
            step_id: step.id,
            customer_id: view.customerId,
            user_id: view.userId,
            variant: e.variant,
            relationship_type: e.type,
            types: view.types,
            at: isoTime(now),
          },
        };
        return sendVia(adapter, msg, action, pb, e, index, view, now, emitted, w.customer_facing ? { channel: 'webhook', promotional: false } : null);
      }
      case 'send': {
        const sd = (step as Extract<Step, { send: unknown }>).send;
        const adapter = deps.channels[sd.channel];
        if (!adapter) return proceed('failed', `no ${sd.channel} channel configured`, undefined);
        const blocked = await gate(pb, view, sd.channel, sd.promotional, sd.transactional, sd.on_blocked ?? pb.on_blocked, action, e, index, now);
        if (blocked) return blocked;
        const policy = policyFor(pb, view);
        const tmpl = templateFor(sd, e.variant);
        const exp = now + config.trackingTtlMs;
        const unsubscribe = `${config.publicUrl}/u/${signToken(config.signingSecret, { k: 'u', a: action.id, c: view.customerId, e: now + 400 * 86_400_000 })}`;
        const rendered = templates.render(
          tmpl,
          policy.tone,
          {
            customer: {
              id: view.customerId,
              userId: view.userId,
              ...(view.email !== undefined ? { email: view.email } : {}),
              firstName: String(view.traits.first_name ?? view.traits.firstName ?? (typeof view.traits.name === 'string' ? view.traits.name.split(' ')[0] : '') ?? ''),
              traits: view.traits,
            },
            playbook: { id: pb.id, name: pb.name },
            variant: e.variant,
            type: e.type,
            links: { unsubscribe, preferences: unsubscribe },
          },
          (url) => `${config.publicUrl}/t/c/${signToken(config.signingSecret, { k: 'c', a: action.id, c: view.customerId, u: url, e: exp })}`,
        );
        if (!rendered) {
          return proceed('failed', `unknown template '${tmpl}'`, undefined, {
            deadLetter: { actionId: action.id, channel: sd.channel, error: `unknown template '${tmpl}'`, attempts: action.attempts, at: now, payload: null },
          });
        }
        let msg: OutboundMessage;
        const base = {
          idempotencyKey: action.id,
          actionId: action.id,
          customerId: view.customerId,
          userId: view.userId,
          playbookId: pb.id,
          stepId: step.id,
          variant: e.variant,
          promotional: sd.promotional,
          transactional: sd.transactional,
        };
        if (sd.channel === 'email') {
          if (!view.email) return proceed('dropped', 'no_address', undefined);
          const pixel = `${config.publicUrl}/t/o/${signToken(config.signingSecret, { k: 'o', a: action.id, c: view.customerId, e: exp })}`;
          const img = `<img src="${pixel}" width="1" height="1" alt="" style="display:none">`;
          const html = rendered.html.includes('</body>') ? rendered.html.replace('</body>', `${img}</body>`) : rendered.html + img;
          msg = {
            ...base,
            channel: 'email',
            to: view.email,
            subject: rendered.subject,
            html,
            text: rendered.text,
            headers: headersFor(unsubscribe, action.id, e.variant, sd.transactional, pb.id),
          };
        } else {
          msg = { ...base, channel: 'in_app', title: rendered.subject, body: rendered.text, createdAt: now };
        }
        return sendVia(adapter, msg, action, pb, e, index, view, now, emitted, { channel: sd.channel, promotional: sd.promotional && !sd.transactional });
      }
    }
  }

  /** Consent, suppressions, quiet hours and caps for a customer-facing send; an Outcome when blocked. */
  async function gate(
    pb: Playbook,
    view: CustomerView,
    channel: Channel,
    promotional: boolean,
    transactional: boolean,
    onBlocked: 'defer' | 'drop',
    action: ScheduledAction,
    e: Enrolment,
    index: number,
    now: number,
  ): Promise<Outcome | null> {
    const c = await consentBlock(view, channel, transactional);
    const dropped = async (reason: string): Promise<Outcome> => {
      const f = await follow(pb, e, index + 1, view, now, now);
      return {
        kind: 'complete',
        completion: { actionId: action.id, status: 'dropped', reason, now, next: f.next, enrolment: { id: e.id, ...(f.done ? { status: 'done' as const } : {}) } },
      };
    };
    if (c) return dropped(c);
    if (transactional) return null;
    const b = await policyBlock(pb, view, channel, promotional, now);
    if (!b) return null;
    const since = action.deferredSince ?? now;
    if (onBlocked === 'defer' && b.retryAt !== null && b.retryAt - since <= pb.max_defer) return { kind: 'defer', due: b.retryAt, reason: b.reason };
    return dropped(b.retryAt !== null && onBlocked === 'defer' ? `${b.reason} (max_defer exceeded)` : b.reason);
  }

  /**
   * The completion of a message that went out: Email Delivered feedback, follow-ups, contact (caps) and
   * the enrolment's reached flag. `reason` is null for a confirmed send.
   */
  async function sentOutcome(
    action: ScheduledAction,
    pb: Playbook,
    e: Enrolment,
    index: number,
    view: CustomerView,
    now: number,
    sentAt: number,
    emitted: EmittedMessage[],
    email: { promotional: boolean; extra: Record<string, unknown> } | null,
    contact: { channel: Channel; promotional: boolean } | null,
    reason: string | null,
  ): Promise<Outcome> {
    if (email) emitted.push(feedbackFor(VOCABULARY.emailDelivered, action, e, view, email.promotional, sentAt, email.extra, `delivered:${action.id}`));
    // An enrolment that ended while the message was in flight gets no follow-up.
    const f = e.status === 'active' ? await follow(pb, e, index + 1, view, Math.max(now, action.due), now) : { next: [], done: false };
    return {
      kind: 'complete',
      completion: {
        actionId: action.id,
        status: 'done',
        reason,
        now,
        next: f.next,
        ...(contact ? { contact: { customerId: view.customerId, channel: contact.channel, at: now, promotional: contact.promotional, actionId: action.id } } : {}),
        enrolment: { id: e.id, ...(contact ? { reached: true } : {}), ...(f.done ? { status: 'done' as const } : {}) },
      },
    };
  }

  /**
   * A recovered action whose previous dispatcher passed the commit point (it marked the action handed
   * over, then died before recording the server's reply): the message was handed to the SMTP server, so it
   * is completed as sent, not sent again.
   */
  async function completeHandedOver(action: ScheduledAction, now: number, emitted: EmittedMessage[]): Promise<Outcome> {
    const reason = `${HANDED_OVER_NOT_CONFIRMED}: the dispatcher stopped between the hand-over and the server's reply`;
    const pb = deps.playbooks.get(action.playbookId);
    const index = pb ? pb.steps.findIndex((x) => x.id === action.stepId) : -1;
    const step = pb?.steps[index];
    const e = await store.getEnrolment(action.enrolmentId);
    const view = await customers.get(action.customerId);
    if (!pb || !step || !('send' in step) || !e || !view) {
      return { kind: 'complete', completion: { actionId: action.id, status: 'done', reason, now, next: [] } };
    }
    const sd = step.send;
    const at = action.handedOverAt ?? now;
    return sentOutcome(
      action, pb, e, index, view, now, at, emitted,
      sd.channel === 'email' ? { promotional: sd.promotional, extra: { delivery_confirmed: false } } : null,
      { channel: sd.channel, promotional: sd.promotional && !sd.transactional },
      reason,
    );
  }

  async function sendVia(
    adapter: ChannelAdapter,
    msg: OutboundMessage,
    action: ScheduledAction,
    pb: Playbook,
    e: Enrolment,
    index: number,
    view: CustomerView,
    now: number,
    emitted: EmittedMessage[],
    contact: { channel: Channel; promotional: boolean } | null,
  ): Promise<Outcome> {
    let leaseLost = false;
    // Email: the SMTP channel calls this inside the DATA phase, before the final dot (see SendOptions).
    const opts: SendOptions | undefined =
      msg.channel === 'email'
        ? {
            commitPoint: async () => {
              const ok = await markHandedOver(action);
              if (!ok) leaseLost = true;
              return ok;
            },
          }
        : undefined;
    let r: SendResult;
    try {
      r = await limiter(msg.channel).run(() => adapter.send(msg, opts));
    } catch (err) {
      r = { ok: false as const, permanent: false, error: err instanceof Error ? err.message : String(err) };
    }
    const sentAt = clock.now();
    if (r.ok) {
      return sentOutcome(
        action, pb, e, index, view, now, sentAt, emitted,
        msg.channel === 'email' ? { promotional: msg.promotional, extra: { email_subject: msg.subject, ...(r.unconfirmed ? { delivery_confirmed: false } : {}) } } : null,
        contact,
        r.unconfirmed ? `${HANDED_OVER_NOT_CONFIRMED}: ${r.unconfirmed}` : null,
      );
    }
    // Another dispatcher reclaimed the action (our lease expired) and owns it now: the send was
    // aborted before the end of data, and the row is not ours to defer or complete.
    if (leaseLost) return { kind: 'lost', reason: r.error };
    if (!r.permanent && action.attempts < config.maxAttempts) {
      return { kind: 'defer', due: now + config.retryBaseMs * 2 ** (action.attempts - 1), reason: `retry: ${r.error}` };
    }
    if (r.hardBounce && msg.channel === 'email') {
      await store.addSuppression({ customerId: view.customerId, address: msg.to, channel: 'email', reason: 'hard_bounce', at: now, source: 'smtp' });
      emitted.push(feedbackFor(VOCABULARY.emailBounced, action, e, view, msg.promotional, now, { bounce_type: 'hard', reason: r.error }, `bounced:${action.id}`));
    }
    // A channel without settings is not a delivery failure to look into: the action fails, no dead letter.
    if (!r.notConfigured) log?.warn({ action: action.id, error: r.error }, 'send failed; dead-lettered');
    const f = await follow(pb, e, index + 1, view, now, now);
    const payload = msg.channel === 'webhook' ? { url: msg.url, body: msg.body } : msg.channel === 'email' ? { to: msg.to, subject: msg.subject } : null;
    return {
      kind: 'complete',
      completion: {
        actionId: action.id,
        status: 'failed',
        reason: r.error,
        now,
        next: f.next,
        enrolment: { id: e.id, ...(f.done ? { status: 'done' as const } : {}) },
        ...(r.notConfigured ? {} : { deadLetter: { actionId: action.id, channel: msg.channel, error: r.error, attempts: action.attempts, at: now, payload } }),
      },
    };
  }

  let running: Promise<number> | null = null;

  async function dispatchOnce(now: number, max: number): Promise<number> {
    let total = 0;
    // Group commit: each finished action joins the next commit as soon as the previous one is done,
    // so at a crash only the actions still in flight (or in the commit under way) can be repeated.
    let pendingCompletions: ActionCompletion[] = [];
    let pendingEmits: EmittedMessage[] = [];
    let flushing: Promise<void> | null = null;
    const flushAll = async (): Promise<void> => {
      while (pendingCompletions.length > 0 || pendingEmits.length > 0) {
        const completions = pendingCompletions;
        const emits = pendingEmits;
        pendingCompletions = [];
        pendingEmits = [];
        // Emit before committing: message ids are deterministic, so a crash in between only causes a duplicate ingest drops.
        if (emits.length) {
          try {
            await deps.emit(emits);
          } catch (err) {
            log?.error({ err }, 'emit failed');
          }
        }
        await store.complete(completions);
      }
    };
    // Commits are coalesced over `commitIntervalMs`: each one fsyncs, so one per finished action would
    // cap throughput at the disk's sync rate.
    let timer: NodeJS.Timeout | null = null;
    const startFlush = (): void => {
      flushing ??= flushAll().finally(() => {
        flushing = null;
      });
    };
    const flushSoon = (): void => {
      if (timer || flushing) return;
      timer = setTimeout(() => {
        timer = null;
        startFlush();
      }, config.commitIntervalMs);
    };
    while (total < max) {
      const claimed = await store.claimDue(now, Math.min(config.batchSize, max - total), config.leaseMs);
      if (claimed.length === 0) break;
      await Promise.all(
        claimed.map(async ({ action, recovered }) => {
          const emitted: EmittedMessage[] = [];
          let out: Outcome;
          try {
            out = await execute(action, recovered, now, emitted);
          } catch (err) {
            log?.error({ action: action.id, err }, 'action failed');
            out = { kind: 'defer', due: now + config.retryBaseMs, reason: `error: ${err instanceof Error ? err.message : String(err)}` };
          }
          // A deferral always moves forward in time, so this round cannot spin on it.
          if (out.kind === 'defer') await store.defer(action.id, Math.max(out.due, now + 1), out.reason, now);
          else if (out.kind === 'lost') log?.warn({ action: action.id, reason: out.reason }, 'lease lost at the commit point; left to the dispatcher that reclaimed it');
          else {
            pendingCompletions.push(out.completion);
            pendingEmits.push(...emitted);
            flushSoon();
          }
        }),
      );
      // Everything of this batch is committed before the next claim (follow-ups become visible).
      if (timer) clearTimeout(timer);
      timer = null;
      while (flushing || pendingCompletions.length > 0 || pendingEmits.length > 0) {
        startFlush();
        await flushing;
      }
      total += claimed.length;
    }
    return total;
  }

  async function dispatchDue(now = clock.now(), max = Number.POSITIVE_INFINITY): Promise<number> {
    // One round at a time: per-customer ordering and cap checks rely on it.
    while (running) await running.catch(() => 0);
    running = dispatchOnce(now, max);
    try {
      return await running;
    } finally {
      running = null;
    }
  }

  let timer: NodeJS.Timeout | null = null;
  let stopped = true;

  const internals: AutomationInternals = {
    deps,
    config,
    templates,
    feedback,
    async unsubscribe(customerId, channel, source, aid, at) {
      const view = await customers.get(customerId);
      await store.addSuppression({ customerId, address: channel === 'email' ? (view?.email ?? null) : null, channel, reason: 'unsubscribed', at, source });
      const action = aid ? await store.getAction(aid) : null;
      if (action) await store.markUnsubscribed(action.enrolmentId);
      const fb = aid
        ? await feedback(VOCABULARY.unsubscribed, aid, customerId, at, { channel, source }, `unsub:${aid}:${channel}`)
        : { type: 'track' as const, messageId: feedbackMessageId(`unsub:${customerId}:${channel}:${at}`), userId: view?.userId ?? customerId, event: VOCABULARY.unsubscribed, properties: { channel, source }, timestamp: isoTime(at), context: { library: { name: 'rapport-automation' } } };
      if (fb) await deps.emit([fb]);
    },
    async resubscribe(customerId, channel, at) {
      await store.removeSuppression(customerId, channel, ['unsubscribed']);
      await store.setConsent(customerId, channel, true, at);
    },
    async setEnabled(playbookId, enabled) {
      if (!deps.playbooks.get(playbookId)) throw new NotFoundError('playbook', playbookId);
      await store.setPlaybookEnabled(playbookId, enabled, clock.now());
      overrides = { ...(overrides ?? (await store.playbookStates())), [playbookId]: enabled };
    },
    async isEnabled(playbookId) {
      const pb = deps.playbooks.get(playbookId);
      return pb ? (await enabledSet())(pb) : false;
    },
    async completeTask(id, outcome) {
      const now = clock.now();
      const r = await store.completeTask(id, outcome, now);
      if (!r) throw new NotFoundError('task', id);
      if (r.changed) {
        const view = await customers.get(r.task.customerId);
        await deps.emit([
          {
            type: 'track',
            messageId: feedbackMessageId(`task:${id}`),
            userId: view?.userId ?? r.task.userId,
            event: VOCABULARY.taskCompleted,
            properties: { task_id: id, outcome, campaign_id: r.task.playbookId, email_id: r.task.actionId, assignee: r.task.assignee },
            timestamp: isoTime(now),
            context: { library: { name: 'rapport-automation' } },
          },
        ]);
      }
      return r.task;
    },
  };

  const automation: Automation = {
    async handle(signal) {
      await handleMany([signal]);
    },
    handleMany,
    dispatchDue,
    tickSchedules,
    start() {
      if (!stopped) return;
      stopped = false;
      const loop = async (): Promise<void> => {
        try {
          await tickSchedules();
          await dispatchDue();
        } catch (err) {
          log?.error({ err }, 'automation round failed');
        }
        if (!stopped) timer = setTimeout(() => void loop(), config.pollMs);
      };
      void loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      while (running) await running.catch(() => 0);
      for (const c of Object.values(deps.channels)) await c?.close?.();
    },
    async routes(app) {
      await registerAutomationRoutes(app, automation);
    },
    async dryRun(playbookId, opts = {}) {
      const pb = deps.playbooks.get(playbookId);
      if (!pb) throw new NotFoundError('playbook', playbookId);
      return dryRunPlaybook(pb, { store, customers, config, templates }, { now: opts.now ?? clock.now(), limit: opts.limit ?? 100 });
    },
    async effectiveness(playbookId) {
      const pb = deps.playbooks.get(playbookId);
      if (!pb) throw new NotFoundError('playbook', playbookId);
      return computeEffectiveness(pb, await store.outcomes(playbookId));
    },
    internals,
  };
  return automation;
}
