import { randomBytes, randomUUID } from 'node:crypto';
import type { AdminToken, KeyStore, Source } from '../../ports/key-store';
import { hashSecret } from '../shared/secrets';
import type { SqliteDatabase } from './open-database';

interface KeyRow {
  id: string;
  name: string;
  created_at: number;
  revoked_at: number | null;
}

/** A fresh secret: a prefix saying what it is, then 32 random bytes (base64url). */
function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Sources (write keys) and admin tokens in SQLite. Only SHA-256 hashes of the secrets are stored;
 * verification looks the hash up through its unique index.
 */
export class SqliteKeyStore implements KeyStore {
  private readonly st;

  constructor(db: SqliteDatabase) {
    this.st = {
      insertSource: db.prepare('INSERT INTO sources (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)'),
      listSources: db.prepare('SELECT id, name, created_at, revoked_at FROM sources ORDER BY created_at, rowid'),
      revokeSource: db.prepare(
        'UPDATE sources SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL',
      ),
      verifySource: db.prepare('SELECT id, name, created_at, revoked_at FROM sources WHERE key_hash = ? AND revoked_at IS NULL'),
      insertToken: db.prepare('INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)'),
      listTokens: db.prepare('SELECT id, name, created_at, revoked_at FROM admin_tokens ORDER BY created_at, rowid'),
      revokeToken: db.prepare(
        'UPDATE admin_tokens SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL',
      ),
      verifyToken: db.prepare(
        'SELECT id, name, created_at, revoked_at FROM admin_tokens WHERE token_hash = ? AND revoked_at IS NULL',
      ),
    };
  }

  async createSource(name: string, now: number): Promise<{ source: Source; writeKey: string }> {
    const writeKey = newSecret('rk');
    const id = `src_${randomUUID()}`;
    this.st.insertSource.run(id, name, hashSecret(writeKey), now);
    return { source: { id, name, createdAt: now, revokedAt: null }, writeKey };
  }

  async listSources(): Promise<Source[]> {
    return (this.st.listSources.all() as KeyRow[]).map(toItem);
  }

  async revokeSource(idOrName: string, now: number): Promise<boolean> {
    return this.st.revokeSource.run(now, idOrName, idOrName).changes > 0;
  }

  async verifyWriteKey(writeKey: string): Promise<Source | null> {
    if (!writeKey) return null;
    const row = this.st.verifySource.get(hashSecret(writeKey)) as KeyRow | undefined;
    return row ? toItem(row) : null;
  }

  async createToken(name: string, now: number): Promise<{ token: AdminToken; secret: string }> {
    const secret = newSecret('rat');
    const id = `tok_${randomUUID()}`;
    this.st.insertToken.run(id, name, hashSecret(secret), now);
    return { token: { id, name, createdAt: now, revokedAt: null }, secret };
  }

  async listTokens(): Promise<AdminToken[]> {
    return (this.st.listTokens.all() as KeyRow[]).map(toItem);
  }

  async revokeToken(idOrName: string, now: number): Promise<boolean> {
    return this.st.revokeToken.run(now, idOrName, idOrName).changes > 0;
  }

  async verifyToken(secret: string): Promise<AdminToken | null> {
    if (!secret) return null;
    const row = this.st.verifyToken.get(hashSecret(secret)) as KeyRow | undefined;
    return row ? toItem(row) : null;
  }
}

function toItem(r: KeyRow): Source & AdminToken {
  return { id: r.id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at };
}
