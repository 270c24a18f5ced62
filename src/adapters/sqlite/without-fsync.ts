import type { SqliteDatabase } from './open-database';

/**
 * Runs `fn` (its writes) with the connection at `synchronous=NORMAL` when it is set higher, and restores
 * the connection's level afterwards. In WAL mode a commit at NORMAL is in the WAL, which the OS has, when
 * it returns: it survives the process dying, not a power cut, and does not block the thread on the disk.
 * For writes whose loss in a power cut only means redoing work (derived state, positions, hand-over marks).
 * The level is read on every call: other components sharing the connection may change it. (Pragmas are
 * applied when a statement is compiled, so they cannot be prepared once.)
 */
export function withoutFsync<T>(db: SqliteDatabase, fn: () => T): T {
  const level = Number(db.pragma('synchronous', { simple: true }));
  if (level <= 1) return fn();
  db.pragma('synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.pragma(`synchronous = ${level}`);
  }
}
