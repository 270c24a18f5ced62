import type { StoredEvent } from '../../domain/event';
import {
  identityKey,
  type CustomerRecord,
  type EngineCommit,
  type EngineStore,
  type IdentityKind,
} from '../../ports/engine-store';
import { displayName, rowToCustomer, traitIndexValue } from '../sqlite/sqlite-engine-store';
import { decodeEventRow, type EventRow } from '../sqlite/sqlite-event-log';
import { inTransaction, type PostgresClient, type PostgresPool } from './open-pool';

/** Row of `customers` as pg returns it (same shape as the SQLite row, so the codec is shared). */
export type PostgresCustomerRow = Parameters<typeof rowToCustomer>[0];

/** Last item per key wins: a multi-row upsert may not touch the same row twice. */
function lastByKey<T>(items: readonly T[], key: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const t of items) {
    const k = key(t);
    m.delete(k);
    m.set(k, t);
  }
  return [...m.values()];
}

function columns<T>(items: readonly T[], width: number, row: (t: T) => unknown[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: width }, () => []);
  for (const t of items) row(t).forEach((v, i) => (cols[i] as unknown[]).push(v));
  return cols;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * PostgreSQL adapter of the engine store. Each commit is one transaction on one client, and every table
 * is written with one multi-row statement (`unnest` of column arrays), so a batch costs a handful of round
 * trips whatever its size.
 */
export class PostgresEngineStore implements EngineStore {
  constructor(private readonly pool: PostgresPool) {}

  async checkpoint(): Promise<number> {
    const r = await this.pool.query<{ seq: number }>(`SELECT seq FROM engine_checkpoint WHERE name = 'processor'`);
    return r.rows[0]?.seq ?? 0;
  }

  async resolveIdentities(keys: ReadonlyArray<{ kind: IdentityKind; value: string }>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (keys.length === 0) return out;
    // `value = ANY` probes the value index once per key whatever the planner thinks of an unnest join
    // (which it estimates at 100 rows and may hash-join against the whole table); kinds are filtered here.
    const wanted = new Set(keys.map((k) => identityKey(k.kind, k.value)));
    const r = await this.pool.query<{ kind: IdentityKind; value: string; customer_id: string }>(
      `SELECT kind, value, customer_id FROM identities WHERE value = ANY($1::text[])`,
      [[...new Set(keys.map((k) => k.value))]],
    );
    for (const row of r.rows) {
      const key = identityKey(row.kind, row.value);
      if (wanted.has(key)) out.set(key, row.customer_id);
    }
    return out;
  }

