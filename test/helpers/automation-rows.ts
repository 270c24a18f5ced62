import { pendingAction, type Enrolment, type ScheduledAction } from '../../src/ports/automation-store';

/** An active enrolment in playbook `pb` (goal: an order within 10 s), with `patch` applied. */
export function enrolmentRow(id: string, customerId: string, patch: Partial<Enrolment> = {}): Enrolment {
  return {
    id,
    playbookId: 'pb',
    customerId,
    triggerKey: id,
    enteredAt: 1000,
    holdout: false,
    variant: null,
    policyLens: 'lifecycle',
    type: 'at_risk',
    status: 'active',
    reached: false,
    convertedAt: null,
    revenue: 0,
    unsubscribed: false,
    goalEvent: 'Order Completed',
    goalWithin: 10_000,
    ...patch,
  };
}

/** A pending action of enrolment `e`, due at `due`, with `patch` applied. */
export function actionRow(id: string, e: Enrolment, due: number, patch: Partial<ScheduledAction> = {}): ScheduledAction {
  return {
    ...pendingAction({ id, enrolmentId: e.id, playbookId: e.playbookId, stepId: 's', customerId: e.customerId, due, waitEvent: null, createdAt: 0 }),
    ...patch,
  };
}
