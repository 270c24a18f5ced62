import type { Channel } from '../../domain/contact-policy';
import type { ContactRecord } from '../../domain/playbook-policy';
import type {
  ActionStatus,
  AutomationStore,
  DeadLetter,
  OutcomeRow,
  ScheduledAction,
  Task,
} from '../../ports/automation-store';
import { bool, num, optStr, toAction, toEnrolment, toInbox, toSuppression, toTask } from '../shared/automation-rows';
import { inTransaction, type PostgresClient, type PostgresPool } from './open-pool';

type Row = Record<string, unknown>;

const bit = (b: boolean): number => (b ? 1 : 0);

const ACTION_COLUMNS =
  'id, enrolment_id, playbook_id, step_id, customer_id, due, status, attempts, lease_until, reason, wait_event, matched, deferred_since, created_at, updated_at';

/** Inserts actions (existing ids are kept) with one multi-row statement. */
async function insertActions(c: PostgresClient, actions: readonly ScheduledAction[]): Promise<void> {
  if (actions.length === 0) return;
  const cols: unknown[][] = Array.from({ length: 14 }, () => []);
  for (const a of actions) {
    [a.id, a.enrolmentId, a.playbookId, a.stepId, a.customerId, a.due, a.status, a.attempts, a.leaseUntil, a.reason, a.waitEvent, bit(a.matched), a.deferredSince, a.createdAt].forEach(
      (v, i) => (cols[i] as unknown[]).push(v),
    );
  }
  await c.query(
    `INSERT INTO auto_actions (${ACTION_COLUMNS})
     SELECT i, e, p, s, cu, d, st, at, l, r, w, m, ds, ca, ca
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::int[], $9::bigint[],
                   $10::text[], $11::text[], $12::smallint[], $13::bigint[], $14::bigint[]) AS x(i, e, p, s, cu, d, st, at, l, r, w, m, ds, ca)
     ON CONFLICT (id) DO NOTHING`,
    cols,
  );
}

/**
 * The automation store on PostgreSQL (migrations 20-29). Each method is one statement or one
 * transaction on one pooled client. `claimDue` locks candidate rows with FOR UPDATE SKIP LOCKED, so
 * several scheduler processes can claim concurrently without taking the same action twice.
 */