  async customerIds(after: string, limit: number): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(`SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit]);
    return r.rows.map((row) => row.id);
  }

  async loadCustomers(ids: readonly string[]): Promise<Map<string, CustomerRecord>> {
    const out = new Map<string, CustomerRecord>();
    if (ids.length === 0) return out;
    const r = await this.pool.query<PostgresCustomerRow>(`SELECT * FROM customers WHERE id = ANY($1::text[])`, [ids]);
    for (const row of r.rows) out.set(row.id, rowToCustomer(row));
    return out;
  }

  async eventsOf(customerId: string): Promise<StoredEvent[]> {
    const r = await this.pool.query<EventRow>(
      `SELECT e.* FROM customer_events ce JOIN events e ON e.seq = ce.seq WHERE ce.customer_id = $1 ORDER BY ce.seq`,
      [customerId],
    );
    return r.rows.map(decodeEventRow);
  }

  async commit(batch: EngineCommit): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      for (const m of batch.merges) await applyMerge(c, m);
      await upsertIdentities(c, batch);
      await upsertCustomers(c, batch);
      await insertEventCustomers(c, batch);
      await writeTraits(c, batch);
      await insertTypeHistory(c, batch);
      if (batch.valueState !== undefined) {
        await c.query(
          `INSERT INTO engine_value_state (id, state) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET state = excluded.state`,
          [JSON.stringify(batch.valueState)],
        );
      }
      await c.query(
        `INSERT INTO engine_checkpoint (name, seq) VALUES ('processor', $1) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`,
        [batch.checkpoint],
      );
    });
  }

  async loadValueState(): Promise<{ state: unknown; purchases: Array<[string, readonly [number, number, number, number]]> }> {
    const [state, buyers] = await Promise.all([
      this.pool.query<{ state: string }>(`SELECT state FROM engine_value_state WHERE id = 1`),
      this.pool.query<{ id: string; purchase_days: string }>(
        `SELECT id, purchase_days FROM customers WHERE purchase_days IS NOT NULL ORDER BY id`,
      ),
    ]);
    const row = state.rows[0];
    return {
      state: row ? (JSON.parse(row.state) as unknown) : null,
      purchases: buyers.rows.map((r) => [r.id, JSON.parse(r.purchase_days) as [number, number, number, number]]),
    };
  }

  async reset(): Promise<void> {
    await this.pool.query(
      `TRUNCATE customers, identities, customer_merges, customer_events, customer_types, customer_traits,
                type_history, trait_history, engine_checkpoint, engine_value_state, customer_type_counts, engine_counts`,
    );
  }
}

async function applyMerge(c: PostgresClient, m: EngineCommit['merges'][number]): Promise<void> {
  await c.query(
    `INSERT INTO customer_merges (from_id, into_id, at, seq) VALUES ($1, $2, $3, $4)
     ON CONFLICT (from_id) DO UPDATE SET into_id = excluded.into_id, at = excluded.at, seq = excluded.seq`,
    [m.from, m.into, m.at, m.seq],
  );
  // One round trip for the rest: data-modifying CTEs all run, each on the snapshot before the statement.
  await c.query(
    `WITH redirect AS (UPDATE customer_merges SET into_id = $1 WHERE into_id = $2),
          ids AS (UPDATE identities SET customer_id = $1 WHERE customer_id = $2),
          moved AS (DELETE FROM customer_events WHERE customer_id = $2 RETURNING seq),
          ins AS (INSERT INTO customer_events (customer_id, seq) SELECT $1, seq FROM moved ON CONFLICT DO NOTHING),
          th AS (UPDATE type_history SET customer_id = $1 WHERE customer_id = $2),
          trh AS (UPDATE trait_history SET customer_id = $1 WHERE customer_id = $2),
          dc AS (DELETE FROM customers WHERE id = $2 RETURNING id),
          dt AS (DELETE FROM customer_types WHERE customer_id = $2 RETURNING lens, type),
          cc AS (INSERT INTO engine_counts (name, n) SELECT 'customers', -count(*) FROM dc
                 ON CONFLICT (name) DO UPDATE SET n = engine_counts.n + excluded.n),
          tc AS (INSERT INTO customer_type_counts (lens, type, n) SELECT lens, type, -count(*) FROM dt GROUP BY lens, type ORDER BY lens, type
                 ON CONFLICT (lens, type) DO UPDATE SET n = customer_type_counts.n + excluded.n)
     DELETE FROM customer_traits WHERE customer_id = $2`,
    [m.into, m.from],
  );
}

async function upsertIdentities(c: PostgresClient, batch: EngineCommit): Promise<void> {
  if (batch.identities.length === 0) return;
  const ids = lastByKey(batch.identities, (i) => identityKey(i.kind, i.value));
  await c.query(
    `INSERT INTO identities (kind, value, customer_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (kind, value) DO UPDATE SET customer_id = excluded.customer_id`,
    columns(ids, 3, (i) => [i.kind, i.value, i.customerId]),
  );
}

async function upsertCustomers(c: PostgresClient, batch: EngineCommit): Promise<void> {
  if (batch.customers.length === 0) return;
  // Key order: a stable lock order between concurrent committers, and neighbouring rows share pages.
  const customers = lastByKey(batch.customers, (x) => x.id).sort((a, b) => byString(a.id, b.id));
  const up = await c.query<{ inserted: boolean }>(
    `INSERT INTO customers (id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json,
       first_seen, last_seen, event_count, state, indicators, classifications, purchase_days)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
       $9::bigint[], $10::bigint[], $11::bigint[], $12::bytea[], $13::text[], $14::text[], $15::text[])
     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, email = excluded.email, name = excluded.name,
       anonymous_ids = excluded.anonymous_ids, traits = excluded.traits, trait_times = excluded.trait_times,
       groups_json = excluded.groups_json, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
       event_count = excluded.event_count, state = excluded.state, indicators = excluded.indicators,
       classifications = excluded.classifications, purchase_days = excluded.purchase_days
     RETURNING (xmax = 0) AS inserted`,
    columns(customers, 15, (x) => [
      x.id,
      x.userId,
      x.email,
      displayName(x.traits),
      JSON.stringify(x.anonymousIds),
      JSON.stringify(x.traits),
      JSON.stringify(x.traitTimes),
      JSON.stringify(x.groups),
      x.firstSeen,
      x.lastSeen,
      x.eventCount,
      x.state ? Buffer.from(x.state.buffer, x.state.byteOffset, x.state.byteLength) : null,
      JSON.stringify(x.indicators),
      JSON.stringify(x.classifications),
      x.purchaseDays ? JSON.stringify(x.purchaseDays) : null,
    ]),
  );
  // xmax = 0 on a returned row means it was inserted, not updated: new customers for the total.
  const added = up.rows.filter((r) => r.inserted).length;
  if (added > 0) {
    await c.query(
      `INSERT INTO engine_counts (name, n) VALUES ('customers', $1) ON CONFLICT (name) DO UPDATE SET n = engine_counts.n + excluded.n`,
      [added],
    );
  }
  const types = customers.flatMap((x) => Object.values(x.classifications).map((cl) => ({ id: x.id, cl })));
  if (types.length === 0) return;
  // One statement: read the previous types, upsert the new ones, and apply the difference to the per-type
  // counters (in key order, so concurrent committers lock counters in the same order). All parts see the
  // snapshot from before the statement, so `old` is the previous state. (No FOR UPDATE on `old`: rows the
  // same statement updates would vanish from it.) One customer is committed by one processor at a time.
  await c.query(
    `WITH incoming AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::bigint[]) AS x(customer_id, lens, type, probability, since)),
     old AS (
       SELECT ct.lens, ct.type FROM customer_types ct JOIN incoming i ON ct.customer_id = i.customer_id AND ct.lens = i.lens),
     up AS (
       INSERT INTO customer_types (customer_id, lens, type, probability, since) SELECT * FROM incoming
       ON CONFLICT (customer_id, lens) DO UPDATE SET type = excluded.type, probability = excluded.probability, since = excluded.since
       RETURNING lens, type),
     delta AS (
       SELECT lens, type, sum(d) AS d FROM (SELECT lens, type, 1 AS d FROM up UNION ALL SELECT lens, type, -1 FROM old) z
       GROUP BY lens, type HAVING sum(d) <> 0)
     INSERT INTO customer_type_counts (lens, type, n) SELECT lens, type, d FROM delta ORDER BY lens, type
     ON CONFLICT (lens, type) DO UPDATE SET n = customer_type_counts.n + excluded.n`,
    columns(lastByKey(types, (t) => `${t.id}\u0000${t.cl.lens}`), 5, (t) => [t.id, t.cl.lens, t.cl.type, t.cl.probability, t.cl.since]),
  );
}

async function insertEventCustomers(c: PostgresClient, batch: EngineCommit): Promise<void> {
  if (batch.eventCustomers.length === 0) return;
  await c.query(
    `INSERT INTO customer_events (customer_id, seq) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`,
    columns(batch.eventCustomers, 2, (e) => [e.customerId, e.seq]),
  );
}

async function writeTraits(c: PostgresClient, batch: EngineCommit): Promise<void> {
  if (batch.traitChanges.length === 0) return;
  const current = lastByKey(batch.traitChanges, (t) => `${t.customerId}\u0000${t.key}`);
  await c.query(
    `INSERT INTO customer_traits (customer_id, key, value) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (customer_id, key) DO UPDATE SET value = excluded.value`,
    columns(current, 3, (t) => [t.customerId, t.key, traitIndexValue(t.value)]),
  );
  // ORDER BY ord keeps history ids in commit order (the tie-breaker of the history queries).
  await c.query(
    `INSERT INTO trait_history (customer_id, key, value, at, seq)
     SELECT c, k, v, a, s FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
       WITH ORDINALITY AS x(c, k, v, a, s, ord) ORDER BY ord`,
    columns(batch.traitChanges, 5, (t) => [t.customerId, t.key, t.value === undefined ? null : JSON.stringify(t.value), t.at, t.seq]),
  );
}

async function insertTypeHistory(c: PostgresClient, batch: EngineCommit): Promise<void> {
  if (batch.typeChanges.length === 0) return;
  await c.query(
    `INSERT INTO type_history (customer_id, lens, from_type, to_type, at, seq, message_id, event)
     SELECT c, l, f, t, a, s, m, e FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
       WITH ORDINALITY AS x(c, l, f, t, a, s, m, e, ord) ORDER BY ord`,
    columns(batch.typeChanges, 8, (h) => [h.customerId, h.lens, h.from, h.to, h.at, h.seq, h.messageId, h.event]),
  );
}
