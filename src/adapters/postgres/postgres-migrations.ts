/** One PostgreSQL schema migration: applied once, in version order. Never edit a released one; add a new one. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * All migrations of the PostgreSQL store, in order. Version ranges match the SQLite store's
 * (1-9 ingestion, 10-19 engine, 20-29 automation, 30-39 users) so both read the same way.
 *
 * Conventions: times are epoch ms in BIGINT; JSON documents the engine writes whole and reads whole
 * are TEXT (written and read verbatim, no re-encoding cost); key columns compared by range or keyset
 * cursor are `COLLATE "C"` so ordering is byte order, as in SQLite, and plain B-tree indexes serve
 * prefix ranges.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'event log',
    sql: `
      CREATE TABLE events (
        seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id   TEXT   NOT NULL,
        type         TEXT   NOT NULL,
        user_id      TEXT,
        anonymous_id TEXT,
        event        TEXT,
        timestamp    BIGINT NOT NULL,
        received_at  BIGINT NOT NULL,
        source_id    TEXT   NOT NULL,
        data         TEXT   NOT NULL
      );
      CREATE TABLE event_dedupe (
        message_id TEXT PRIMARY KEY,
        seen_at    BIGINT NOT NULL
      );
      CREATE INDEX event_dedupe_seen_at ON event_dedupe (seen_at);
    `,
  },
  {
    version: 2,
    name: 'sources and admin tokens',
    sql: `
      CREATE TABLE sources (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        key_hash   TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT,
        ord        BIGINT GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE admin_tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT,
        ord        BIGINT GENERATED ALWAYS AS IDENTITY
      );
    `,
  },
  {
    version: 10,
    name: 'engine state',
    sql: `
      CREATE TABLE customers (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_id TEXT,
        email TEXT COLLATE "C",
        name TEXT COLLATE "C",
        anonymous_ids TEXT NOT NULL DEFAULT '[]',
        traits TEXT NOT NULL DEFAULT '{}',
        trait_times TEXT NOT NULL DEFAULT '{}',
        groups_json TEXT NOT NULL DEFAULT '[]',
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        event_count BIGINT NOT NULL,
        state BYTEA,
        indicators TEXT NOT NULL DEFAULT '{}',
        classifications TEXT NOT NULL DEFAULT '{}',
        purchase_days TEXT
      );
      -- (key, id): prefix search pages with a (key, id) keyset cursor straight off these.
      CREATE INDEX customers_email ON customers (email, id) WHERE email IS NOT NULL;
      CREATE INDEX customers_name ON customers ((lower(name)), id) WHERE name IS NOT NULL;
      CREATE INDEX customers_user ON customers (user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX customers_buyers ON customers (id) WHERE purchase_days IS NOT NULL;
      CREATE TABLE identities (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        customer_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (kind, value)
      );
      CREATE INDEX identities_customer ON identities (customer_id);
      CREATE INDEX identities_value ON identities (value);
      CREATE TABLE customer_merges (
        from_id TEXT COLLATE "C" PRIMARY KEY,
        into_id TEXT COLLATE "C" NOT NULL,
        at BIGINT NOT NULL,
        seq BIGINT NOT NULL
      );
      CREATE INDEX customer_merges_into ON customer_merges (into_id);
      CREATE TABLE customer_events (
        customer_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (customer_id, seq)
      );
      CREATE INDEX customer_events_seq ON customer_events (seq);
      CREATE TABLE customer_types (
        customer_id TEXT COLLATE "C" NOT NULL,
        lens TEXT NOT NULL,
        type TEXT NOT NULL,
        probability DOUBLE PRECISION NOT NULL,
        since BIGINT NOT NULL,
        PRIMARY KEY (customer_id, lens)
      );
      CREATE INDEX customer_types_lens_type ON customer_types (lens, type, customer_id);
      CREATE TABLE customer_traits (
        customer_id TEXT COLLATE "C" NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (customer_id, key)
      );
      CREATE INDEX customer_traits_kv ON customer_traits (key, value, customer_id);
      CREATE TABLE type_history (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id TEXT COLLATE "C" NOT NULL,
        lens TEXT NOT NULL,
        from_type TEXT,
        to_type TEXT NOT NULL,
        at BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        message_id TEXT NOT NULL,
        event TEXT
      );
      CREATE INDEX type_history_customer ON type_history (customer_id, lens, at);
      -- Covering: transitions over a period are an index-only scan.
      CREATE INDEX type_history_lens_at ON type_history (lens, at) INCLUDE (from_type, to_type);
      CREATE INDEX type_history_seq ON type_history (seq);
      CREATE TABLE trait_history (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id TEXT COLLATE "C" NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        at BIGINT NOT NULL,
        seq BIGINT NOT NULL
      );
      CREATE INDEX trait_history_customer ON trait_history (customer_id, at);
      CREATE TABLE engine_checkpoint (
        name TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
      );
      CREATE TABLE engine_value_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL
      );
      -- Counters kept by each commit, so the portfolio numbers (customers per type, total) are one
      -- index lookup at 10M customers instead of a scan.
      CREATE TABLE customer_type_counts (
        lens TEXT NOT NULL,
        type TEXT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (lens, type)
      );
      CREATE TABLE engine_counts (
        name TEXT PRIMARY KEY,
        n BIGINT NOT NULL
      );
    `,
  },
  {
    version: 20,
    name: 'automation',
    // Booleans are 0/1 SMALLINTs, as in SQLite, so the row mapping and the SUM()s read the same.
    sql: `
      CREATE TABLE auto_enrolments (
        id TEXT COLLATE "C" PRIMARY KEY,
        playbook_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        trigger_key TEXT NOT NULL,
        entered_at BIGINT NOT NULL,
        holdout SMALLINT NOT NULL,
        variant TEXT,
        policy_lens TEXT NOT NULL,
        type TEXT,
        status TEXT NOT NULL,
        reached SMALLINT NOT NULL DEFAULT 0,
        converted_at BIGINT,
        revenue DOUBLE PRECISION NOT NULL DEFAULT 0,
        unsubscribed SMALLINT NOT NULL DEFAULT 0,
        goal_event TEXT NOT NULL,
        goal_within BIGINT NOT NULL
      );
      CREATE INDEX auto_enrolments_cp ON auto_enrolments (customer_id, playbook_id, entered_at);
      CREATE INDEX auto_enrolments_playbook ON auto_enrolments (playbook_id);
      CREATE TABLE auto_actions (
        id TEXT COLLATE "C" PRIMARY KEY,
        enrolment_id TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        due BIGINT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_until BIGINT,
        reason TEXT,
        wait_event TEXT,
        matched SMALLINT NOT NULL DEFAULT 0,
        deferred_since BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX auto_actions_pending ON auto_actions (due, id) WHERE status = 'pending';
      CREATE INDEX auto_actions_sending ON auto_actions (lease_until) WHERE status = 'sending';
      CREATE INDEX auto_actions_enrolment ON auto_actions (enrolment_id);
      CREATE INDEX auto_actions_wait ON auto_actions (customer_id, wait_event) WHERE wait_event IS NOT NULL AND status = 'pending';
      CREATE INDEX auto_actions_created ON auto_actions (created_at DESC, id);
      CREATE TABLE auto_contacts (
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        at BIGINT NOT NULL,
        promotional SMALLINT NOT NULL,
        action_id TEXT NOT NULL UNIQUE
      );
      CREATE INDEX auto_contacts_c ON auto_contacts (customer_id, at);
      CREATE TABLE auto_suppressions (
        customer_id TEXT NOT NULL,
        address TEXT,
        channel TEXT NOT NULL,
        reason TEXT NOT NULL,
        at BIGINT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (customer_id, channel, reason)
      );
      CREATE INDEX auto_suppressions_addr ON auto_suppressions (address, channel) WHERE address IS NOT NULL;
      CREATE TABLE auto_consents (
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        granted SMALLINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (customer_id, channel)
      );
      CREATE TABLE auto_tasks (
        id TEXT COLLATE "C" PRIMARY KEY,
        action_id TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        assignee TEXT NOT NULL,
        queue TEXT,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        due_at BIGINT,
        created_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        completed_at BIGINT,
        outcome TEXT
      );
      CREATE INDEX auto_tasks_status ON auto_tasks (status, created_at);
      CREATE TABLE auto_inbox (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        read_at BIGINT
      );
      CREATE INDEX auto_inbox_user ON auto_inbox (user_id, created_at);
      CREATE TABLE auto_dead_letters (
        action_id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        at BIGINT NOT NULL,
        payload TEXT NOT NULL
      );
      CREATE INDEX auto_dead_letters_at ON auto_dead_letters (at);
      CREATE TABLE auto_schedule_runs (
        playbook_id TEXT NOT NULL,
        period TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (playbook_id, period)
      );
      CREATE TABLE auto_playbook_state (
        playbook_id TEXT PRIMARY KEY,
        enabled SMALLINT NOT NULL,
        at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 30,
    name: 'dashboard users and sessions',
    // Emails are unique case-insensitively (SQLite: COLLATE NOCASE); the expression index enforces it.
    sql: `
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        email         TEXT NOT NULL,
        role          TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    BIGINT NOT NULL
      );
      CREATE UNIQUE INDEX users_email ON users ((lower(email)));
      CREATE TABLE user_sessions (
        id_hash    TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX user_sessions_user ON user_sessions (user_id);
      CREATE INDEX user_sessions_expiry ON user_sessions (expires_at);
    `,
  },
  {
    version: 31,
    name: 'dashboard settings',
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      JSONB NOT NULL,
        updated_at BIGINT NOT NULL
      );
    `,
  },
];
