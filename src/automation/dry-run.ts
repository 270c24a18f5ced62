import { HARD_SUPPRESSIONS, type AutomationStore } from '../ports/automation-store';
import { optedOutPerEngine } from './engine-opt-out';
import type { Channel, ContactPolicy } from '../domain/contact-policy';
import { DEFAULT_CONTACT_POLICY } from '../domain/contact-policy';
import { isoTime } from '../domain/event';
import { policyLensOf, templateFor, type Playbook } from '../domain/playbook';
import { evaluateCondition } from '../domain/playbook-condition';
import { afterQuietHours, checkContactPolicy, chooseSendTime, historyWindow, inQuietHours, mergePolicy, nextLocalTime, type ContactRecord } from '../domain/playbook-policy';
import { hashChoose, holdoutDraw } from '../domain/playbook-stats';
import type { TemplateRenderer } from './templates';
import type { AutomationConfig, CustomerDirectory, CustomerView } from './types';

/** Options of a dry run. */
export interface DryRunOptions {
  /** Simulated start time (ms). */
  readonly now: number;
  /** Customers listed in detail (all are counted). */
  readonly limit: number;
}

/** One planned step for one customer. */
export interface PlannedStep {
  readonly step: string;
  readonly kind: string;
  readonly at: string;
  /** send | deferred | dropped | task | webhook | wait | branch | split | exit */
  readonly outcome: string;
  readonly channel?: Channel;
  readonly template?: string;
  readonly tone?: string;
  readonly variant?: string | null;
  readonly reason?: string;
  readonly note?: string;
}

/** What would happen to one customer. */
export interface DryRunCustomer {
  readonly customerId: string;
  readonly type: string | null;
  /** enrolled | holdout | conditions_not_met | already_enrolled */
  readonly status: string;
  readonly plan: PlannedStep[];
}

/** Result of a dry run. */
export interface DryRunReport {
  readonly playbookId: string;
  readonly at: string;
  /** How the trigger population was chosen. */
  readonly population: string;
  readonly matched: number;
  readonly enrolled: number;
  readonly holdout: number;
  readonly conditionsNotMet: number;
  readonly alreadyEnrolled: number;
  /** Planned sends by channel. */
  readonly sends: Record<string, number>;
  /** Blocked sends by reason (consent, suppressions, caps, quiet hours). */
  readonly blocked: Record<string, number>;
  readonly customers: DryRunCustomer[];
}

function inPopulation(pb: Playbook, v: CustomerView): boolean {
  const t = pb.trigger;
  if ('entered' in t) return v.types[t.entered.lens] === t.entered.type;
  if ('schedule' in t) return v.types[t.schedule.lens] === t.schedule.type;
  if ('transition' in t) return v.types[t.transition.lens] === t.transition.to;
  if ('left' in t) return v.types[t.left.lens] !== undefined && v.types[t.left.lens] !== t.left.type;
  if ('indicator' in t) {
    const x = v.indicators[t.indicator.name];
    if (x === undefined) return false;
    return t.indicator.crosses === 'below' ? x < t.indicator.threshold : x > t.indicator.threshold;
  }
  return true;
}

function populationText(pb: Playbook): string {
  const t = pb.trigger;
  if ('entered' in t) return `customers now of type ${t.entered.lens}/${t.entered.type}, as if they had just entered`;
  if ('schedule' in t) return `customers of type ${t.schedule.lens}/${t.schedule.type} (the next ${t.schedule.every} run)`;
  if ('transition' in t) return `customers now of type ${t.transition.lens}/${t.transition.to}, as if they had just come from ${t.transition.from}`;
  if ('left' in t) return `customers of another ${t.left.lens} type, as if they had just left ${t.left.type}`;
  if ('indicator' in t) return `customers with ${t.indicator.name} ${t.indicator.crosses} ${t.indicator.threshold} now, as if they had just crossed`;
  return `every customer, as if '${t.event.name}' happened now`;
}

/**
 * Who would get what and when, over the current population, without sending or writing anything.
 * Walks each customer's path through the steps: waits advance the simulated time, sends are
 * checked against consent, suppressions, quiet hours and caps (real contact history plus the
 * simulated sends), event branches take the "no event" path.
 */
