/** A source: a named producer of events, identified by its write key. */
export interface Source {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** An admin API token (the secret itself is never stored, only its hash). */
export interface AdminToken {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/**
 * Sources with their write keys, and admin tokens. Secrets are stored hashed (SHA-256 of a
 * 32-byte random key), so a stolen database does not reveal them.
 * Contract: `test/contract/key-store.contract.ts`.
 */
export interface KeyStore {
  /** Creates a source and returns it with its write key (shown once). */
  createSource(name: string, now: number): Promise<{ source: Source; writeKey: string }>;
  listSources(): Promise<Source[]>;
  /** Revokes a source by id or name; returns false when none matched. */
  revokeSource(idOrName: string, now: number): Promise<boolean>;
  /** The active source owning this write key, or null. */
  verifyWriteKey(writeKey: string): Promise<Source | null>;
  /** Creates an admin token and returns it with the secret (shown once). */
  createToken(name: string, now: number): Promise<{ token: AdminToken; secret: string }>;
  listTokens(): Promise<AdminToken[]>;
  revokeToken(idOrName: string, now: number): Promise<boolean>;
  /** The active token for this secret, or null. */
  verifyToken(secret: string): Promise<AdminToken | null>;
}
