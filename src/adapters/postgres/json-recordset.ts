/**
 * Many rows as one JSON parameter, expanded by `json_to_recordset`, for the bulk writes whose rows carry
 * large JSON texts (customer rows with their indicator snapshot and classifications, event payloads).
 *
 * Why not `unnest($1::text[], ...)`: node-postgres turns each array into a PostgreSQL array literal in
 * JavaScript, escaping every quote and backslash of every element (`escapeElement`). For rows of several
 * KB of JSON that costs ~350 µs of client CPU per row; here the row texts that are JSON already are spliced
 * into the payload as they are (a `json` column of the record set, read back as its exact text), the rest
 * goes through the native `JSON.stringify`: ~20 µs per row, and less for the server to parse too.
 */

/** How one column's values are carried. */
export type RecordsetKind =
  /** A string (or null). */
  | 'text'
  /** A string that is a JSON text already (from JSON.stringify), stored as that exact text (or null). */
  | 'json'
  /** An integer number (or null). */
  | 'bigint'
  | 'integer'
  /** A Buffer / Uint8Array (or null). */
  | 'bytea';

/** A column of the record set: its name in SQL and the kind of its values. */
export interface RecordsetColumn {
  readonly name: string;
  readonly kind: RecordsetKind;
}

/** Lone surrogate or NUL escapes: valid in a JS JSON text, refused by PostgreSQL's json parser. */
const PG_UNSAFE_ESCAPE = /\\u(?:d[89a-f]|0000)/i;

/** JSON string literal PostgreSQL accepts: lone surrogates become U+FFFD, as node-postgres' UTF-8 encoding of a text parameter does. */
function quote(s: string): string {
  // ES2024 string methods (Node 20 has them; the ES2023 lib in tsconfig does not declare them).
  const w = s as string & { isWellFormed(): boolean; toWellFormed(): string };
  return JSON.stringify(w.isWellFormed() ? s : w.toWellFormed());
}

/**
 * The FROM item and SELECT expressions for `columns`, with the payload in parameter `$param`:
 * `SELECT ${select.join(', ')} FROM ${from}`. Column `c` of kind `json` has a second field, `c_s`, that
 * carries texts the JSON parser would refuse or turn into NULL (`null`, lone surrogate escapes) as a string.
 */
export function recordsetSql(columns: readonly RecordsetColumn[], param = 1): { from: string; select: string[] } {
  const defs: string[] = [];
  const select: string[] = [];
  for (const c of columns) {
    // Quoted: field names such as `timestamp` or `partition` are keywords.
    const n = `"${c.name}"`;
    switch (c.kind) {
      case 'json':
        defs.push(`${n} json`, `"${c.name}_s" text`);
        select.push(`COALESCE(x.${n}::text, x."${c.name}_s")`);
        break;
      case 'bytea':
        defs.push(`${n} text`);
        select.push(`decode(x.${n}, 'base64')`);
        break;
      default:
        defs.push(`${n} ${c.kind}`);
        select.push(`x.${n}`);
    }
  }
  return { from: `json_to_recordset($${param}::json) AS x(${defs.join(', ')})`, select };
}

/** The JSON payload for {@link recordsetSql}: one object per row, values in column order. */
export function recordsetJson(columns: readonly RecordsetColumn[], rows: readonly (readonly unknown[])[]): string {
  const parts: string[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as readonly unknown[];
    let s = '{';
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as RecordsetColumn;
      const v = row[i];
      if (v === null || v === undefined) continue; // an absent field is NULL
      if (s.length > 1) s += ',';
      switch (c.kind) {
        case 'text':
          s += `"${c.name}":${quote(String(v))}`;
          break;
        case 'json': {
          const t = String(v);
          s += t === 'null' || PG_UNSAFE_ESCAPE.test(t) ? `"${c.name}_s":${quote(t)}` : `"${c.name}":${t}`;
          break;
        }
        case 'bytea': {
          const b = v as Uint8Array;
          s += `"${c.name}":"${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')}"`;
          break;
        }
        default:
          s += `"${c.name}":${Number.isFinite(v) ? String(v) : quote(String(v))}`;
      }
    }
    parts[r] = s + '}';
  }
  return `[${parts.join(',')}]`;
}
