import type { Channel } from '../domain/contact-policy';
import type { ContactRecord } from '../domain/playbook-policy';

/**
 * Durable state of the automation engine: enrolments, scheduled actions (the durable scheduler),
 * the contact log (caps), suppressions and consents, tasks, in-app inbox, dead letters and the
 * outcomes used for effectiveness. Async and batch-shaped so a network store fits; the SQLite
 * adapter (src/adapters/sqlite/sqlite-automation-store.ts) is synchronous inside.
 * Contract: test/contract/automation-store.contract.ts.
 */

/** Lifecycle of a scheduled action. `sending` = claimed with a lease; `done` = step carried out (sent). */
export type ActionStatus = 'pending' | 'sending' | 'done' | 'dropped' | 'failed' | 'cancelled';

/** One step of one enrolment, due at a time. `id` is the idempotency key. */
export interface ScheduledAction {
  /** `playbook:step:customer:trigger` — unique. */
  readonly id: string;
  readonly enrolmentId: string;
  readonly playbookId: string;
  readonly stepId: string;
  readonly customerId: string;
  readonly due: number;
  readonly status: ActionStatus;
  readonly attempts: number;
  readonly leaseUntil: number | null;
  /** Last block/failure reason (cap_email, quiet_hours, unsubscribed, smtp 550 ...). */
  readonly reason: string | null;
  /** For event branches: the event name awaited; `matched` once it arrived. */
  readonly waitEvent: string | null;
  readonly matched: boolean;
  /** First time this action was deferred (for max_defer). */
  readonly deferredSince: number | null;
  readonly createdAt: number;
  /**
   * When the dispatcher holding the lease passed the send's commit point (see `markHandedOver`): the
   * message was handed to the receiver, so a dispatcher recovering this action must not send it again.
   * Null when never handed over, and again after a deferral (that attempt did not deliver).
   */
  readonly handedOverAt: number | null;
}

/** What a new action is given; {@link pendingAction} fills in the rest. */
export type NewAction = Pick<ScheduledAction, 'id' | 'enrolmentId' | 'playbookId' | 'stepId' | 'customerId' | 'due' | 'waitEvent' | 'createdAt'>;

/** A scheduled action as first stored: pending, never attempted, leased, deferred, matched or handed over. */
export function pendingAction(a: NewAction): ScheduledAction {
  return {
    id: a.id,
    enrolmentId: a.enrolmentId,
    playbookId: a.playbookId,
    stepId: a.stepId,
    customerId: a.customerId,
    due: a.due,
    status: 'pending',
    attempts: 0,
    leaseUntil: null,
    reason: null,
    waitEvent: a.waitEvent,
    matched: false,
    deferredSince: null,
    createdAt: a.createdAt,
    handedOverAt: null,
  };
}

/** A customer's run through one playbook. */
export interface Enrolment {
  /** `playbook:customer:trigger`. */
  readonly id: string;
  readonly playbookId: string;
  readonly customerId: string;
  readonly triggerKey: string;
  readonly enteredAt: number;
  readonly holdout: boolean;
  readonly variant: string | null;
  /** Lens and type at entry (effectiveness is reported per type). */
  readonly policyLens: string;
  readonly type: string | null;
  readonly status: 'active' | 'done' | 'exited' | 'holdout';
  /** At least one customer-facing message went out. */
  readonly reached: boolean;
  readonly convertedAt: number | null;
  readonly revenue: number;
  readonly unsubscribed: boolean;
  readonly goalEvent: string;
  readonly goalWithin: number;
}

/** A suppression: this customer (or address) may not be contacted on a channel. */
export interface Suppression {
  readonly customerId: string;
  readonly address: string | null;
  readonly channel: Channel;
  /** unsubscribed | complained | hard_bounce | no_consent | manual */
  readonly reason: string;
  readonly at: number;
  /** Where it came from (one_click, preference_page, event, smtp ...). */
  readonly source: string;
}

/** Suppression reasons that block transactional messages too. */
export const HARD_SUPPRESSIONS: ReadonlySet<string> = new Set(['hard_bounce', 'manual']);

/** A task for a person or queue. */
export interface Task {
  readonly id: string;
  readonly actionId: string;
  readonly playbookId: string;
  readonly customerId: string;
  readonly userId: string;
  readonly assignee: string;
  readonly queue: string | null;
  readonly kind: 'personal' | 'dedicated';
  readonly title: string;
  readonly description: string;
  readonly dueAt: number | null;
  readonly createdAt: number;
  readonly status: 'open' | 'done';
  readonly completedAt: number | null;
  readonly outcome: string | null;
}

/** An in-app message. */
export interface InboxItem {
  readonly id: string;
  readonly userId: string;
  readonly customerId: string;
  readonly playbookId: string;
  readonly title: string;
  readonly body: string;
  readonly createdAt: number;
  readonly readAt: number | null;
}

/** A send that failed for good, kept for inspection and replay. */
export interface DeadLetter {
  readonly actionId: string;
  readonly channel: Channel;
  readonly error: string;
  readonly attempts: number;
  readonly at: number;
  readonly payload: unknown;
}

/** How a claimed action ended, written atomically with its follow-ups. */
export interface ActionCompletion {
  readonly actionId: string;
  readonly status: 'done' | 'dropped' | 'failed' | 'cancelled';
  readonly reason: string | null;
  readonly now: number;
  /** Next actions of the same enrolment (ignored if their id exists). */
  readonly next: readonly ScheduledAction[];
  /** A contact to record for caps (customer-facing sends). */
  readonly contact?: { customerId: string; channel: Channel; at: number; promotional: boolean; actionId: string };
  readonly enrolment?: { id: string; status?: Enrolment['status']; variant?: string; reached?: boolean };
  readonly deadLetter?: DeadLetter;
}

