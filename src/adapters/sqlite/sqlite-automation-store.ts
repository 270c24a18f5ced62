import { withoutFsync } from './without-fsync';
import type { Channel } from '../../domain/contact-policy';
import type { ContactRecord } from '../../domain/playbook-policy';
import type {
  ActionCompletion,
  ActionStatus,
  AutomationStore,
  DeadLetter,
  Enrolment,
  OutcomeRow,
  ScheduledAction,
} from '../../ports/automation-store';
import { num, optNum, optStr, toAction, toEnrolment, toInbox, toSuppression, toTask } from '../shared/automation-rows';
import type { SqliteDatabase } from './open-database';

type Row = Record<string, unknown>;

/**
 * The automation store on the embedded SQLite database (the shared `<data>/rapport.db`, opened
 * with openSqliteDatabase so migrations 20-29 are applied). Synchronous inside; each method is
 * one transaction, so a batch of completions commits (and fsyncs) once.
 */
export function createSqliteAutomationStore(db: SqliteDatabase, opts: { closeDb?: boolean } = {}): AutomationStore {
  const s = {
    insEnrol: db.prepare(`INSERT OR IGNORE INTO auto_enrolments (id, playbook_id, customer_id, trigger_key, entered_at, holdout, variant, policy_lens, type, status, reached, converted_at, revenue, unsubscribed, goal_event, goal_within)
      VALUES (@id, @playbookId, @customerId, @triggerKey, @enteredAt, @holdout, @variant, @policyLens, @type, @status, @reached, @convertedAt, @revenue, @unsubscribed, @goalEvent, @goalWithin)`),
    insAction: db.prepare(`INSERT OR IGNORE INTO auto_actions (id, enrolment_id, playbook_id, step_id, customer_id, due, status, attempts, lease_until, reason, wait_event, matched, deferred_since, created_at, updated_at)
      VALUES (@id, @enrolmentId, @playbookId, @stepId, @customerId, @due, @status, @attempts, @leaseUntil, @reason, @waitEvent, @matched, @deferredSince, @createdAt, @createdAt)`),
    getEnrol: db.prepare('SELECT * FROM auto_enrolments WHERE id = ?'),
    lastEnrol: db.prepare('SELECT * FROM auto_enrolments WHERE playbook_id = ? AND customer_id = ? ORDER BY entered_at DESC, id DESC LIMIT 1'),
    enrolOf: db.prepare('SELECT * FROM auto_enrolments WHERE customer_id = ? AND entered_at >= ? ORDER BY entered_at'),
    converted: db.prepare('UPDATE auto_enrolments SET converted_at = ?, revenue = ? WHERE id = ? AND converted_at IS NULL'),
    unsub: db.prepare('UPDATE auto_enrolments SET unsubscribed = 1 WHERE id = ?'),
    pendingDue: db.prepare(`SELECT * FROM auto_actions WHERE status = 'pending' AND due <= ? ORDER BY due, id LIMIT ?`),
    expired: db.prepare(`SELECT * FROM auto_actions WHERE status = 'sending' AND lease_until <= ? ORDER BY due, id LIMIT ?`),
    lease: db.prepare(`UPDATE auto_actions SET status = 'sending', lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`),
    finish: db.prepare('UPDATE auto_actions SET status = ?, reason = ?, lease_until = NULL, updated_at = ? WHERE id = ?'),
    defer: db.prepare(
      `UPDATE auto_actions SET status = 'pending', due = ?, reason = ?, lease_until = NULL, handed_over_at = NULL, deferred_since = COALESCE(deferred_since, ?), updated_at = ? WHERE id = ?`,
    ),
    // The lease is the claim token: a dispatcher whose action was reclaimed by another one marks nothing.
    handOver: db.prepare(`UPDATE auto_actions SET handed_over_at = ?, updated_at = ? WHERE id = ? AND status = 'sending' AND lease_until = ?`),
    insContact: db.prepare('INSERT OR IGNORE INTO auto_contacts (customer_id, channel, at, promotional, action_id) VALUES (?, ?, ?, ?, ?)'),
    enrolStatus: db.prepare('UPDATE auto_enrolments SET status = ? WHERE id = ?'),
    enrolVariant: db.prepare('UPDATE auto_enrolments SET variant = ? WHERE id = ?'),
    enrolReached: db.prepare('UPDATE auto_enrolments SET reached = 1 WHERE id = ?'),
    insDead: db.prepare('INSERT OR REPLACE INTO auto_dead_letters (action_id, channel, error, attempts, at, payload) VALUES (?, ?, ?, ?, ?, ?)'),
    cancelActions: db.prepare(`UPDATE auto_actions SET status = 'cancelled', reason = 'enrolment ended', updated_at = ? WHERE enrolment_id = ? AND status = 'pending'`),
    waits: db.prepare(`SELECT * FROM auto_actions WHERE customer_id = ? AND wait_event = ? AND status = 'pending' AND matched = 0`),
    matchWait: db.prepare(`UPDATE auto_actions SET matched = 1, due = ?, updated_at = ? WHERE id = ? AND status = 'pending'`),
    getAction: db.prepare('SELECT * FROM auto_actions WHERE id = ?'),
    countActions: db.prepare('SELECT status, COUNT(*) AS n FROM auto_actions GROUP BY status'),
    nextDue: db.prepare(`SELECT MIN(due) AS d FROM auto_actions WHERE status = 'pending'`),
    contacts: db.prepare('SELECT channel, at, promotional FROM auto_contacts WHERE customer_id = ? AND at >= ? ORDER BY at'),
    insSupp: db.prepare('INSERT OR REPLACE INTO auto_suppressions (customer_id, address, channel, reason, at, source) VALUES (?, ?, ?, ?, ?, ?)'),
    suppFor: db.prepare('SELECT * FROM auto_suppressions WHERE channel = ? AND (customer_id = ? OR (address IS NOT NULL AND address = ?))'),
    suppAll: db.prepare('SELECT * FROM auto_suppressions ORDER BY at'),
    suppOf: db.prepare('SELECT * FROM auto_suppressions WHERE customer_id = ? ORDER BY at'),
    setConsent: db.prepare('INSERT OR REPLACE INTO auto_consents (customer_id, channel, granted, at) VALUES (?, ?, ?, ?)'),
    consent: db.prepare('SELECT granted FROM auto_consents WHERE customer_id = ? AND channel = ?'),
    insTask: db.prepare(`INSERT OR IGNORE INTO auto_tasks (id, action_id, playbook_id, customer_id, user_id, assignee, queue, kind, title, description, due_at, created_at, status, completed_at, outcome)
      VALUES (@id, @actionId, @playbookId, @customerId, @userId, @assignee, @queue, @kind, @title, @description, @dueAt, @createdAt, @status, @completedAt, @outcome)`),
    getTask: db.prepare('SELECT * FROM auto_tasks WHERE id = ?'),
    completeTask: db.prepare(`UPDATE auto_tasks SET status = 'done', completed_at = ?, outcome = ? WHERE id = ? AND status = 'open'`),
    insInbox: db.prepare('INSERT OR IGNORE INTO auto_inbox (id, user_id, customer_id, playbook_id, title, body, created_at, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)'),
    inbox: db.prepare('SELECT * FROM auto_inbox WHERE user_id = ? ORDER BY created_at DESC, id LIMIT 200'),
    inboxUnread: db.prepare('SELECT * FROM auto_inbox WHERE user_id = ? AND read_at IS NULL ORDER BY created_at DESC, id LIMIT 200'),
    readInbox: db.prepare('UPDATE auto_inbox SET read_at = ? WHERE user_id = ? AND id = ? AND read_at IS NULL'),
    dead: db.prepare('SELECT * FROM auto_dead_letters ORDER BY at DESC LIMIT ?'),
    outcomes: db.prepare(`SELECT variant, type, holdout, COUNT(*) AS n, SUM(reached) AS reached,
        SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END) AS conversions,
        SUM(revenue) AS rs, SUM(revenue * revenue) AS rss, SUM(unsubscribed) AS unsubs
      FROM auto_enrolments WHERE playbook_id = ? GROUP BY variant, type, holdout ORDER BY holdout, variant, type`),
    variantStats: db.prepare(`SELECT variant, COUNT(*) AS n, SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END) AS c
      FROM auto_enrolments WHERE playbook_id = ? AND holdout = 0 AND variant IS NOT NULL AND type IS ? GROUP BY variant`),
    assignTask: db.prepare(`UPDATE auto_tasks SET assignee = ?, queue = NULL WHERE id = ? AND status = 'open'`),
    setPbState: db.prepare('INSERT OR REPLACE INTO auto_playbook_state (playbook_id, enabled, at) VALUES (?, ?, ?)'),
    pbStates: db.prepare('SELECT playbook_id, enabled FROM auto_playbook_state'),
    schedRun: db.prepare('INSERT OR IGNORE INTO auto_schedule_runs (playbook_id, period, at) VALUES (?, ?, ?)'),
  };

  const enrolTx = db.transaction((items: readonly { enrolment: Enrolment; actions: readonly ScheduledAction[] }[]) => {
    const created: string[] = [];
    for (const { enrolment: e, actions } of items) {
      const r = s.insEnrol.run({
        ...e,
        holdout: e.holdout ? 1 : 0,
        reached: e.reached ? 1 : 0,
        unsubscribed: e.unsubscribed ? 1 : 0,
      });
      if (r.changes === 0) continue;
      created.push(e.id);
      for (const a of actions) insertAction(a);
    }
    return created;
  });

  function insertAction(a: ScheduledAction): void {
    s.insAction.run({ ...a, matched: a.matched ? 1 : 0 });
  }

  const claimTx = db.transaction((now: number, limit: number, leaseMs: number) => {
    const out: { action: ScheduledAction; recovered: boolean }[] = [];
    const seen = new Set<string>();
    const take = (rows: Row[], recovered: boolean): void => {
      for (const r of rows) {
        if (out.length >= limit) return;
        const a = toAction(r);
        if (seen.has(a.customerId)) continue;
        seen.add(a.customerId);
        s.lease.run(now + leaseMs, now, a.id);
        out.push({ action: { ...a, status: 'sending', attempts: a.attempts + 1, leaseUntil: now + leaseMs }, recovered });
      }
    };
    take(s.expired.all(now, limit) as Row[], true);
    take(s.pendingDue.all(now, limit * 3) as Row[], false);
    return out;
  });

  const completeTx = db.transaction((items: readonly ActionCompletion[]) => {
    for (const c of items) {
      s.finish.run(c.status, c.reason, c.now, c.actionId);
      for (const a of c.next) insertAction(a);
      if (c.contact) s.insContact.run(c.contact.customerId, c.contact.channel, c.contact.at, c.contact.promotional ? 1 : 0, c.contact.actionId);
      if (c.enrolment) {
        if (c.enrolment.status) s.enrolStatus.run(c.enrolment.status, c.enrolment.id);
        if (c.enrolment.variant) s.enrolVariant.run(c.enrolment.variant, c.enrolment.id);
        if (c.enrolment.reached) s.enrolReached.run(c.enrolment.id);
      }
      const d = c.deadLetter;
      if (d) s.insDead.run(d.actionId, d.channel, d.error, d.attempts, d.at, JSON.stringify(d.payload ?? null));
    }
  });

  const handOverTx = db.transaction((items: readonly { id: string; leaseUntil: number }[], now: number) => {
    const marked = new Set<string>();
    for (const x of items) if (s.handOver.run(now, now, x.id, x.leaseUntil).changes > 0) marked.add(x.id);
    return marked;
  });
  // One mark (the usual group at a few thousand e-mails/s) is one statement: in autocommit it is its own
  // transaction, with the same durability, without the BEGIN and COMMIT statements, which cost more than
  // the UPDATE right after the synchronous level changed (measured 21 -> 10 us per mark).
  const handOver = (items: readonly { id: string; leaseUntil: number }[], now: number): Set<string> => {
    const only = items.length === 1 && !db.inTransaction ? items[0] : undefined;
    if (!only) return handOverTx(items, now);
    return s.handOver.run(now, now, only.id, only.leaseUntil).changes > 0 ? new Set([only.id]) : new Set<string>();
  };

  const wal = String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';

  const cancelTx = db.transaction((enrolmentId: string, status: string, now: number) => {
    s.cancelActions.run(now, enrolmentId);
    s.enrolStatus.run(status, enrolmentId);
  });

  const readTx = db.transaction((userId: string, ids: readonly string[], at: number) => {
    let n = 0;
    for (const id of ids) n += s.readInbox.run(at, userId, id).changes;
    return n;
  });

  const store: AutomationStore = {
    async enrol(items) {
      return enrolTx(items);
    },
    async getEnrolment(id) {
      const r = s.getEnrol.get(id) as Row | undefined;
      return r ? toEnrolment(r) : null;
    },
    async lastEnrolment(playbookId, customerId) {
      const r = s.lastEnrol.get(playbookId, customerId) as Row | undefined;
      return r ? toEnrolment(r) : null;
    },
    async enrolmentsOf(customerId, since) {
      return (s.enrolOf.all(customerId, since) as Row[]).map(toEnrolment);
    },
    async markConverted(id, at, revenue) {
      return s.converted.run(at, revenue, id).changes > 0;
    },
    async markUnsubscribed(id) {
      s.unsub.run(id);
    },
    async claimDue(now, limit, leaseMs) {
      // IMMEDIATE: it reads the due actions, then leases them (see SqliteEngineStore.commitTx).
      return claimTx.immediate(now, limit, leaseMs);
    },
    async complete(items) {
      if (items.length) completeTx(items);
    },
    async markHandedOver(items, now) {
      if (items.length === 0) return new Set<string>();
      if (!wal) return handOver(items, now);
      // The mark must outlive this process (SIGKILL, crash), not a power cut: without the disk flush, which
      // sits on every email's critical path otherwise. A mark lost to a power cut only means that action
      // is sent again on recovery (at-least-once, as without marks), never that it is skipped; the next
      // synchronous commit flushes it anyway.
      return withoutFsync(db, () => handOver(items, now));
    },
    async defer(actionId, due, reason, now) {
      s.defer.run(due, reason, now, now, actionId);
    },
    async cancelEnrolment(enrolmentId, status, now) {
      cancelTx(enrolmentId, status, now);
    },
    async eventWaits(customerId, event) {
      return (s.waits.all(customerId, event) as Row[]).map(toAction);
    },
    async matchEventWait(actionId, now) {
      s.matchWait.run(now, now, actionId);
    },
    async getAction(id) {
      const r = s.getAction.get(id) as Row | undefined;
      return r ? toAction(r) : null;
    },
    async listActions(f) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (f.playbookId) (where.push('playbook_id = ?'), args.push(f.playbookId));
      if (f.customerId) (where.push('customer_id = ?'), args.push(f.customerId));
      if (f.status) (where.push('status = ?'), args.push(f.status));
      const sql = `SELECT * FROM auto_actions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
      return (db.prepare(sql).all(...args, f.limit ?? 100) as Row[]).map(toAction);
    },
    async countActions() {
      const out: Record<ActionStatus, number> = { pending: 0, sending: 0, done: 0, dropped: 0, failed: 0, cancelled: 0 };
      for (const r of s.countActions.all() as Row[]) out[r.status as ActionStatus] = num(r.n);
      return out;
    },
    async nextDue() {
      return optNum((s.nextDue.get() as Row).d);
    },
    async contactHistory(customerId, since) {
      return (s.contacts.all(customerId, since) as Row[]).map(
        (r): ContactRecord => ({ channel: r.channel as Channel, at: num(r.at), promotional: r.promotional === 1 }),
      );
    },
    async addSuppression(x) {
      s.insSupp.run(x.customerId, x.address, x.channel, x.reason, x.at, x.source);
    },
    async removeSuppression(customerId, channel, reasons) {
      let n = 0;
      for (const r of reasons) {
        n += db.prepare('DELETE FROM auto_suppressions WHERE customer_id = ? AND channel = ? AND reason = ?').run(customerId, channel, r).changes;
      }
      return n;
    },
    async suppressionsFor(customerId, address, channel) {
      return (s.suppFor.all(channel, customerId, address) as Row[]).map(toSuppression);
    },
    async listSuppressions(customerId) {
      return ((customerId ? s.suppOf.all(customerId) : s.suppAll.all()) as Row[]).map(toSuppression);
    },
    async setConsent(customerId, channel, granted, at) {
      s.setConsent.run(customerId, channel, granted ? 1 : 0, at);
    },
    async consent(customerId, channel) {
      const r = s.consent.get(customerId, channel) as Row | undefined;
      return r ? r.granted === 1 : null;
    },
    async createTask(t) {
      s.insTask.run({ ...t });
    },
    async listTasks(f) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (f.status) (where.push('status = ?'), args.push(f.status));
      if (f.assignee) (where.push('(assignee = ? OR queue = ?)'), args.push(f.assignee, f.assignee));
      const sql = `SELECT * FROM auto_tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ?`;
      return (db.prepare(sql).all(...args, f.limit ?? 500) as Row[]).map(toTask);
    },
    async getTask(id) {
      const r = s.getTask.get(id) as Row | undefined;
      return r ? toTask(r) : null;
    },
    async completeTask(id, outcome, at) {
      const changed = s.completeTask.run(at, outcome, id).changes > 0;
      const r = s.getTask.get(id) as Row | undefined;
      return r ? { task: toTask(r), changed } : null;
    },
    async assignTask(id, assignee) {
      s.assignTask.run(assignee, id);
      const r = s.getTask.get(id) as Row | undefined;
      return r ? toTask(r) : null;
    },
    async setPlaybookEnabled(playbookId, enabled, at) {
      s.setPbState.run(playbookId, enabled ? 1 : 0, at);
    },
    async playbookStates() {
      const out: Record<string, boolean> = {};
      for (const r of s.pbStates.all() as Row[]) out[String(r.playbook_id)] = r.enabled === 1;
      return out;
    },
    async addInbox(i) {
      s.insInbox.run(i.id, i.userId, i.customerId, i.playbookId, i.title, i.body, i.createdAt);
    },
    async listInbox(userId, unreadOnly) {
      return ((unreadOnly ? s.inboxUnread : s.inbox).all(userId) as Row[]).map(toInbox);
    },
    async markInboxRead(userId, ids, at) {
      return readTx(userId, ids, at);
    },
    async listDeadLetters(limit) {
      return (s.dead.all(limit) as Row[]).map(
        (r): DeadLetter => ({
          actionId: String(r.action_id),
          channel: r.channel as Channel,
          error: String(r.error),
          attempts: num(r.attempts),
          at: num(r.at),
          payload: JSON.parse(String(r.payload)),
        }),
      );
    },
    async outcomes(playbookId) {
      return (s.outcomes.all(playbookId) as Row[]).map(
        (r): OutcomeRow => ({
          variant: optStr(r.variant),
          type: optStr(r.type),
          holdout: r.holdout === 1,
          n: num(r.n),
          reached: num(r.reached ?? 0),
          conversions: num(r.conversions ?? 0),
          revenueSum: num(r.rs ?? 0),
          revenueSumSq: num(r.rss ?? 0),
          unsubscribes: num(r.unsubs ?? 0),
        }),
      );
    },
    async variantStats(playbookId, type) {
      return (s.variantStats.all(playbookId, type) as Row[]).map((r) => ({ name: String(r.variant), n: num(r.n), conversions: num(r.c) }));
    },
    async claimScheduleRun(playbookId, period, at) {
      return s.schedRun.run(playbookId, period, at).changes > 0;
    },
    async close() {
      if (opts.closeDb) db.close();
    },
  };
  return store;
}