export function createPostgresAutomationStore(pool: PostgresPool, opts: { closePool?: boolean } = {}): AutomationStore {
  const q = async (sql: string, params: unknown[] = []): Promise<Row[]> => (await pool.query<Row>(sql, params)).rows;
  const changed = async (sql: string, params: unknown[]): Promise<number> => (await pool.query(sql, params)).rowCount ?? 0;
  const getTask = async (id: string): Promise<Task | null> => {
    const [r] = await q('SELECT * FROM auto_tasks WHERE id = $1', [id]);
    return r ? toTask(r) : null;
  };

  const store: AutomationStore = {
    async enrol(items) {
      if (items.length === 0) return [];
      return inTransaction(pool, async (c) => {
        const created: string[] = [];
        const actions: ScheduledAction[] = [];
        for (const { enrolment: e, actions: acts } of items) {
          const r = await c.query(
            `INSERT INTO auto_enrolments (id, playbook_id, customer_id, trigger_key, entered_at, holdout, variant, policy_lens, type, status,
               reached, converted_at, revenue, unsubscribed, goal_event, goal_within)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (id) DO NOTHING`,
            [e.id, e.playbookId, e.customerId, e.triggerKey, e.enteredAt, bit(e.holdout), e.variant, e.policyLens, e.type, e.status,
              bit(e.reached), e.convertedAt, e.revenue, bit(e.unsubscribed), e.goalEvent, e.goalWithin],
          );
          if ((r.rowCount ?? 0) === 0) continue;
          created.push(e.id);
          actions.push(...acts);
        }
        await insertActions(c, actions);
        return created;
      });
    },
    async getEnrolment(id) {
      const [r] = await q('SELECT * FROM auto_enrolments WHERE id = $1', [id]);
      return r ? toEnrolment(r) : null;
    },
    async lastEnrolment(playbookId, customerId) {
      const [r] = await q(
        'SELECT * FROM auto_enrolments WHERE playbook_id = $1 AND customer_id = $2 ORDER BY entered_at DESC, id DESC LIMIT 1',
        [playbookId, customerId],
      );
      return r ? toEnrolment(r) : null;
    },
    async enrolmentsOf(customerId, since) {
      return (await q('SELECT * FROM auto_enrolments WHERE customer_id = $1 AND entered_at >= $2 ORDER BY entered_at, id', [customerId, since])).map(
        toEnrolment,
      );
    },
    async markConverted(id, at, revenue) {
      return (await changed('UPDATE auto_enrolments SET converted_at = $1, revenue = $2 WHERE id = $3 AND converted_at IS NULL', [at, revenue, id])) > 0;
    },
    async markUnsubscribed(id) {
      await q('UPDATE auto_enrolments SET unsubscribed = 1 WHERE id = $1', [id]);
    },
    async claimDue(now, limit, leaseMs) {
      return inTransaction(pool, async (c) => {
        // SKIP LOCKED: rows another claimer holds are passed over, not waited for.
        const expired = await c.query<Row>(
          `SELECT * FROM auto_actions WHERE status = 'sending' AND lease_until <= $1 ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [now, limit],
        );
        const pending = await c.query<Row>(
          `SELECT * FROM auto_actions WHERE status = 'pending' AND due <= $1 ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [now, limit * 3],
        );
        const out: { action: ScheduledAction; recovered: boolean }[] = [];
        const seen = new Set<string>();
        const take = (rows: Row[], recovered: boolean): void => {
          for (const r of rows) {
            if (out.length >= limit) return;
            const a = toAction(r);
            if (seen.has(a.customerId)) continue;
            seen.add(a.customerId);
            out.push({ action: { ...a, status: 'sending', attempts: a.attempts + 1, leaseUntil: now + leaseMs }, recovered });
          }
        };
        take(expired.rows, true);
        take(pending.rows, false);
        if (out.length > 0) {
          await c.query(
            `UPDATE auto_actions SET status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at = $2 WHERE id = ANY($3::text[])`,
            [now + leaseMs, now, out.map((x) => x.action.id)],
          );
        }
        return out;
      });
    },
    async complete(items) {
      if (items.length === 0) return;
      await inTransaction(pool, async (c) => {
        for (const x of items) {
          await c.query('UPDATE auto_actions SET status = $1, reason = $2, lease_until = NULL, updated_at = $3 WHERE id = $4', [
            x.status,
            x.reason,
            x.now,
            x.actionId,
          ]);
          await insertActions(c, x.next);
          const k = x.contact;
          if (k) {
            await c.query(
              'INSERT INTO auto_contacts (customer_id, channel, at, promotional, action_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (action_id) DO NOTHING',
              [k.customerId, k.channel, k.at, bit(k.promotional), k.actionId],
            );
          }
          const e = x.enrolment;
          if (e && (e.status || e.variant || e.reached)) {
            await c.query(
              `UPDATE auto_enrolments SET status = COALESCE($2, status), variant = COALESCE($3, variant),
                 reached = CASE WHEN $4 THEN 1 ELSE reached END WHERE id = $1`,
              [e.id, e.status ?? null, e.variant || null, e.reached === true],
            );
          }
          const d = x.deadLetter;
          if (d) {
            await c.query(
              `INSERT INTO auto_dead_letters (action_id, channel, error, attempts, at, payload) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (action_id) DO UPDATE SET channel = excluded.channel, error = excluded.error, attempts = excluded.attempts,
                 at = excluded.at, payload = excluded.payload`,
              [d.actionId, d.channel, d.error, d.attempts, d.at, JSON.stringify(d.payload ?? null)],
            );
          }
        }
      });
    },
    async markHandedOver(items, now) {
      if (items.length === 0) return new Set<string>();
      // One UPDATE (one commit) for the whole group. The lease is the claim token: a row another
      // dispatcher reclaimed has a new lease_until (a concurrent reclaim's row lock makes this wait and
      // then re-check the condition on the new row), so it is not marked.
      return inTransaction(pool, async (c) => {
        // The mark must outlive the dispatcher process, which a commit does once the server has it; not
        // waiting for the WAL flush takes the disk off every email's critical path. A mark lost to a
        // database crash only means that action is sent again on recovery (at-least-once), never skipped.
        await c.query('SET LOCAL synchronous_commit = off');
        const r = await c.query<Row>(
          `UPDATE auto_actions a SET handed_over_at = $1, updated_at = $1
             FROM unnest($2::text[], $3::bigint[]) AS x(id, lease)
            WHERE a.id = x.id AND a.status = 'sending' AND a.lease_until = x.lease
            RETURNING a.id`,
          [now, items.map((x) => x.id), items.map((x) => x.leaseUntil)],
        );
        return new Set(r.rows.map((x) => String(x.id)));
      });
    },
    async defer(actionId, due, reason, now) {
      await q(
        `UPDATE auto_actions SET status = 'pending', due = $1, reason = $2, lease_until = NULL, handed_over_at = NULL,
           deferred_since = COALESCE(deferred_since, $3), updated_at = $3 WHERE id = $4`,
        [due, reason, now, actionId],
      );
    },
    async cancelEnrolment(enrolmentId, status, now) {
      await inTransaction(pool, async (c) => {
        await c.query(
          `UPDATE auto_actions SET status = 'cancelled', reason = 'enrolment ended', updated_at = $1 WHERE enrolment_id = $2 AND status = 'pending'`,
          [now, enrolmentId],
        );
        await c.query('UPDATE auto_enrolments SET status = $1 WHERE id = $2', [status, enrolmentId]);
      });
    },
    async eventWaits(customerId, event) {
      return (
        await q(`SELECT * FROM auto_actions WHERE customer_id = $1 AND wait_event = $2 AND status = 'pending' AND matched = 0 ORDER BY due, id`, [
          customerId,
          event,
        ])
      ).map(toAction);
    },
    async matchEventWait(actionId, now) {
      await q(`UPDATE auto_actions SET matched = 1, due = $1, updated_at = $1 WHERE id = $2 AND status = 'pending'`, [now, actionId]);
    },
    async getAction(id) {
      const [r] = await q('SELECT * FROM auto_actions WHERE id = $1', [id]);
      return r ? toAction(r) : null;
    },
    async listActions(f) {
      const where: string[] = [];
      const args: unknown[] = [];
      const p = (v: unknown): string => (args.push(v), `$${args.length}`);
      if (f.playbookId) where.push(`playbook_id = ${p(f.playbookId)}`);
      if (f.customerId) where.push(`customer_id = ${p(f.customerId)}`);
      if (f.status) where.push(`status = ${p(f.status)}`);
      const sql = `SELECT * FROM auto_actions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ${p(f.limit ?? 100)}`;
      return (await q(sql, args)).map(toAction);
    },
    async countActions() {
      const out: Record<ActionStatus, number> = { pending: 0, sending: 0, done: 0, dropped: 0, failed: 0, cancelled: 0 };
      for (const r of await q('SELECT status, COUNT(*) AS n FROM auto_actions GROUP BY status')) out[r.status as ActionStatus] = num(r.n);
      return out;
    },
    async nextDue() {
      const [r] = await q(`SELECT due FROM auto_actions WHERE status = 'pending' ORDER BY due LIMIT 1`);
      return r ? num(r.due) : null;
    },
    async contactHistory(customerId, since) {
      return (await q('SELECT channel, at, promotional FROM auto_contacts WHERE customer_id = $1 AND at >= $2 ORDER BY at', [customerId, since])).map(
        (r): ContactRecord => ({ channel: r.channel as Channel, at: num(r.at), promotional: bool(r.promotional) }),
      );
    },
    async addSuppression(x) {
      await q(
        `INSERT INTO auto_suppressions (customer_id, address, channel, reason, at, source) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (customer_id, channel, reason) DO UPDATE SET address = excluded.address, at = excluded.at, source = excluded.source`,
        [x.customerId, x.address, x.channel, x.reason, x.at, x.source],
      );
    },
    async removeSuppression(customerId, channel, reasons) {
      if (reasons.length === 0) return 0;
      return changed('DELETE FROM auto_suppressions WHERE customer_id = $1 AND channel = $2 AND reason = ANY($3::text[])', [
        customerId,
        channel,
        [...reasons],
      ]);
    },
    async suppressionsFor(customerId, address, channel) {
      return (
        await q('SELECT * FROM auto_suppressions WHERE channel = $1 AND (customer_id = $2 OR (address IS NOT NULL AND address = $3))', [
          channel,
          customerId,
          address,
        ])
      ).map(toSuppression);
    },
    async listSuppressions(customerId) {
      const rows = customerId
        ? await q('SELECT * FROM auto_suppressions WHERE customer_id = $1 ORDER BY at', [customerId])
        : await q('SELECT * FROM auto_suppressions ORDER BY at');
      return rows.map(toSuppression);
    },
    async setConsent(customerId, channel, granted, at) {
      await q(
        `INSERT INTO auto_consents (customer_id, channel, granted, at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id, channel) DO UPDATE SET granted = excluded.granted, at = excluded.at`,
        [customerId, channel, bit(granted), at],
      );
    },
    async consent(customerId, channel) {
      const [r] = await q('SELECT granted FROM auto_consents WHERE customer_id = $1 AND channel = $2', [customerId, channel]);
      return r ? bool(r.granted) : null;
    },
    async createTask(t) {
      await q(
        `INSERT INTO auto_tasks (id, action_id, playbook_id, customer_id, user_id, assignee, queue, kind, title, description, due_at, created_at,
           status, completed_at, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO NOTHING`,
        [t.id, t.actionId, t.playbookId, t.customerId, t.userId, t.assignee, t.queue, t.kind, t.title, t.description, t.dueAt, t.createdAt,
          t.status, t.completedAt, t.outcome],
      );
    },
    async listTasks(f) {
      const where: string[] = [];
      const args: unknown[] = [];
      const p = (v: unknown): string => (args.push(v), `$${args.length}`);
      if (f.status) where.push(`status = ${p(f.status)}`);
      if (f.assignee) {
        const a = p(f.assignee);
        where.push(`(assignee = ${a} OR queue = ${a})`);
      }
      const sql = `SELECT * FROM auto_tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ${p(f.limit ?? 500)}`;
      return (await q(sql, args)).map(toTask);
    },
    getTask,
    async completeTask(id, outcome, at) {
      const n = await changed(`UPDATE auto_tasks SET status = 'done', completed_at = $1, outcome = $2 WHERE id = $3 AND status = 'open'`, [at, outcome, id]);
      const task = await getTask(id);
      return task ? { task, changed: n > 0 } : null;
    },
    async assignTask(id, assignee) {
      await q(`UPDATE auto_tasks SET assignee = $1, queue = NULL WHERE id = $2 AND status = 'open'`, [assignee, id]);
      return getTask(id);
    },
    async setPlaybookEnabled(playbookId, enabled, at) {
      await q(
        `INSERT INTO auto_playbook_state (playbook_id, enabled, at) VALUES ($1, $2, $3)
         ON CONFLICT (playbook_id) DO UPDATE SET enabled = excluded.enabled, at = excluded.at`,
        [playbookId, bit(enabled), at],
      );
    },
    async playbookStates() {
      const out: Record<string, boolean> = {};
      for (const r of await q('SELECT playbook_id, enabled FROM auto_playbook_state')) out[String(r.playbook_id)] = bool(r.enabled);
      return out;
    },
    async addInbox(i) {
      await q(
        `INSERT INTO auto_inbox (id, user_id, customer_id, playbook_id, title, body, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
         ON CONFLICT (id) DO NOTHING`,
        [i.id, i.userId, i.customerId, i.playbookId, i.title, i.body, i.createdAt],
      );
    },
    async listInbox(userId, unreadOnly) {
      const sql = `SELECT * FROM auto_inbox WHERE user_id = $1 ${unreadOnly ? 'AND read_at IS NULL' : ''} ORDER BY created_at DESC, id LIMIT 200`;
      return (await q(sql, [userId])).map(toInbox);
    },
    async markInboxRead(userId, ids, at) {
      if (ids.length === 0) return 0;
      return changed('UPDATE auto_inbox SET read_at = $1 WHERE user_id = $2 AND id = ANY($3::text[]) AND read_at IS NULL', [at, userId, [...ids]]);
    },
    async listDeadLetters(limit) {
      return (await q('SELECT * FROM auto_dead_letters ORDER BY at DESC LIMIT $1', [limit])).map(
        (r): DeadLetter => ({
          actionId: String(r.action_id),
          channel: r.channel as Channel,
          error: String(r.error),
          attempts: num(r.attempts),
          at: num(r.at),
          payload: JSON.parse(String(r.payload)) as unknown,
        }),
      );
    },
    async outcomes(playbookId) {
      const rows = await q(
        `SELECT variant, type, holdout, COUNT(*) AS n, SUM(reached) AS reached,
           SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END) AS conversions,
           SUM(revenue) AS rs, SUM(revenue * revenue) AS rss, SUM(unsubscribed) AS unsubs
         FROM auto_enrolments WHERE playbook_id = $1 GROUP BY variant, type, holdout
         ORDER BY holdout, variant NULLS FIRST, type NULLS FIRST`,
        [playbookId],
      );
      return rows.map(
        (r): OutcomeRow => ({
          variant: optStr(r.variant),
          type: optStr(r.type),
          holdout: bool(r.holdout),
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
      const rows = await q(
        `SELECT variant, COUNT(*) AS n, SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END) AS c
         FROM auto_enrolments WHERE playbook_id = $1 AND holdout = 0 AND variant IS NOT NULL AND type IS NOT DISTINCT FROM $2
         GROUP BY variant ORDER BY variant`,
        [playbookId, type],
      );
      return rows.map((r) => ({ name: String(r.variant), n: num(r.n), conversions: num(r.c) }));
    },
    async claimScheduleRun(playbookId, period, at) {
      return (await changed('INSERT INTO auto_schedule_runs (playbook_id, period, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [playbookId, period, at])) > 0;
    },
    async close() {
      if (opts.closePool) await pool.end();
    },
  };
  return store;
}
