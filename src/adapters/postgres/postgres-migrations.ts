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
  {
    version: 32,
    name: 'failed sign-ins',
    // Shared by every api process and kept across restarts; rows expire with the forget window.
    sql: `
      CREATE TABLE sign_in_failures (
        key      TEXT COLLATE "C" PRIMARY KEY,
        failures INTEGER NOT NULL,
        last     BIGINT NOT NULL
      );
      CREATE INDEX sign_in_failures_last ON sign_in_failures (last);
    `,
  },
  {
    version: 41,
    name: 'scale: partition of each event',
    // Set by the workers when they append events read from a partition's stream subject (NULL for
    // events appended by the embedded writer); each partition's processor reads (partition, seq).
    sql: `
      ALTER TABLE events ADD COLUMN partition INTEGER;
      CREATE INDEX events_partition_seq ON events (partition, seq) WHERE partition IS NOT NULL;
    `,
  },
  {
    version: 42,
    name: 'scale: stream positions',
    // Last JetStream sequence of each partition appended to the events table, written in the same
    // transaction as the events, so a worker that dies re-reads exactly what was not appended.
    sql: `
      CREATE TABLE stream_positions (
        partition  INTEGER PRIMARY KEY,
        stream_seq BIGINT NOT NULL
      );
    `,
  },
  {
    version: 43,
    name: 'scale: worker heartbeats and schedules',
    sql: `
      CREATE TABLE worker_heartbeats (
        worker_id  TEXT COLLATE "C" PRIMARY KEY,
        seen_at    BIGINT NOT NULL,
        backend_pid INTEGER NOT NULL,
        partitions INTEGER NOT NULL DEFAULT 0
      );
      -- Last wall-clock slot the scheduler published (clock ticks, value refits), so a new scheduler
      -- after a failover neither repeats nor skips one.
      CREATE TABLE worker_schedules (
        name TEXT PRIMARY KEY,
        slot BIGINT NOT NULL
      );
    `,
  },
  {
    version: 44,
    name: 'scale: customers and value state per partition',
    // A customer belongs to the partition whose processor commits it: a clock tick sweeps only its
    // partition's customers, and each partition's processor keeps its own value-model state and counters.
    sql: `
      ALTER TABLE customers ADD COLUMN partition INTEGER;
      CREATE INDEX customers_partition ON customers (partition, id) WHERE partition IS NOT NULL;
      CREATE TABLE partition_value_state (
        partition INTEGER PRIMARY KEY,
        state     TEXT NOT NULL
      );
      -- Per-type and per-day counters get one row per partition processor (part; -1 for the one
      -- processor and for merges), so commits of different partitions do not queue on the same rows;
      -- readers sum them.
      ALTER TABLE customer_type_counts ADD COLUMN part INTEGER NOT NULL DEFAULT -1;
      ALTER TABLE customer_type_counts DROP CONSTRAINT customer_type_counts_pkey;
      ALTER TABLE customer_type_counts ADD PRIMARY KEY (lens, type, part);
      ALTER TABLE type_totals ADD COLUMN part INTEGER NOT NULL DEFAULT -1;
      ALTER TABLE type_totals DROP CONSTRAINT type_totals_pkey;
      ALTER TABLE type_totals ADD PRIMARY KEY (lens, type, part);
      ALTER TABLE type_daily ADD COLUMN part INTEGER NOT NULL DEFAULT -1;
      ALTER TABLE type_daily DROP CONSTRAINT type_daily_pkey;
      ALTER TABLE type_daily ADD PRIMARY KEY (lens, day, type, part);
      ALTER TABLE transition_daily ADD COLUMN part INTEGER NOT NULL DEFAULT -1;
      ALTER TABLE transition_daily DROP CONSTRAINT transition_daily_pkey;
      ALTER TABLE transition_daily ADD PRIMARY KEY (lens, day, from_type, to_type, part);
    `,
  },
  {
    version: 11,
    name: 'per-day type counts',
    // distribution(asOf) sums these deltas instead of reading every customer's history (as SQLite's migration 14).
    sql: `
      CREATE TABLE type_daily (
        lens TEXT NOT NULL,
        day INTEGER NOT NULL,
        type TEXT NOT NULL,
        delta BIGINT NOT NULL,
        PRIMARY KEY (lens, day, type)
      );
      INSERT INTO type_daily (lens, day, type, delta)
        SELECT lens, day, type, SUM(d) FROM (
          SELECT lens, (at / 86400000)::integer AS day, to_type AS type, 1 AS d FROM type_history
          UNION ALL
          SELECT lens, (at / 86400000)::integer, from_type, -1 FROM type_history WHERE from_type IS NOT NULL) z
        GROUP BY lens, day, type;
    `,
  },
  {
    version: 12,
    name: 'per-type totals',
    // Economics reads these sums, maintained by each commit, instead of aggregating every customer's
    // indicators (as SQLite's migration 15). customer_contrib holds each customer's current part.
    sql: `
      CREATE TABLE customer_contrib (
        customer_id TEXT COLLATE "C" PRIMARY KEY,
        revenue DOUBLE PRECISION NOT NULL,
        revenue_365d DOUBLE PRECISION NOT NULL,
        clv_12m DOUBLE PRECISION NOT NULL,
        support_contacts DOUBLE PRECISION NOT NULL,
        emails_delivered DOUBLE PRECISION NOT NULL
      );
      CREATE TABLE type_totals (
        lens TEXT NOT NULL,
        type TEXT NOT NULL,
        customers BIGINT NOT NULL,
        revenue DOUBLE PRECISION NOT NULL,
        revenue_365d DOUBLE PRECISION NOT NULL,
        clv_12m DOUBLE PRECISION NOT NULL,
        support_contacts DOUBLE PRECISION NOT NULL,
        emails_delivered DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (lens, type)
      );
      INSERT INTO customer_contrib (customer_id, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
        SELECT id,
          COALESCE(CASE WHEN jsonb_typeof(j -> 'revenue_total') = 'number' THEN (j ->> 'revenue_total')::float8 END, 0),
          COALESCE(CASE WHEN jsonb_typeof(j -> 'monetary_365d') = 'number' THEN (j ->> 'monetary_365d')::float8 END, 0),
          GREATEST(COALESCE(CASE WHEN jsonb_typeof(j -> 'clv_12m') = 'number' THEN (j ->> 'clv_12m')::float8 END, 0), 0),
          COALESCE(CASE WHEN jsonb_typeof(j -> 'support_contacts_total') = 'number' THEN (j ->> 'support_contacts_total')::float8 END, 0),
          COALESCE(CASE WHEN jsonb_typeof(j -> 'emails_delivered') = 'number' THEN (j ->> 'emails_delivered')::float8 END, 0)
        FROM (SELECT id, indicators::jsonb AS j FROM customers) c;
      INSERT INTO type_totals (lens, type, customers, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
        SELECT t.lens, t.type, COUNT(*), SUM(c.revenue), SUM(c.revenue_365d), SUM(c.clv_12m), SUM(c.support_contacts), SUM(c.emails_delivered)
        FROM customer_types t JOIN customer_contrib c ON c.customer_id = t.customer_id
        GROUP BY t.lens, t.type;
    `,
  },
  {
    version: 13,
    name: 'per-day transition counts',
    // transitions(from, to) sums whole days from here; only the partial edge days read type_history.
    // '' stands for "no previous type" (part of the key).
    sql: `
      CREATE TABLE transition_daily (
        lens TEXT NOT NULL,
        day INTEGER NOT NULL,
        from_type TEXT NOT NULL,
        to_type TEXT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (lens, day, from_type, to_type)
      );
      INSERT INTO transition_daily (lens, day, from_type, to_type, n)
        SELECT lens, (at / 86400000)::integer, COALESCE(from_type, ''), to_type, COUNT(*) FROM type_history
        GROUP BY 1, 2, 3, 4;
    `,
  },
  {
    version: 14,
    name: 'latest event time',
    // The value routes ask for the latest event time; a counter kept by the commit (GREATEST) answers
    // without an index on last_seen, which every commit would rewrite (and which would rule out HOT updates).
    sql: `
      INSERT INTO engine_counts (name, n) SELECT 'last_seen', MAX(last_seen) FROM customers HAVING MAX(last_seen) IS NOT NULL
      ON CONFLICT (name) DO NOTHING;
    `,
  },
  {
    version: 15,
    name: 'customer rows: lz4 compression',
    // Every commit rewrites the touched customers' rows, whose indicator snapshot and classifications (a few
    // KB each) are compressed out of line; lz4 costs about a quarter less server CPU per row than the
    // default pglz. Only new values use it. A server built without lz4 keeps pglz (EXECUTE: the statement
    // is checked at run time, so even a server without SET COMPRESSION takes the fallback).
    sql: `
      DO $$
      BEGIN
        EXECUTE 'ALTER TABLE customers ALTER COLUMN indicators SET COMPRESSION lz4,
          ALTER COLUMN classifications SET COMPRESSION lz4, ALTER COLUMN state SET COMPRESSION lz4,
          ALTER COLUMN traits SET COMPRESSION lz4, ALTER COLUMN trait_times SET COMPRESSION lz4,
          ALTER COLUMN purchase_days SET COMPRESSION lz4';
      EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'rapport: lz4 compression not available (%), customer rows keep the default', SQLERRM;
      END
      $$;
    `,
  },
  {
    version: 40,
    name: 'scale: identity routes',
    // Partition of each identity (`user:<id>` / `anon:<id>`), set once by the first ingest node that
    // sees it and never changed: every node routes a customer's events to the same stream partition.
    sql: `
      CREATE TABLE identity_routes (
        identity  TEXT COLLATE "C" PRIMARY KEY,
        partition INTEGER NOT NULL
      );
    `,
  },
  {
    version: 21,
    name: 'automation hand-over marks',
    // Set at the commit point of an email send (inside the SMTP DATA phase), under the dispatcher's lease:
    // a recovered action carrying it was delivered, so it is completed instead of sent again.
    sql: `
      ALTER TABLE auto_actions ADD COLUMN handed_over_at BIGINT;
    `,
  },
];
