import type { CustomerSummary } from '../../ports/engine-store';

// Customer list rows and keyset cursors of both backends.

/** The `customers` columns a list row needs. */
export interface SummaryRow {
  id: string;
  user_id: string | null;
  email: string | null;
  name: string | null;
  last_seen: number;
  event_count: number;
  classifications: string;
}

/** Columns of {@link SummaryRow}, from `customers c`. */
export const SUMMARY_COLUMNS = 'c.id, c.user_id, c.email, c.name, c.last_seen, c.event_count, c.classifications';

/** A list row as the API shows it: the type per lens instead of the stored classifications. */
export function toSummary(r: SummaryRow): CustomerSummary {
  const cls = JSON.parse(r.classifications) as Record<string, { type: string }>;
  const types: Record<string, string> = {};
  for (const [lens, c] of Object.entries(cls)) types[lens] = c.type;
  return { id: r.id, userId: r.user_id, email: r.email, name: r.name, lastSeen: r.last_seen, eventCount: r.event_count, types };
}

/** Opaque keyset cursor: the sort key of the last row, base64url JSON. */
export function encodeCursor(parts: unknown[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Reads a cursor made by {@link encodeCursor}; anything else is treated as no cursor. */
export function decodeCursor(cursor: string | null | undefined): unknown[] | null {
  if (!cursor) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
