import type { StoredEvent } from '../../domain/event';
import {
  identityKey,
  type CustomerRecord,
  type EngineCommit,
  type EngineStore,
  type IdentityKind,
} from '../../ports/engine-store';
import {
  contributionOf,
  dayOf,
  TotalsDelta,
  ZERO,
  type Contribution,
} from '../shared/engine-totals';
import { customerRowValues, rowToCustomer, traitIndexValue } from '../shared/customer-row';
import { decodeEventRow, type EventRow } from '../shared/event-row';
import { recordsetJson, recordsetSql, type RecordsetColumn } from './json-recordset';
import { inTransaction, type PostgresClient, type PostgresPool } from './open-pool';
import { partitionCheckpointName } from './postgres-partition-progress';
import { LeaseLostError } from '../../domain/errors';

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
 * The aggregates one commit changes (as SQLite's commit keeps them): per-type totals, per-day type
 * deltas, per-day transition counts and the latest event time. Summed in memory, written once per key
 * at the end of the commit, in key order (a stable lock order between concurrent committers).
 */
class CommitAggregates {
  /**
   * Suffix of the `engine_counts` rows this committer updates: '' for the one processor, `:p<N>` for a
   * partition's (readers sum / take the max over the rows, so partitions do not queue on one row).
   */
  constructor(
    readonly countSuffix = '',
    /** `part` of the per-type and per-day counter rows (the partition; -1 for the one processor). */
    readonly countPart = -1,
  ) {}

  readonly totals = new TotalsDelta();
  private readonly daily = new Map<string, [string, number, string, number]>();
  private readonly transitions = new Map<string, [string, number, string, string, number]>();
  latest = 0;

  addDaily(lens: string, at: number, type: string, delta: number): void {
    const day = dayOf(at);
    const key = `${lens}\u0000${day}\u0000${type}`;
    const e = this.daily.get(key);
    if (e) e[3] += delta;
    else this.daily.set(key, [lens, day, type, delta]);
  }

  addTransition(lens: string, at: number, from: string | null, to: string): void {
    const day = dayOf(at);
    const key = `${lens}\u0000${day}\u0000${from ?? ''}\u0000${to}`;
    const e = this.transitions.get(key);
    if (e) e[4] += 1;
    else this.transitions.set(key, [lens, day, from ?? '', to, 1]);
  }

  async write(c: PostgresClient): Promise<void> {
    const totals = this.totals.entries();
    if (totals.length > 0) {
      await c.query(
        `INSERT INTO type_totals (lens, type, customers, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered, part)
         SELECT *, $9::integer FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
         ON CONFLICT (lens, type, part) DO UPDATE SET customers = type_totals.customers + excluded.customers,
           revenue = type_totals.revenue + excluded.revenue, revenue_365d = type_totals.revenue_365d + excluded.revenue_365d,
           clv_12m = type_totals.clv_12m + excluded.clv_12m, support_contacts = type_totals.support_contacts + excluded.support_contacts,
           emails_delivered = type_totals.emails_delivered + excluded.emails_delivered`,
        [...columns(totals, 8, ([lens, type, d]) => [lens, type, d.customers, d.revenue, d.revenue_365d, d.clv_12m, d.support_contacts, d.emails_delivered]), this.countPart],
      );
    }
    if (this.daily.size > 0) {
      const rows = [...this.daily.entries()].sort(([a], [b]) => byString(a, b)).map(([, e]) => e);
      await c.query(
        `INSERT INTO type_daily (lens, day, type, delta, part) SELECT *, $5::integer FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[])
         ON CONFLICT (lens, day, type, part) DO UPDATE SET delta = type_daily.delta + excluded.delta`,
        [...columns(rows, 4, (e) => e), this.countPart],
      );
    }
    if (this.transitions.size > 0) {
      const rows = [...this.transitions.entries()].sort(([a], [b]) => byString(a, b)).map(([, e]) => e);
      await c.query(
        `INSERT INTO transition_daily (lens, day, from_type, to_type, n, part)
         SELECT *, $6::integer FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::bigint[])
         ON CONFLICT (lens, day, from_type, to_type, part) DO UPDATE SET n = transition_daily.n + excluded.n`,
        [...columns(rows, 5, (e) => e), this.countPart],
      );
    }
    if (this.latest > 0) {
      await c.query(
        `INSERT INTO engine_counts (name, n) VALUES ('last_seen' || $2::text, $1) ON CONFLICT (name) DO UPDATE SET n = GREATEST(engine_counts.n, excluded.n)`,
        [this.latest, this.countSuffix],
      );
    }
  }
}

/** A stored type of a customer with the customer's stored contribution (all null when it has none). */
interface ContribRow {
  customer_id: string;
  lens: string | null;
  type: string | null;
  revenue: number | null;
  revenue_365d: number | null;
  clv_12m: number | null;
  support_contacts: number | null;
  emails_delivered: number | null;
}

const contribOfRow = (r: ContribRow): Contribution =>
  r.revenue === null
    ? ZERO
    : {
        revenue: r.revenue,
        revenue_365d: r.revenue_365d ?? 0,
        clv_12m: r.clv_12m ?? 0,
        support_contacts: r.support_contacts ?? 0,
        emails_delivered: r.emails_delivered ?? 0,
      };

/**
 * PostgreSQL adapter of the engine store. Each commit is one transaction on one client, and every table
 * is written with one multi-row statement (`unnest` of column arrays), so a batch costs a handful of round
 * trips whatever its size.
 */
export class PostgresEngineStore implements EngineStore {
  private readonly checkpointName: string;
  /** Partition mode: the checkpoint this store last read or wrote (the fence of the next commit). */
  private knownCheckpoint: number | null = null;

  /**
   * `partition` (scaled-out workers): the store of one partition's processor — its own checkpoint and
   * value-model state, customers it commits are marked with the partition, and `customerIds` (a clock
   * tick's sweep) lists only that partition's customers.
   */
  constructor(
    private readonly pool: PostgresPool,
    private readonly opts: { readonly partition?: number } = {},
  ) {
    this.checkpointName = opts.partition === undefined ? 'processor' : partitionCheckpointName(opts.partition);
  }

  async checkpoint(): Promise<number> {
    const r = await this.pool.query<{ seq: number }>(`SELECT seq FROM engine_checkpoint WHERE name = $1`, [this.checkpointName]);
    this.knownCheckpoint = r.rows[0]?.seq ?? 0;
    return this.knownCheckpoint;
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
    const p = this.opts.partition;
    const r =
      p === undefined
        ? await this.pool.query<{ id: string }>(`SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit])
        : await this.pool.query<{ id: string }>(`SELECT id FROM customers WHERE partition = $3 AND id > $1 ORDER BY id LIMIT $2`, [after, limit, p]);
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
      // A partition's state is derived from its log (PostgreSQL + the stream): a crash may lose the last
      // commits with their checkpoint, which the processor re-derives, so no wait for the WAL flush.
      if (this.opts.partition !== undefined) {
        await c.query('SET LOCAL synchronous_commit = off');
        // Fenced: another worker that took the partition over has moved the checkpoint; commit nothing.
        const cur = await c.query<{ seq: number }>(`SELECT seq FROM engine_checkpoint WHERE name = $1 FOR UPDATE`, [this.checkpointName]);
        const at = cur.rows[0]?.seq ?? 0;
        if (this.knownCheckpoint !== null && at !== this.knownCheckpoint) {
          throw new LeaseLostError(`partition ${this.opts.partition} is processed up to ${at} by another worker, not ${this.knownCheckpoint}`);
        }
      }
      const p = this.opts.partition;
      const agg = new CommitAggregates(p === undefined ? '' : `:p${p}`, p ?? -1);
      for (const m of batch.merges) await applyMerge(c, m, agg);
      await upsertIdentities(c, batch);
      const upserted = await upsertCustomers(c, batch, agg);
      if (this.opts.partition !== undefined) await markPartition(c, batch, this.opts.partition);
      await insertEventCustomers(c, batch);
      await writeTraits(c, batch);
      await insertTypeHistory(c, batch, agg);
      if (batch.valueState !== undefined && this.opts.partition !== undefined) {
        await c.query(
          `INSERT INTO partition_value_state (partition, state) VALUES ($2, $1) ON CONFLICT (partition) DO UPDATE SET state = excluded.state`,
          [JSON.stringify(batch.valueState), this.opts.partition],
        );
      } else if (batch.valueState !== undefined) {
        await c.query(
          `INSERT INTO engine_value_state (id, state) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET state = excluded.state`,
          [JSON.stringify(batch.valueState)],
        );
      }
      await c.query(
        `INSERT INTO engine_checkpoint (name, seq) VALUES ($2, $1) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`,
        [batch.checkpoint, this.checkpointName],
      );
      // Last: the shared counter rows (see writeCustomerCounters).
      await writeCustomerCounters(c, upserted.customers, upserted.added, agg.countSuffix, agg.countPart);
      await agg.write(c);
    });
    this.knownCheckpoint = batch.checkpoint;
  }

  /**
   * A repeatable uniform sample of the buyers' purchase summaries, each buyer in with probability `share`
   * (the whole store's buyers: for processes that only summarise them).
   */
  async samplePurchases(share: number): Promise<Array<[string, readonly [number, number, number, number]]>> {
    const r = await this.pool.query<{ id: string; purchase_days: string }>(
      `SELECT id, purchase_days FROM customers TABLESAMPLE BERNOULLI ($1) REPEATABLE (7) WHERE purchase_days IS NOT NULL`,
      [Math.min(1, share) * 100],
    );
    return r.rows.map((row) => [row.id, JSON.parse(row.purchase_days) as [number, number, number, number]]);
  }

  /** The value engine's persisted state alone (models, threshold, next refit), without the purchase summaries. */
  async loadValueModels(): Promise<unknown> {
    const p = this.opts.partition;
    const r =
      p === undefined
        ? await this.pool.query<{ state: string }>(`SELECT state FROM engine_value_state WHERE id = 1`)
        : await this.pool.query<{ state: string }>(`SELECT state FROM partition_value_state WHERE partition = $1`, [p]);
    const row = r.rows[0];
    return row ? (JSON.parse(row.state) as unknown) : null;
  }

  async loadValueState(): Promise<{ state: unknown; purchases: Array<[string, readonly [number, number, number, number]]> }> {
    const p = this.opts.partition;
    const [state, buyers] = await Promise.all([
      p === undefined
        ? this.pool.query<{ state: string }>(`SELECT state FROM engine_value_state WHERE id = 1`)
        : this.pool.query<{ state: string }>(`SELECT state FROM partition_value_state WHERE partition = $1`, [p]),
      p === undefined
        ? this.pool.query<{ id: string; purchase_days: string }>(`SELECT id, purchase_days FROM customers WHERE purchase_days IS NOT NULL ORDER BY id`)
        : this.pool.query<{ id: string; purchase_days: string }>(
            `SELECT id, purchase_days FROM customers WHERE purchase_days IS NOT NULL AND partition = $1 ORDER BY id`,
            [p],
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
                type_history, trait_history, engine_checkpoint, engine_value_state, customer_type_counts, engine_counts,
                partition_value_state, type_daily, type_totals, customer_contrib, transition_daily`,
    );
  }
}

async function applyMerge(c: PostgresClient, m: EngineCommit['merges'][number], agg: CommitAggregates): Promise<void> {
  // The merged-away customer leaves the per-day type counts and the per-type totals; the survivor's
  // change comes with its own record in this commit.
  const gone = await c.query<ContribRow>(
    `SELECT t.customer_id, t.lens, t.type, cc.revenue, cc.revenue_365d, cc.clv_12m, cc.support_contacts, cc.emails_delivered
     FROM customer_types t LEFT JOIN customer_contrib cc ON cc.customer_id = t.customer_id
     WHERE t.customer_id = $1 ORDER BY t.lens COLLATE "C"`,
    [m.from],
  );
  for (const r of gone.rows) {
    if (r.lens === null || r.type === null) continue;
    agg.addDaily(r.lens, m.at, r.type, -1);
    agg.totals.add(r.lens, r.type, -1, contribOfRow(r));
  }
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
          dcc AS (DELETE FROM customer_contrib WHERE customer_id = $2),
          cc AS (INSERT INTO engine_counts (name, n) SELECT 'customers', -count(*) FROM dc
                 ON CONFLICT (name) DO UPDATE SET n = engine_counts.n + excluded.n),
          tc AS (INSERT INTO customer_type_counts (lens, type, part, n) SELECT lens, type, -1, -count(*) FROM dt GROUP BY lens, type ORDER BY lens, type
                 ON CONFLICT (lens, type, part) DO UPDATE SET n = customer_type_counts.n + excluded.n)
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

/** `customerRowValues` column by column: the JSON columns travel as they are (see json-recordset.ts). */
const CUSTOMER_COLUMNS: readonly RecordsetColumn[] = (
  [
    ['id', 'text'],
    ['user_id', 'text'],
    ['email', 'text'],
    ['name', 'text'],
    ['anonymous_ids', 'json'],
    ['traits', 'json'],
    ['trait_times', 'json'],
    ['groups_json', 'json'],
    ['first_seen', 'bigint'],
    ['last_seen', 'bigint'],
    ['event_count', 'bigint'],
    ['state', 'bytea'],
    ['indicators', 'json'],
    ['classifications', 'json'],
    ['purchase_days', 'json'],
  ] as const
).map(([name, kind]) => ({ name, kind }));
const CUSTOMER_SET = recordsetSql(CUSTOMER_COLUMNS);

async function upsertCustomers(c: PostgresClient, batch: EngineCommit, agg: CommitAggregates): Promise<{ customers: CustomerRecord[]; added: number }> {
  if (batch.customers.length === 0) return { customers: [], added: 0 };
  // Key order: a stable lock order between concurrent committers, and neighbouring rows share pages.
  const customers = lastByKey(batch.customers, (x) => x.id).sort((a, b) => byString(a.id, b.id));
  await updateTotals(c, customers, agg);
  const up = await c.query<{ inserted: boolean }>(
    `INSERT INTO customers (id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json,
       first_seen, last_seen, event_count, state, indicators, classifications, purchase_days)
     SELECT ${CUSTOMER_SET.select.join(', ')} FROM ${CUSTOMER_SET.from}
     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, email = excluded.email, name = excluded.name,
       anonymous_ids = excluded.anonymous_ids, traits = excluded.traits, trait_times = excluded.trait_times,
       groups_json = excluded.groups_json, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
       event_count = excluded.event_count, state = excluded.state, indicators = excluded.indicators,
       classifications = excluded.classifications, purchase_days = excluded.purchase_days
     RETURNING (xmax = 0) AS inserted`,
    [recordsetJson(CUSTOMER_COLUMNS, customers.map(customerRowValues))],
  );
  // xmax = 0 on a returned row means it was inserted, not updated: new customers for the total.
  return { customers, added: up.rows.filter((r) => r.inserted).length };
}

/**
 * The customer total and the per-type counters. Shared rows every committer updates: written at the end
 * of the commit, so a commit holds their locks only for its last statements (several partition
 * processors commit at once in the scaled-out mode).
 */
async function writeCustomerCounters(c: PostgresClient, customers: readonly CustomerRecord[], added: number, countSuffix: string, countPart: number): Promise<void> {
  if (added > 0) {
    await c.query(
      `INSERT INTO engine_counts (name, n) VALUES ('customers' || $2::text, $1) ON CONFLICT (name) DO UPDATE SET n = engine_counts.n + excluded.n`,
      [added, countSuffix],
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
     INSERT INTO customer_type_counts (lens, type, part, n) SELECT lens, type, $6, d FROM delta ORDER BY lens, type
     ON CONFLICT (lens, type, part) DO UPDATE SET n = customer_type_counts.n + excluded.n`,
    [...columns(lastByKey(types, (t) => `${t.id}\u0000${t.cl.lens}`), 5, (t) => [t.id, t.cl.lens, t.cl.type, t.cl.probability, t.cl.since]), countPart],
  );
}

/** Marks new customers with the partition committing them (one statement; rows already marked are skipped). */
async function markPartition(c: PostgresClient, batch: EngineCommit, partition: number): Promise<void> {
  if (batch.customers.length === 0) return;
  await c.query(`UPDATE customers SET partition = $1 WHERE id = ANY($2::text[]) AND partition IS DISTINCT FROM $1`, [
    partition,
    batch.customers.map((x) => x.id).sort(byString),
  ]);
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

/**
 * Out with each customer's stored contribution under its stored types, in with the new one under the
 * new types (the same steps, in the same order, as SQLite's commit), and the new contributions stored.
 */
async function updateTotals(c: PostgresClient, customers: readonly CustomerRecord[], agg: CommitAggregates): Promise<void> {
  const old = await c.query<ContribRow>(
    `SELECT i.id AS customer_id, t.lens, t.type, cc.revenue, cc.revenue_365d, cc.clv_12m, cc.support_contacts, cc.emails_delivered
     FROM unnest($1::text[]) AS i(id)
     LEFT JOIN customer_contrib cc ON cc.customer_id = i.id
     LEFT JOIN customer_types t ON t.customer_id = i.id
     ORDER BY t.lens COLLATE "C"`,
    [customers.map((x) => x.id)],
  );
  const before = new Map<string, ContribRow[]>();
  for (const r of old.rows) {
    const list = before.get(r.customer_id) ?? [];
    list.push(r);
    before.set(r.customer_id, list);
  }
  for (const x of customers) {
    const rows = before.get(x.id) ?? [];
    const was = rows[0] ? contribOfRow(rows[0]) : ZERO;
    const lensTypes = new Map<string, string>();
    for (const r of rows) {
      if (r.lens === null || r.type === null) continue;
      agg.totals.add(r.lens, r.type, -1, was);
      lensTypes.set(r.lens, r.type);
    }
    for (const cl of Object.values(x.classifications)) lensTypes.set(cl.lens, cl.type);
    const now = contributionOf(x.indicators);
    for (const [lens, type] of lensTypes) agg.totals.add(lens, type, 1, now);
    if (x.lastSeen > agg.latest) agg.latest = x.lastSeen;
  }
  await c.query(
    `INSERT INTO customer_contrib (customer_id, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
     SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[])
     ON CONFLICT (customer_id) DO UPDATE SET revenue = excluded.revenue, revenue_365d = excluded.revenue_365d,
       clv_12m = excluded.clv_12m, support_contacts = excluded.support_contacts, emails_delivered = excluded.emails_delivered`,
    columns(customers, 6, (x) => {
      const k = contributionOf(x.indicators);
      return [x.id, k.revenue, k.revenue_365d, k.clv_12m, k.support_contacts, k.emails_delivered];
    }),
  );
}

async function insertTypeHistory(c: PostgresClient, batch: EngineCommit, agg: CommitAggregates): Promise<void> {
  for (const h of batch.typeChanges) {
    if (h.from !== null) agg.addDaily(h.lens, h.at, h.from, -1);
    agg.addDaily(h.lens, h.at, h.to, 1);
    // History rows move with merges but are never removed, so these counts need no merge step.
    agg.addTransition(h.lens, h.at, h.from, h.to);
  }
  if (batch.typeChanges.length === 0) return;
  await c.query(
    `INSERT INTO type_history (customer_id, lens, from_type, to_type, at, seq, message_id, event)
     SELECT c, l, f, t, a, s, m, e FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
       WITH ORDINALITY AS x(c, l, f, t, a, s, m, e, ord) ORDER BY ord`,
    columns(batch.typeChanges, 8, (h) => [h.customerId, h.lens, h.from, h.to, h.at, h.seq, h.messageId, h.event]),
  );
}