export async function dryRunPlaybook(
  pb: Playbook,
  deps: { store: AutomationStore; customers: CustomerDirectory; config: AutomationConfig; templates: TemplateRenderer },
  opts: DryRunOptions,
): Promise<DryRunReport> {
  const lens = policyLensOf(pb);
  const report = {
    playbookId: pb.id,
    at: isoTime(opts.now),
    population: populationText(pb),
    matched: 0,
    enrolled: 0,
    holdout: 0,
    conditionsNotMet: 0,
    alreadyEnrolled: 0,
    sends: {} as Record<string, number>,
    blocked: {} as Record<string, number>,
    customers: [] as DryRunCustomer[],
  };
  const bump = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  for await (const v of deps.customers.iterate()) {
    if (!inPopulation(pb, v)) continue;
    report.matched++;
    const type = v.types[lens] ?? null;
    const detail = report.customers.length < opts.limit;
    const plan: PlannedStep[] = [];
    let status = 'enrolled';
    if (pb.conditions && !evaluateCondition(pb.conditions, v)) status = 'conditions_not_met';
    else if (pb.reenter === 'once' && !('schedule' in pb.trigger) && (await deps.store.lastEnrolment(pb.id, v.customerId))) status = 'already_enrolled';
    else if (holdoutDraw(pb.id, v.customerId) < pb.holdout) status = 'holdout';
    if (status === 'conditions_not_met') report.conditionsNotMet++;
    else if (status === 'already_enrolled') report.alreadyEnrolled++;
    else if (status === 'holdout') report.holdout++;
    else {
      report.enrolled++;
      const policy: ContactPolicy = mergePolicy(v.policies[lens] ?? DEFAULT_CONTACT_POLICY, pb.policy as Partial<ContactPolicy> | undefined);
      const history: ContactRecord[] = await deps.store.contactHistory(v.customerId, opts.now - historyWindow(policy));
      let t = opts.now;
      let variant: string | null = null;
      let i = 0;
      let guard = 0;
      while (i < pb.steps.length && guard++ < 1000) {
        const s = pb.steps[i];
        if (!s) break;
        let target: string | undefined;
        const at = isoTime(t);
        if ('wait' in s) {
          const w = s.wait;
          if (typeof w === 'number') t += w;
          else if (/^\d{2}:\d{2}$/.test(w.until)) {
            const [h, m] = w.until.split(':').map(Number);
            t = nextLocalTime(t + 60_000, v.timezone, (h ?? 0) * 60 + (m ?? 0));
          } else t = Math.max(t, Date.parse(w.until) || t);
          plan.push({ step: s.id, kind: 'wait', at, outcome: 'wait', note: `until ${isoTime(t)}` });
        } else if ('exit' in s) {
          plan.push({ step: s.id, kind: 'exit', at, outcome: 'exit' });
          break;
        } else if ('split' in s) {
          variant = hashChoose(s.split.variants, `${pb.id}:${v.customerId}:dry-run`);
          target = s.split.variants.find((x) => x.name === variant)?.goto;
          plan.push({ step: s.id, kind: 'split', at, outcome: 'split', variant, ...(s.split.strategy === 'thompson' ? { note: 'thompson sampling may choose differently once data exists' } : {}) });
        } else if ('branch' in s) {
          if ('if' in s.branch) {
            const yes = evaluateCondition(s.branch.if, v);
            target = yes ? s.branch.then : s.branch.else;
            plan.push({ step: s.id, kind: 'branch', at, outcome: 'branch', note: yes ? 'condition true' : 'condition false' });
          } else {
            t += s.branch.within;
            target = s.branch.else;
            plan.push({ step: s.id, kind: 'branch', at, outcome: 'branch', note: `waits up to ${isoTime(t)} for '${s.branch.on_event}'; assumed not to happen` });
          }
        } else if ('task' in s) {
          plan.push({ step: s.id, kind: 'task', at, outcome: 'task', note: `${s.task.title} -> ${s.task.assign_to}` });
        } else if ('webhook' in s) {
          plan.push({ step: s.id, kind: 'webhook', at, outcome: 'webhook', note: s.webhook.url });
        } else if ('send' in s) {
          const sd = s.send;
          const channel = sd.channel;
          const template = templateFor(sd, variant);
          const addr = channel === 'email' ? (v.email ?? null) : null;
          const sup = await deps.store.suppressionsFor(v.customerId, addr, channel);
          let reason: string | null = null;
          for (const x of sup) if (HARD_SUPPRESSIONS.has(x.reason) || !sd.transactional) reason = `suppressed_${x.reason}`;
          if (!reason && optedOutPerEngine(v, channel, sd.transactional)) reason = 'suppressed_unsubscribed';
          if (!reason && channel === 'email' && !addr) reason = 'no_address';
          if (!reason && !sd.transactional && deps.config.consentRequired.includes(channel)) {
            const c = await deps.store.consent(v.customerId, channel);
            if (c === false || (c === null && v.traits[`consent_${channel}`] !== true && v.traits[`${channel}_consent`] !== true)) reason = 'no_consent';
          }
          if (!deps.templates.has(template)) reason = reason ?? `unknown_template_${template}`;
          let outcome = 'send';
          let sendAt = sd.transactional ? t : chooseSendTime(t, v.timezone, policy, v.indicators['best_send_hour']);
          if (!reason && !sd.transactional) {
            const onBlocked = sd.on_blocked ?? pb.on_blocked;
            for (let tries = 0; tries < 20; tries++) {
              let b = inQuietHours(sendAt, v.timezone, policy.quiet_hours) ? { reason: 'quiet_hours', retryAt: afterQuietHours(sendAt, v.timezone, policy.quiet_hours) as number | null } : null;
              b = b ?? checkContactPolicy(policy, channel, sd.promotional, sendAt, history);
              if (!b) break;
              if (onBlocked === 'defer' && b.retryAt !== null && b.retryAt - t <= pb.max_defer) {
                outcome = 'deferred';
                bump(report.blocked, `${b.reason} (deferred)`);
                reason = b.reason;
                sendAt = b.retryAt;
                continue;
              }
              outcome = 'dropped';
              reason = b.reason;
              break;
            }
          } else if (reason) outcome = 'dropped';
          if (outcome === 'dropped') bump(report.blocked, reason ?? 'blocked');
          else {
            bump(report.sends, channel);
            history.push({ channel, at: sendAt, promotional: sd.promotional && !sd.transactional });
            t = sendAt;
          }
          plan.push({ step: s.id, kind: 'send', at: isoTime(outcome === 'dropped' ? t : sendAt), outcome, channel, template, tone: policy.tone, variant, ...(reason ? { reason } : {}) });
        }
        i = target === undefined ? i + 1 : pb.steps.findIndex((x) => x.id === target);
        if (i < 0) break;
      }
    }
    if (detail) report.customers.push({ customerId: v.customerId, type, status, plan });
  }
  return report;
}

/** Human-readable dry-run summary. */
export function formatDryRun(r: DryRunReport): string {
  const lines = [
    `dry run of ${r.playbookId} at ${r.at}`,
    `population: ${r.population}`,
    `matched ${r.matched}: enrolled ${r.enrolled}, holdout ${r.holdout}, conditions not met ${r.conditionsNotMet}, already enrolled ${r.alreadyEnrolled}`,
    `sends: ${Object.entries(r.sends).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `blocked: ${Object.entries(r.blocked).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
  ];
  for (const c of r.customers) {
    lines.push(`- ${c.customerId} (${c.type ?? '?'}) ${c.status}`);
    for (const p of c.plan) {
      lines.push(`    ${p.at} ${p.step.padEnd(16)} ${p.outcome}${p.channel ? ` ${p.channel}` : ''}${p.template ? ` ${p.template}/${p.tone}` : ''}${p.variant ? ` [${p.variant}]` : ''}${p.reason ? ` (${p.reason})` : ''}${p.note ? ` — ${p.note}` : ''}`);
    }
  }
  return lines.join('\n');
}
