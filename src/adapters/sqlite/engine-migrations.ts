import type { SqliteMigration } from './migrations';

/** Recomputes `customer_contrib` and `type_totals` from `customers` and `customer_types` (migration backfill; bulk loaders). */
export const TYPE_TOTALS_BACKFILL_SQL = `
  DELETE FROM customer_contrib;
  INSERT INTO customer_contrib (customer_id, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
    SELECT id, TOTAL(json_extract(indicators, '$.revenue_total')), TOTAL(json_extract(indicators, '$.monetary_365d')),
      TOTAL(MAX(json_extract(indicators, '$.clv_12m'), 0)), TOTAL(json_extract(indicators, '$.support_contacts_total')),
      TOTAL(json_extract(indicators, '$.emails_delivered'))
    FROM customers GROUP BY id;
  DELETE FROM type_totals;
  INSERT INTO type_totals (lens, type, customers, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
    SELECT t.lens, t.type, COUNT(*),
      TOTAL(c.revenue), TOTAL(c.revenue_365d), TOTAL(c.clv_12m), TOTAL(c.support_contacts), TOTAL(c.emails_delivered)
    FROM customer_types t JOIN customer_contrib c ON c.customer_id = t.customer_id
    GROUP BY t.lens, t.type;`;

/** Recomputes `transition_daily` from `type_history` ('' stands for "no previous type"). */
export const TRANSITION_DAILY_BACKFILL_SQL = `
  DELETE FROM transition_daily;
  INSERT INTO transition_daily (lens, day, from_type, to_type, n)
    SELECT lens, at / 86400000, COALESCE(from_type, ''), to_type, COUNT(*) FROM type_history
    GROUP BY lens, at / 86400000, COALESCE(from_type, ''), to_type;`;

/** Schema of the engine's derived state: customers, identities, classifications and their history. */
export const ENGINE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 10,
    name: 'engine state',
    sql: `
      CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        user_id TEXT,
        email TEXT,
        name TEXT,
        anonymous_ids TEXT NOT NULL DEFAULT '[]',
        traits TEXT NOT NULL DEFAULT '{}',
        trait_times TEXT NOT NULL DEFAULT '{}',
        groups_json TEXT NOT NULL DEFAULT '[]',
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        event_count INTEGER NOT NULL,
        state BLOB,
        indicators TEXT NOT NULL DEFAULT '{}',
        classifications TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX customers_email ON customers(email) WHERE email IS NOT NULL;
      CREATE INDEX customers_name ON customers(name COLLATE NOCASE) WHERE name IS NOT NULL;
      CREATE INDEX customers_user ON customers(user_id) WHERE user_id IS NOT NULL;
      CREATE TABLE identities (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        PRIMARY KEY (kind, value)
      ) WITHOUT ROWID;
      CREATE INDEX identities_customer ON identities(customer_id);
      CREATE TABLE customer_merges (
        from_id TEXT PRIMARY KEY,
        into_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        seq INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE customer_events (
        customer_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (customer_id, seq)
      ) WITHOUT ROWID;
      CREATE TABLE customer_types (
        customer_id TEXT NOT NULL,
        lens TEXT NOT NULL,
        type TEXT NOT NULL,
        probability REAL NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (customer_id, lens)
      ) WITHOUT ROWID;
      CREATE INDEX customer_types_lens_type ON customer_types(lens, type, customer_id);
      CREATE TABLE customer_traits (
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (customer_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX customer_traits_kv ON customer_traits(key, value, customer_id);
      CREATE TABLE type_history (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL,
        lens TEXT NOT NULL,
        from_type TEXT,
        to_type TEXT NOT NULL,
        at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        event TEXT
      );
      CREATE INDEX type_history_customer ON type_history(customer_id, lens, at);
      CREATE INDEX type_history_lens_at ON type_history(lens, at);
      CREATE TABLE trait_history (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        at INTEGER NOT NULL,
        seq INTEGER NOT NULL
      );
      CREATE INDEX trait_history_customer ON trait_history(customer_id, at);
      CREATE TABLE engine_checkpoint (
        name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 11,
    name: 'value models',
    sql: `
      ALTER TABLE customers ADD COLUMN purchase_days TEXT;
      CREATE INDEX customers_buyers ON customers(id) WHERE purchase_days IS NOT NULL;
      CREATE TABLE engine_value_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL
      );
    `,
  },
  {
    version: 12,
    name: 'events by log position',
    // Downstream consumers (automation) read each committed batch's events with their customers.
    sql: `CREATE INDEX customer_events_seq ON customer_events(seq);
          CREATE INDEX type_history_seq ON type_history(seq);`,
  },
  {
    version: 13,
    name: 'search indexes in page order',
    sql: `
      DROP INDEX customers_email;
      DROP INDEX customers_name;
      CREATE INDEX customers_email ON customers(email, id) WHERE email IS NOT NULL;
      CREATE INDEX customers_name ON customers(name COLLATE NOCASE, id) WHERE name IS NOT NULL;
    `,
  },
  {
    version: 14,
    name: 'per-day type counts',
    // distribution(asOf) sums these deltas instead of scanning every customer's history.
    sql: `
      CREATE TABLE type_daily (
        lens TEXT NOT NULL,
        day INTEGER NOT NULL,
        type TEXT NOT NULL,
        delta INTEGER NOT NULL,
        PRIMARY KEY (lens, day, type)
      ) WITHOUT ROWID;
      INSERT INTO type_daily (lens, day, type, delta)
        SELECT lens, day, type, SUM(d) FROM (
          SELECT lens, at / 86400000 AS day, to_type AS type, 1 AS d FROM type_history
          UNION ALL
          SELECT lens, at / 86400000, from_type, -1 FROM type_history WHERE from_type IS NOT NULL)
        GROUP BY lens, day, type;
    `,
  },
  {
    version: 15,
    name: 'per-type totals',
    // Economics reads these maintained sums instead of aggregating every customer's indicators.
    sql: `
      CREATE TABLE type_totals (
        lens TEXT NOT NULL,
        type TEXT NOT NULL,
        customers INTEGER NOT NULL,
        revenue REAL NOT NULL,
        revenue_365d REAL NOT NULL,
        clv_12m REAL NOT NULL,
        support_contacts REAL NOT NULL,
        emails_delivered REAL NOT NULL,
        PRIMARY KEY (lens, type)
      ) WITHOUT ROWID;
      -- Each customer's current contribution, so a commit reads the previous one without parsing JSON.
      CREATE TABLE customer_contrib (
        customer_id TEXT PRIMARY KEY,
        revenue REAL NOT NULL,
        revenue_365d REAL NOT NULL,
        clv_12m REAL NOT NULL,
        support_contacts REAL NOT NULL,
        emails_delivered REAL NOT NULL
      ) WITHOUT ROWID;
      ${TYPE_TOTALS_BACKFILL_SQL}
    `,
  },
  {
    version: 16,
    name: 'per-day transition counts',
    // transitions(from, to) sums whole days from here; only the two partial edge days read type_history.
    sql: `
      CREATE TABLE transition_daily (
        lens TEXT NOT NULL,
        day INTEGER NOT NULL,
        from_type TEXT NOT NULL,
        to_type TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (lens, day, from_type, to_type)
      ) WITHOUT ROWID;
      ${TRANSITION_DAILY_BACKFILL_SQL}
    `,
  },
];