/** Aggregates for effectiveness, per variant x type x group. */
export interface OutcomeRow {
  readonly variant: string | null;
  readonly type: string | null;
  readonly holdout: boolean;
  readonly n: number;
  readonly reached: number;
  readonly conversions: number;
  readonly revenueSum: number;
  readonly revenueSumSq: number;
  readonly unsubscribes: number;
}

/** The automation store port. */
export interface AutomationStore {
  /** Inserts enrolments (ignored when the id exists) with their first actions; returns ids actually created. */
  enrol(items: readonly { enrolment: Enrolment; actions: readonly ScheduledAction[] }[]): Promise<string[]>;
  getEnrolment(id: string): Promise<Enrolment | null>;
  /** Most recent enrolment of a customer in a playbook (for re-entry rules). */
  lastEnrolment(playbookId: string, customerId: string): Promise<Enrolment | null>;
  /** Enrolments of a customer entered at or after `since` (goal attribution). */
  enrolmentsOf(customerId: string, since: number): Promise<Enrolment[]>;
  /** Records a conversion (first one wins) with revenue. */
  markConverted(enrolmentId: string, at: number, revenue: number): Promise<boolean>;
  markUnsubscribed(enrolmentId: string): Promise<void>;

  /**
   * Claims up to `limit` actions due at `now` — pending ones, and `sending` ones whose lease expired
   * (returned with `recovered: true`, `handedOverAt` as the previous dispatcher left it) — in (due, id)
   * order, at most one per customer, and leases them until `now + leaseMs` (status `sending`, attempts + 1).
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<{ action: ScheduledAction; recovered: boolean }[]>;
  /** Finishes claimed actions atomically with their follow-ups. */
  complete(completions: readonly ActionCompletion[]): Promise<void>;
  /**
   * Records that sends reached their commit point: sets `handedOverAt = now` on each action still
   * `sending` under the lease its dispatcher got at claim time (`leaseUntil` is the claim token: a
   * reclaim by another dispatcher changes it). All in one transaction (group commit: many concurrent
   * sends share one durable write). Returns the ids marked; a missing id means the lease was lost and
   * that send must be aborted.
   */
  markHandedOver(items: readonly { id: string; leaseUntil: number }[], now: number): Promise<Set<string>>;
  /** Puts a claimed action back to pending at `due` with a reason (and clears `handedOverAt`). */
  defer(actionId: string, due: number, reason: string, now: number): Promise<void>;
  /** Cancels the pending actions of an enrolment. */
  cancelEnrolment(enrolmentId: string, status: 'exited' | 'done', now: number): Promise<void>;
  /** Pending event-branch actions of a customer waiting for `event`. */
  eventWaits(customerId: string, event: string): Promise<ScheduledAction[]>;
  /** Marks an event wait matched and makes it due at `now`. */
  matchEventWait(actionId: string, now: number): Promise<void>;
  getAction(id: string): Promise<ScheduledAction | null>;
  /** Actions, newest first, optionally filtered. */
  listActions(filter: { playbookId?: string; customerId?: string; status?: ActionStatus; limit?: number }): Promise<ScheduledAction[]>;
  countActions(): Promise<Record<ActionStatus, number>>;
  /** Earliest due time of a pending action, or null. */
  nextDue(): Promise<number | null>;

  /** Contacts of a customer at or after `since`. */
  contactHistory(customerId: string, since: number): Promise<ContactRecord[]>;

  addSuppression(s: Suppression): Promise<void>;
  /** Removes suppressions of a customer on a channel with one of `reasons`; returns how many. */
  removeSuppression(customerId: string, channel: Channel, reasons: readonly string[]): Promise<number>;
  /** Active suppressions matching the customer id or the address on a channel. */
  suppressionsFor(customerId: string, address: string | null, channel: Channel): Promise<Suppression[]>;
  listSuppressions(customerId?: string): Promise<Suppression[]>;
  setConsent(customerId: string, channel: Channel, granted: boolean, at: number): Promise<void>;
  /** True/false when recorded, null when never asked. */
  consent(customerId: string, channel: Channel): Promise<boolean | null>;

  /** Creates a task (no-op if the id exists). */
  createTask(t: Task): Promise<void>;
  listTasks(filter: { status?: 'open' | 'done'; assignee?: string; limit?: number }): Promise<Task[]>;
  getTask(id: string): Promise<Task | null>;
  /** Completes an open task; null when missing, the task unchanged when already done. */
  completeTask(id: string, outcome: string, at: number): Promise<{ task: Task; changed: boolean } | null>;

  /** Reassigns an open task; null when missing. */
  assignTask(id: string, assignee: string): Promise<Task | null>;

  /** Enables or disables a playbook at runtime (overrides `enabled` in its YAML; survives restarts). */
  setPlaybookEnabled(playbookId: string, enabled: boolean, at: number): Promise<void>;
  /** Runtime enable/disable overrides by playbook id. */
  playbookStates(): Promise<Record<string, boolean>>;

  /** Adds an in-app message (no-op if the id exists). */
  addInbox(item: InboxItem): Promise<void>;
  listInbox(userId: string, unreadOnly: boolean): Promise<InboxItem[]>;
  markInboxRead(userId: string, ids: readonly string[], at: number): Promise<number>;

  listDeadLetters(limit: number): Promise<DeadLetter[]>;
  outcomes(playbookId: string): Promise<OutcomeRow[]>;
  /** Variant statistics per type for Thompson sampling. */
  variantStats(playbookId: string, type: string | null): Promise<{ name: string; n: number; conversions: number }[]>;
  /** True the first time (playbook, period) is claimed (scheduled triggers). */
  claimScheduleRun(playbookId: string, period: string, at: number): Promise<boolean>;
  close(): Promise<void>;
}
