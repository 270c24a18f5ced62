import { describe, expect, it } from 'vitest';
import type { AutomationStore } from '../../src/ports/automation-store';
import { actionRow, enrolmentRow } from '../helpers/automation-rows';

/**
 * Behaviour every AutomationStore adapter must have. Run it from an adapter's test file:
 * `automationStoreContract('sqlite', async () => ({ store, cleanup }))`.
 */
export function automationStoreContract(name: string, factory: () => Promise<{ store: AutomationStore; cleanup: () => Promise<void> }>): void {
  const enrolment = enrolmentRow;
  const action = actionRow;

  describe(`AutomationStore contract: ${name}`, () => {
    const withStore = async (fn: (s: AutomationStore) => Promise<void>): Promise<void> => {
      const { store, cleanup } = await factory();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    };

    it('enrols once per id and keeps the first actions', async () => {
      await withStore(async (s) => {
        const e = enrolment('e1', 'c1');
        expect(await s.enrol([{ enrolment: e, actions: [action('a1', e, 5)] }])).toEqual(['e1']);
        expect(await s.enrol([{ enrolment: { ...e, type: 'other' }, actions: [action('a1b', e, 5)] }])).toEqual([]);
        expect((await s.getEnrolment('e1'))?.type).toBe('at_risk');
        expect(await s.getAction('a1b')).toBeNull();
        expect((await s.lastEnrolment('pb', 'c1'))?.id).toBe('e1');
        expect(await s.lastEnrolment('pb', 'nobody')).toBeNull();
      });
    });

    it('claims due actions in due order, one per customer, with a lease; expired leases come back as recovered', async () => {
      await withStore(async (s) => {
        const e1 = enrolment('e1', 'c1');
        const e2 = enrolment('e2', 'c2');
        await s.enrol([
          { enrolment: e1, actions: [action('a-late', e1, 30), action('a-early', e1, 10)] },
          { enrolment: e2, actions: [action('b', e2, 20), action('future', e2, 1000)] },
        ]);
        const got = await s.claimDue(100, 10, 50);
        expect(got.map((x) => x.action.id)).toEqual(['a-early', 'b']);
        expect(got.every((x) => !x.recovered && x.action.status === 'sending' && x.action.attempts === 1)).toBe(true);
        // Leased actions are not claimed again before the lease expires...
        expect((await s.claimDue(120, 10, 50)).map((x) => x.action.id)).toEqual(['a-late']);
        // ...and come back as recovered after.
        const again = await s.claimDue(200, 10, 50);
        expect(again.filter((x) => x.recovered).map((x) => x.action.id).sort()).toEqual(['a-early', 'b']);
      });
    });

    it('completes atomically with follow-ups, contact, enrolment update and dead letter', async () => {
      await withStore(async (s) => {
        const e = enrolment('e1', 'c1');
        await s.enrol([{ enrolment: e, actions: [action('a1', e, 1)] }]);
        await s.claimDue(10, 10, 100);
        await s.complete([
          {
            actionId: 'a1',
            status: 'done',
            reason: null,
            now: 10,
            next: [action('a2', e, 500)],
            contact: { customerId: 'c1', channel: 'email', at: 10, promotional: true, actionId: 'a1' },
            enrolment: { id: 'e1', variant: 'B', reached: true },
            deadLetter: { actionId: 'a1', channel: 'email', error: 'x', attempts: 1, at: 10, payload: { a: 1 } },
          },
        ]);
        expect((await s.getAction('a1'))?.status).toBe('done');
        expect((await s.getAction('a2'))?.due).toBe(500);
        expect(await s.contactHistory('c1', 0)).toEqual([{ channel: 'email', at: 10, promotional: true }]);
        expect(await s.contactHistory('c1', 11)).toEqual([]);
        expect(await s.getEnrolment('e1')).toMatchObject({ variant: 'B', reached: true });
        expect((await s.listDeadLetters(10))[0]).toMatchObject({ actionId: 'a1', payload: { a: 1 } });
        expect(await s.nextDue()).toBe(500);
        expect((await s.countActions()).pending).toBe(1);
      });
    });

    it('defers, cancels and matches event waits', async () => {
      await withStore(async (s) => {
        const e = enrolment('e1', 'c1');
        await s.enrol([{ enrolment: e, actions: [action('a1', e, 1), action('w1', e, 1000, { waitEvent: 'Email Link Clicked' })] }]);
        await s.claimDue(5, 1, 100);
        await s.defer('a1', 50, 'cap_email', 5);
        expect(await s.getAction('a1')).toMatchObject({ status: 'pending', due: 50, reason: 'cap_email', deferredSince: 5 });
        expect((await s.eventWaits('c1', 'Email Link Clicked')).map((a) => a.id)).toEqual(['w1']);
        await s.matchEventWait('w1', 60);
        expect(await s.getAction('w1')).toMatchObject({ matched: true, due: 60 });
        expect(await s.eventWaits('c1', 'Email Link Clicked')).toEqual([]);
        await s.cancelEnrolment('e1', 'exited', 70);
        expect((await s.getAction('a1'))?.status).toBe('cancelled');
        expect((await s.getEnrolment('e1'))?.status).toBe('exited');
      });
    });

    it('marks actions handed over only under the lease they were claimed with, in one call for many', async () => {
      await withStore(async (s) => {
        const e1 = enrolment('e1', 'c1');
        const e2 = enrolment('e2', 'c2');
        const e3 = enrolment('e3', 'c3');
        await s.enrol([
          { enrolment: e1, actions: [action('a1', e1, 1)] },
          { enrolment: e2, actions: [action('a2', e2, 1)] },
          { enrolment: e3, actions: [action('a3', e3, 1)] },
        ]);
        const claimed = await s.claimDue(10, 2, 100);
        expect(claimed.map((x) => x.action.id)).toEqual(['a1', 'a2']);
        expect(claimed.every((x) => x.action.handedOverAt === null && x.action.leaseUntil === 110)).toBe(true);
        // a1 under its lease; a2 with a wrong lease (not the claim token); a3 is not sending; 'nope' does not exist.
        const marked = await s.markHandedOver(
          [
            { id: 'a1', leaseUntil: 110 },
            { id: 'a2', leaseUntil: 111 },
            { id: 'a3', leaseUntil: 110 },
            { id: 'nope', leaseUntil: 110 },
          ],
          20,
        );
        expect([...marked]).toEqual(['a1']);
        expect(await s.getAction('a1')).toMatchObject({ status: 'sending', handedOverAt: 20, leaseUntil: 110 });
        expect((await s.getAction('a2'))?.handedOverAt).toBeNull();
        expect((await s.getAction('a3'))?.handedOverAt).toBeNull();
        expect(await s.markHandedOver([], 20)).toEqual(new Set());
      });
    });

    it('a reclaimed action cannot be marked with the old lease; the recovered claim shows the mark; defer clears it, completion keeps it', async () => {
      await withStore(async (s) => {
        const e1 = enrolment('e1', 'c1');
        const e2 = enrolment('e2', 'c2');
        await s.enrol([
          { enrolment: e1, actions: [action('a1', e1, 1)] },
          { enrolment: e2, actions: [action('a2', e2, 1)] },
        ]);
        await s.claimDue(10, 10, 100);
        expect([...(await s.markHandedOver([{ id: 'a1', leaseUntil: 110 }], 30))]).toEqual(['a1']);
        // Both leases expire; another dispatcher reclaims both at 200 (lease 300).
        const again = await s.claimDue(200, 10, 100);
        const byId = new Map(again.map((x) => [x.action.id, x]));
        expect(byId.get('a1')).toMatchObject({ recovered: true, action: { handedOverAt: 30, leaseUntil: 300, attempts: 2 } });
        expect(byId.get('a2')).toMatchObject({ recovered: true, action: { handedOverAt: null, leaseUntil: 300 } });
        // The first dispatcher, late, tries to mark a2 under its old lease: refused (it must abort its send).
        expect((await s.markHandedOver([{ id: 'a2', leaseUntil: 110 }], 210)).size).toBe(0);
        expect((await s.getAction('a2'))?.handedOverAt).toBeNull();
        // The new owner's lease works.
        expect([...(await s.markHandedOver([{ id: 'a2', leaseUntil: 300 }], 220))]).toEqual(['a2']);
        // A deferral means that attempt did not deliver: the mark goes.
        await s.defer('a2', 500, 'retry: smtp 451', 230);
        expect(await s.getAction('a2')).toMatchObject({ status: 'pending', handedOverAt: null, leaseUntil: null });
        expect((await s.markHandedOver([{ id: 'a2', leaseUntil: 300 }], 240)).size).toBe(0);
        // Completion keeps the mark (a record of when it was handed over).
        await s.complete([{ actionId: 'a1', status: 'done', reason: 'handed over; delivery not confirmed', now: 250, next: [] }]);
        expect(await s.getAction('a1')).toMatchObject({ status: 'done', handedOverAt: 30 });
        expect((await s.markHandedOver([{ id: 'a1', leaseUntil: 300 }], 260)).size).toBe(0);
      });
    });

    it('records suppressions by customer or address, consents, conversions and outcomes', async () => {
      await withStore(async (s) => {
        await s.addSuppression({ customerId: 'c1', address: 'a@x.test', channel: 'email', reason: 'unsubscribed', at: 5, source: 'one_click' });
        expect(await s.suppressionsFor('c1', null, 'email')).toHaveLength(1);
        expect(await s.suppressionsFor('other', 'a@x.test', 'email')).toHaveLength(1);
        expect(await s.suppressionsFor('c1', null, 'in_app')).toHaveLength(0);
        expect(await s.removeSuppression('c1', 'email', ['unsubscribed'])).toBe(1);
        expect(await s.listSuppressions('c1')).toEqual([]);
        expect(await s.consent('c1', 'email')).toBeNull();
        await s.setConsent('c1', 'email', true, 6);
        expect(await s.consent('c1', 'email')).toBe(true);

        const t = enrolment('t', 'c1', { variant: 'A' });
        const h = enrolment('h', 'c2', { holdout: true, status: 'holdout' });
        await s.enrol([
          { enrolment: t, actions: [] },
          { enrolment: h, actions: [] },
        ]);
        expect(await s.markConverted('t', 2000, 40)).toBe(true);
        expect(await s.markConverted('t', 2001, 99)).toBe(false);
        await s.markUnsubscribed('t');
        const rows = await s.outcomes('pb');
        expect(rows.find((r) => !r.holdout)).toMatchObject({ variant: 'A', n: 1, conversions: 1, revenueSum: 40, revenueSumSq: 1600, unsubscribes: 1 });
        expect(rows.find((r) => r.holdout)).toMatchObject({ n: 1, conversions: 0 });
        expect(await s.variantStats('pb', 'at_risk')).toEqual([{ name: 'A', n: 1, conversions: 1 }]);
        expect((await s.enrolmentsOf('c1', 0)).map((e) => e.id)).toEqual(['t']);
      });
    });

    it('keeps tasks, inbox and schedule runs idempotent', async () => {
      await withStore(async (s) => {
        const task = {
          id: 'k1',
          actionId: 'a1',
          playbookId: 'pb',
          customerId: 'c1',
          userId: 'u1',
          assignee: 'maria',
          queue: null,
          kind: 'dedicated' as const,
          title: 'Call',
          description: '',
          dueAt: null,
          createdAt: 1,
          status: 'open' as const,
          completedAt: null,
          outcome: null,
        };
        await s.createTask(task);
        await s.createTask({ ...task, title: 'changed' });
        expect(await s.listTasks({ status: 'open' })).toMatchObject([{ id: 'k1', title: 'Call' }]);
        expect(await s.listTasks({ assignee: 'nobody' })).toEqual([]);
        expect(await s.assignTask('k1', 'jon')).toMatchObject({ assignee: 'jon', queue: null });
        expect(await s.assignTask('missing', 'jon')).toBeNull();
        expect(await s.completeTask('k1', 'called', 9)).toMatchObject({ changed: true, task: { status: 'done', outcome: 'called' } });
        expect(await s.completeTask('k1', 'again', 10)).toMatchObject({ changed: false, task: { outcome: 'called' } });
        expect(await s.completeTask('missing', 'x', 10)).toBeNull();

        await s.addInbox({ id: 'm1', userId: 'u1', customerId: 'c1', playbookId: 'pb', title: 'Hi', body: 'B', createdAt: 1, readAt: null });
        await s.addInbox({ id: 'm1', userId: 'u1', customerId: 'c1', playbookId: 'pb', title: 'dup', body: 'B', createdAt: 1, readAt: null });
        expect(await s.listInbox('u1', true)).toMatchObject([{ id: 'm1', title: 'Hi' }]);
        expect(await s.markInboxRead('u1', ['m1'], 5)).toBe(1);
        expect(await s.listInbox('u1', true)).toEqual([]);
        expect(await s.listInbox('u1', false)).toHaveLength(1);

        expect(await s.playbookStates()).toEqual({});
        await s.setPlaybookEnabled('pb', false, 3);
        expect(await s.playbookStates()).toEqual({ pb: false });
        expect(await s.claimScheduleRun('pb', '2026-01', 1)).toBe(true);
        expect(await s.claimScheduleRun('pb', '2026-01', 2)).toBe(false);
      });
    });
  });
}
