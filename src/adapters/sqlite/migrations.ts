import { ENGINE_MIGRATIONS } from './engine-migrations';
import { AUTOMATION_MIGRATIONS } from './automation-migrations';
import { USER_MIGRATIONS } from './user-migrations';

/** One schema migration: applied once, in version order. Never edit a released one; add a new one. */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** All migrations of the embedded store, in order. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  // 1-9: ingestion (event log, dedupe, sources, admin tokens).
  {
    version: 1,
    name: 'event log',
    // Only the columns queries need; everything else is one JSON text column (cheap to write).
    sql: `
      CREATE TABLE events (
        seq          INTEGER PRIMARY KEY,
        message_id   TEXT    NOT NULL,
        type         TEXT    NOT NULL,
        user_id      TEXT,
        anonymous_id TEXT,
        event        TEXT,
        timestamp    INTEGER NOT NULL,
        received_at  INTEGER NOT NULL,
        source_id    TEXT    NOT NULL,
        data         TEXT    NOT NULL
      );
      CREATE TABLE event_dedupe (
        message_id TEXT PRIMARY KEY,
        seen_at    INTEGER NOT NULL
      ) WITHOUT ROWID;
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
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE TABLE admin_tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
    `,
  },
  // 10-19: engine state (customers, identities, classifications, history).
  ...ENGINE_MIGRATIONS,
  // 20-29: automation (enrolments, scheduled actions, contacts, suppressions, tasks, inbox).
  ...AUTOMATION_MIGRATIONS,
  // 30-39: dashboard users and sessions.
  ...USER_MIGRATIONS,
];
