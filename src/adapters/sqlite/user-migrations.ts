import type { SqliteMigration } from './migrations';

/** Schema of dashboard users and sessions (versions 30-39). */
export const USER_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 30,
    name: 'dashboard users and sessions',
    sql: `
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role          TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL
      );
      CREATE TABLE user_sessions (
        id_hash    TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX user_sessions_user ON user_sessions(user_id);
      CREATE INDEX user_sessions_expiry ON user_sessions(expires_at);
    `,
  },
  {
    version: 31,
    name: 'dashboard settings',
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 32,
    name: 'failed sign-ins',
    // Shared by every process on this file and kept across restarts; rows expire with the forget window.
    sql: `
      CREATE TABLE sign_in_failures (
        key      TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last     INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sign_in_failures_last ON sign_in_failures(last);
    `,
  },
];
