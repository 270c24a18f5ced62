import type { Channel } from '../../domain/contact-policy';
import type { Enrolment, InboxItem, ScheduledAction, Suppression, Task, ActionStatus } from '../../ports/automation-store';

// Row decoders of the automation tables, shared by the SQLite and PostgreSQL automation stores: both
// return integers for the 0/1 flags, and numbers (SQLite) or numeric strings (PostgreSQL BIGINT) for times.

/** A row as a driver returns it. */
type Row = Record<string, unknown>;

/** A number column. */
export const num = (v: unknown): number => Number(v);
/** A nullable number column. */
export const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
/** A nullable text column. */
export const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** A 0/1 flag column. */
export const bool = (v: unknown): boolean => Number(v) === 1;

/** A scheduled action. */
export function toAction(r: Row): ScheduledAction {
  return {
    id: String(r.id),
    enrolmentId: String(r.enrolment_id),
    playbookId: String(r.playbook_id),
    stepId: String(r.step_id),
    customerId: String(r.customer_id),
    due: num(r.due),
    status: r.status as ActionStatus,
    attempts: num(r.attempts),
    leaseUntil: optNum(r.lease_until),
    reason: optStr(r.reason),
    waitEvent: optStr(r.wait_event),
    matched: bool(r.matched),
    deferredSince: optNum(r.deferred_since),
    createdAt: num(r.created_at),
    handedOverAt: optNum(r.handed_over_at),
  };
}

/** An enrolment. */
export function toEnrolment(r: Row): Enrolment {
  return {
    id: String(r.id),
    playbookId: String(r.playbook_id),
    customerId: String(r.customer_id),
    triggerKey: String(r.trigger_key),
    enteredAt: num(r.entered_at),
    holdout: bool(r.holdout),
    variant: optStr(r.variant),
    policyLens: String(r.policy_lens),
    type: optStr(r.type),
    status: r.status as Enrolment['status'],
    reached: bool(r.reached),
    convertedAt: optNum(r.converted_at),
    revenue: num(r.revenue),
    unsubscribed: bool(r.unsubscribed),
    goalEvent: String(r.goal_event),
    goalWithin: num(r.goal_within),
  };
}

/** A task. */
export function toTask(r: Row): Task {
  return {
    id: String(r.id),
    actionId: String(r.action_id),
    playbookId: String(r.playbook_id),
    customerId: String(r.customer_id),
    userId: String(r.user_id),
    assignee: String(r.assignee),
    queue: optStr(r.queue),
    kind: r.kind as Task['kind'],
    title: String(r.title),
    description: String(r.description),
    dueAt: optNum(r.due_at),
    createdAt: num(r.created_at),
    status: r.status as Task['status'],
    completedAt: optNum(r.completed_at),
    outcome: optStr(r.outcome),
  };
}

/** A suppression. */
export function toSuppression(r: Row): Suppression {
  return {
    customerId: String(r.customer_id),
    address: optStr(r.address),
    channel: r.channel as Channel,
    reason: String(r.reason),
    at: num(r.at),
    source: String(r.source),
  };
}

/** An in-app inbox item. */
export function toInbox(r: Row): InboxItem {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    customerId: String(r.customer_id),
    playbookId: String(r.playbook_id),
    title: String(r.title),
    body: String(r.body),
    createdAt: num(r.created_at),
    readAt: optNum(r.read_at),
  };
}
