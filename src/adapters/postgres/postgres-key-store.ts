import { randomBytes, randomUUID } from 'node:crypto';
import type { AdminToken, KeyStore, Source } from '../../ports/key-store';
import { hashSecret } from '../shared/secrets';
import type { PostgresPool } from './open-pool';

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

function toItem(r: KeyRow): Source & AdminToken {
  return { id: r.id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at };
}

/** Sources (write keys) and admin tokens in PostgreSQL; only SHA-256 hashes of the secrets are stored. */
export class PostgresKeyStore implements KeyStore {
  constructor(private readonly pool: PostgresPool) {}

  async createSource(name: string, now: number): Promise<{ source: Source; writeKey: string }> {
    const writeKey = newSecret('rk');
    const id = `src_${randomUUID()}`;
    await this.pool.query('INSERT INTO sources (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)', [id, name, hashSecret(writeKey), now]);
    return { source: { id, name, createdAt: now, revokedAt: null }, writeKey };
  }

  async listSources(): Promise<Source[]> {
    const r = await this.pool.query<KeyRow>('SELECT id, name, created_at, revoked_at FROM sources ORDER BY created_at, ord');
    return r.rows.map(toItem);
  }

  async revokeSource(idOrName: string, now: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE sources SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL', [now, idOrName]);
    return (r.rowCount ?? 0) > 0;
  }

  async verifyWriteKey(writeKey: string): Promise<Source | null> {
    if (!writeKey) return null;
    const r = await this.pool.query<KeyRow>(
      'SELECT id, name, created_at, revoked_at FROM sources WHERE key_hash = $1 AND revoked_at IS NULL',
      [hashSecret(writeKey)],
    );
    return r.rows[0] ? toItem(r.rows[0]) : null;
  }

  async createToken(name: string, now: number): Promise<{ token: AdminToken; secret: string }> {
    const secret = newSecret('rat');
    const id = `tok_${randomUUID()}`;
    await this.pool.query('INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)', [id, name, hashSecret(secret), now]);
    return { token: { id, name, createdAt: now, revokedAt: null }, secret };
  }

  async listTokens(): Promise<AdminToken[]> {
    const r = await this.pool.query<KeyRow>('SELECT id, name, created_at, revoked_at FROM admin_tokens ORDER BY created_at, ord');
    return r.rows.map(toItem);
  }

  async revokeToken(idOrName: string, now: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE admin_tokens SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL', [now, idOrName]);
    return (r.rowCount ?? 0) > 0;
  }

  async verifyToken(secret: string): Promise<AdminToken | null> {
    if (!secret) return null;
    const r = await this.pool.query<KeyRow>(
      'SELECT id, name, created_at, revoked_at FROM admin_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hashSecret(secret)],
    );
    return r.rows[0] ? toItem(r.rows[0]) : null;
  }
}
