import type { SqliteMigration } from './migrations';

/** Schema of the automation engine (versions 20-29): see src/ports/automation-store.ts. */
export const AUTOMATION_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 20,
    name: 'automation',
    sql: `
      CREATE TABLE auto_enrolments (
        id TEXT PRIMARY KEY,
        playbook_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        trigger_key TEXT NOT NULL,
        entered_at INTEGER NOT NULL,
        holdout INTEGER NOT NULL,
        variant TEXT,
        policy_lens TEXT NOT NULL,
        type TEXT,
        status TEXT NOT NULL,
        reached INTEGER NOT NULL DEFAULT 0,
        converted_at INTEGER,
        revenue REAL NOT NULL DEFAULT 0,
        unsubscribed INTEGER NOT NULL DEFAULT 0,
        goal_event TEXT NOT NULL,
        goal_within INTEGER NOT NULL
      );
      -- One index serves re-entry checks (customer, playbook) and goal attribution (customer).
      CREATE INDEX auto_enrolments_cp ON auto_enrolments(customer_id, playbook_id, entered_at);
      CREATE TABLE auto_actions (
        id TEXT PRIMARY KEY,
        enrolment_id TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        due INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_until INTEGER,
        reason TEXT,
        wait_event TEXT,
        matched INTEGER NOT NULL DEFAULT 0,
        deferred_since INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX auto_actions_pending ON auto_actions(due, id) WHERE status = 'pending';
      CREATE INDEX auto_actions_sending ON auto_actions(lease_until) WHERE status = 'sending';
      CREATE INDEX auto_actions_enrolment ON auto_actions(enrolment_id);
      CREATE INDEX auto_actions_wait ON auto_actions(customer_id, wait_event) WHERE wait_event IS NOT NULL AND status = 'pending';
      CREATE TABLE auto_contacts (
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        at INTEGER NOT NULL,
        promotional INTEGER NOT NULL,
        action_id TEXT NOT NULL UNIQUE
      );
      CREATE INDEX auto_contacts_c ON auto_contacts(customer_id, at);
      CREATE TABLE auto_suppressions (
        customer_id TEXT NOT NULL,
        address TEXT,
        channel TEXT NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (customer_id, channel, reason)
      );
      CREATE INDEX auto_suppressions_addr ON auto_suppressions(address, channel) WHERE address IS NOT NULL;
      CREATE TABLE auto_consents (
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        granted INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (customer_id, channel)
      );
      CREATE TABLE auto_tasks (
        id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        assignee TEXT NOT NULL,
        queue TEXT,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        due_at INTEGER,
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        completed_at INTEGER,
        outcome TEXT
      );
      CREATE INDEX auto_tasks_status ON auto_tasks(status, created_at);
      CREATE TABLE auto_inbox (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER
      );
      CREATE INDEX auto_inbox_user ON auto_inbox(user_id, created_at);
      CREATE TABLE auto_dead_letters (
        action_id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        at INTEGER NOT NULL,
        payload TEXT NOT NULL
      );
      CREATE TABLE auto_schedule_runs (
        playbook_id TEXT NOT NULL,
        period TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (playbook_id, period)
      );
    `,
  },
  {
    version: 21,
    name: 'automation playbook switches',
    // Separate from 20 because 20 was already committed without it.
    sql: `
      CREATE TABLE auto_playbook_state (
        playbook_id TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL,
        at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 22,
    name: 'automation hand-over marks',
    // Set at the commit point of an email send (inside the SMTP DATA phase), under the dispatcher's lease:
    // a recovered action carrying it was delivered, so it is completed instead of sent again.
    sql: `
      ALTER TABLE auto_actions ADD COLUMN handed_over_at INTEGER;
    `,
  },
];
