import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordsetJson, recordsetSql, type RecordsetColumn } from '../../src/adapters/postgres/json-recordset';
import { PG_URL, reportPgSkip } from '../helpers/pg-test-schema';

reportPgSkip('json-recordset.postgres.test.ts');

const COLUMNS: readonly RecordsetColumn[] = [
  { name: 'id', kind: 'text' },
  { name: 'doc', kind: 'json' },
  { name: 'timestamp', kind: 'bigint' },
  { name: 'partition', kind: 'integer' },
  { name: 'blob', kind: 'bytea' },
];

/** Rows that stress the encoding: quotes, backslashes, non-ASCII, lone surrogates, NUL escapes, `null` texts, nulls. */
const ROWS: unknown[][] = [
  ['plain', JSON.stringify({ a: 1, b: 'x' }), 1_700_000_000_123, 3, Buffer.from([0, 1, 2, 255])],
  ['quote " and \\ backslash', JSON.stringify({ q: 'say "hi" \\ there', nested: { arr: [1, null, 'é'] } }), -5, 0, Buffer.alloc(0)],
  ['grüße ✓ 😀', JSON.stringify('just a string'), 0, null, null],
  ['lone \ud800 surrogate', JSON.stringify({ bad: 'x\ud800y', nul: 'a\u0000b' }), 2 ** 53 - 1, 7, new Uint8Array([9, 8, 7])],
  ['json null text', 'null', null, null, null],
  [null, null, null, null, null],
  ['number json', '42.5', 1, 1, null],
];

describe.skipIf(!PG_URL)('json-recordset (PostgreSQL)', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
  });
  afterAll(async () => client?.end());

  it('stores exactly what the unnest arrays path stores, in input order', async () => {
    const { select, from } = recordsetSql(COLUMNS);
    const viaJson = await client.query(
      `SELECT ${select.join(', ')}, x."ord" FROM ${from.replace('"blob" text', '"blob" text, "ord" integer')} ORDER BY x."ord"`,
      [recordsetJson([...COLUMNS, { name: 'ord', kind: 'integer' }], ROWS.map((r, i) => [...r, i]))],
    );
    const viaArrays = await client.query(
      `SELECT i, d, t, p, b FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::bytea[]) WITH ORDINALITY AS u(i, d, t, p, b, o) ORDER BY o`,
      COLUMNS.map((_, c) => ROWS.map((r) => r[c] ?? null)),
    );
    expect(viaJson.rows).toHaveLength(ROWS.length);
    viaJson.rows.forEach((row: Record<string, unknown>, k) => {
      const values = Object.values(row).slice(0, COLUMNS.length);
      expect(values).toEqual(Object.values(viaArrays.rows[k] as Record<string, unknown>));
    });
    // JSON texts come back byte for byte (not re-serialised by the server).
    expect(Object.values(viaJson.rows[1] as object)[1]).toBe(ROWS[1]?.[1]);
    expect(Object.values(viaJson.rows[3] as object)[1]).toBe(ROWS[3]?.[1]);
    expect(Object.values(viaJson.rows[4] as object)[1]).toBe('null');
    // A lone surrogate in plain text becomes U+FFFD on both paths.
    expect(Object.values(viaJson.rows[3] as object)[0]).toBe('lone \ufffd surrogate');
  });
});
