import { withoutFsync } from './without-fsync';
import type { StoredEvent } from '../../domain/event';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './open-database';
import { customerRowValues, rowToCustomer, traitIndexValue, type CustomerRow } from '../shared/customer-row';
import { contributionOf, dayOf, sameContribution, TotalsDelta, ZERO, type Contribution } from '../shared/engine-totals';
import { decodeEventRow } from '../shared/event-row';
import {
  identityKey,
  type CustomerRecord,
  type EngineCommit,
  type EngineStore,
  type IdentityKind,
} from '../../ports/engine-store';

const CHUNK = 500;

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byCustomerThenSeq = (a: { customerId: string; seq: number }, b: { customerId: string; seq: number }): number =>
  a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : a.seq - b.seq;

/** Stored type row of one customer and lens. */
interface TypeRow {
  lens: string;
  type: string;
  probability: number;
  since: number;
}

/**
 * What the last commits wrote for a customer: its cold columns, contribution and type rows. A live commit
 * touches each customer after one or two events, so the next commit can compare with this instead of
 * reading the three back (about 15 us per customer).
 */
interface WrittenCustomer {
  cold: ColdColumns;
  contribution: Contribution;
  types: TypeRow[];
}

/** Commits of at most this many customers remember what they wrote (live commits; a replay's are far larger). */
const MEMO_COMMIT = 5_000;
/** Customers remembered at most (about 1 KB each), least recently committed dropped first. */
const MEMO_MAX = 20_000;

/**
 * Bumped by every commit and reset of any engine store on a connection: a store's memory of what it wrote
 * is valid only while nothing else wrote the engine tables through that connection since (tests run
 * several stores on one connection; other processes are kept out by the processing lock).
 */
const writes = new WeakMap<SqliteDatabase, number>();
const bumpWrites = (db: SqliteDatabase): number => {
  const n = (writes.get(db) ?? 0) + 1;
  writes.set(db, n);
  return n;
};

/** Thrown inside a commit whose memory proved stale (a remembered row was missing): the commit runs again reading rows. */
class StaleMemo extends Error {}

/** Columns of a `customers` row that most commits leave unchanged (see SqliteEngineStore.commitTx). */
interface ColdColumns {
  user_id: string | null;
  email: string | null;
  name: string | null;
  anonymous_ids: string;
  traits: string;
  trait_times: string;
  groups_json: string;
  purchase_days: string | null;
}

/**
 * Per-day type count and transition deltas of one commit, summed in memory and written once per key
 * (a replay commit carries tens of thousands of type changes on a few thousand keys). Integer sums:
 * the stored counts are the same as with one upsert per change, zero deltas included.
 */
class DailyDeltas {
  readonly daily = new Map<string, [lens: string, day: number, type: string, delta: number]>();
  readonly transitions = new Map<string, [lens: string, day: number, from: string, to: string, n: number]>();

  add(lens: string, day: number, type: string, delta: number): void {
    const key = `${lens}\u0000${day}\u0000${type}`;
    const e = this.daily.get(key);
    if (e) e[3] += delta;
    else this.daily.set(key, [lens, day, type, delta]);
  }

  transition(lens: string, day: number, from: string, to: string): void {
    const key = `${lens}\u0000${day}\u0000${from}\u0000${to}`;
    const e = this.transitions.get(key);
    if (e) e[4]++;
    else this.transitions.set(key, [lens, day, from, to, 1]);
  }
}

/**
 * SQLite adapter of the engine store. Synchronous inside (better-sqlite3); one transaction per commit,
 * so state, history and the checkpoint move together.
 */
export class SqliteEngineStore implements EngineStore {
  private readonly stmts;
  /** What this store last wrote per customer (live commits only); see {@link WrittenCustomer}. */
  private readonly written = new Map<string, WrittenCustomer>();
  /** The connection's write count after this store's last commit: `written` is valid while they match. */
  private writtenAt = -1;
  /** Per lens count: sets probability and since of that many (lens, probability, since) triples of one customer. */
  private readonly typeScoreUpdates = new Map<number, Statement>();

  constructor(private readonly db: SqliteDatabase) {
    this.stmts = {
      checkpoint: db.prepare<[], { seq: number }>(`SELECT seq FROM engine_checkpoint WHERE name = 'processor'`),
      setCheckpoint: db.prepare(
        `INSERT INTO engine_checkpoint (name, seq) VALUES ('processor', ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`,
      ),
      identity: db.prepare<[string, string], { customer_id: string }>(
        `SELECT customer_id FROM identities WHERE kind = ? AND value = ?`,
      ),
      insertIdentity: db.prepare(
        `INSERT INTO identities (kind, value, customer_id) VALUES (?, ?, ?) ON CONFLICT(kind, value) DO UPDATE SET customer_id = excluded.customer_id`,
      ),
      // Positional parameters: binding by name costs a lookup per column.
      upsertCustomer: db.prepare(`
        INSERT INTO customers (id, user_id, email, name, anonymous_ids, traits, trait_times, groups_json,
          first_seen, last_seen, event_count, state, indicators, classifications, purchase_days)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, email = excluded.email, name = excluded.name,
          anonymous_ids = excluded.anonymous_ids, traits = excluded.traits, trait_times = excluded.trait_times,
          groups_json = excluded.groups_json, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
          event_count = excluded.event_count, state = excluded.state, indicators = excluded.indicators,
          classifications = excluded.classifications, purchase_days = excluded.purchase_days`),
      // Previous values of the columns a commit may leave as they are (see commitTx): the row's page is read
      // for the update anyway, and an unchanged indexed column left out of the SET keeps its index pages clean.
      customerCold: db.prepare<[string], ColdColumns>(
        `SELECT user_id, email, name, anonymous_ids, traits, trait_times, groups_json, purchase_days FROM customers WHERE id = ?`,
      ),
      updateCustomerHot: db.prepare(
        `UPDATE customers SET first_seen = ?, last_seen = ?, event_count = ?, state = ?, indicators = ?, classifications = ? WHERE id = ?`,
      ),
      updateCustomerHotPurchases: db.prepare(
        `UPDATE customers SET first_seen = ?, last_seen = ?, event_count = ?, state = ?, indicators = ?, classifications = ?, purchase_days = ? WHERE id = ?`,
      ),
      setValueState: db.prepare(
        `INSERT INTO engine_value_state (id, state) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state`,
      ),
      valueState: db.prepare<[], { state: string }>(`SELECT state FROM engine_value_state WHERE id = 1`),
      purchases: db.prepare<[], { id: string; purchase_days: string }>(
        `SELECT id, purchase_days FROM customers WHERE purchase_days IS NOT NULL ORDER BY id`,
      ),
      upsertType: db.prepare(
        `INSERT INTO customer_types (customer_id, lens, type, probability, since) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(customer_id, lens) DO UPDATE SET type = excluded.type, probability = excluded.probability, since = excluded.since`,
      ),
      typeRowsOf: db.prepare<[string], { lens: string; type: string; probability: number; since: number }>(
        `SELECT lens, type, probability, since FROM customer_types WHERE customer_id = ?`,
      ),
      upsertTrait: db.prepare(
        `INSERT INTO customer_traits (customer_id, key, value) VALUES (?, ?, ?)
         ON CONFLICT(customer_id, key) DO UPDATE SET value = excluded.value`,
      ),
      insertTraitHistory: db.prepare(
        `INSERT INTO trait_history (customer_id, key, value, at, seq) VALUES (?, ?, ?, ?, ?)`,
      ),
      insertTypeHistory: db.prepare(
        `INSERT INTO type_history (customer_id, lens, from_type, to_type, at, seq, message_id, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertEventCustomer: db.prepare(`INSERT OR IGNORE INTO customer_events (customer_id, seq) VALUES (?, ?)`),
      eventsOf: db.prepare(
        `SELECT e.* FROM customer_events ce JOIN events e ON e.seq = ce.seq WHERE ce.customer_id = ? ORDER BY ce.seq`,
      ),
      insertMerge: db.prepare(`INSERT OR REPLACE INTO customer_merges (from_id, into_id, at, seq) VALUES (?, ?, ?, ?)`),
      redirectMerges: db.prepare(`UPDATE customer_merges SET into_id = ? WHERE into_id = ?`),
      moveIdentities: db.prepare(`UPDATE identities SET customer_id = ? WHERE customer_id = ?`),
      moveEvents: db.prepare(`INSERT OR IGNORE INTO customer_events (customer_id, seq) SELECT ?, seq FROM customer_events WHERE customer_id = ?`),
      deleteEvents: db.prepare(`DELETE FROM customer_events WHERE customer_id = ?`),
      moveTypeHistory: db.prepare(`UPDATE type_history SET customer_id = ? WHERE customer_id = ?`),
      moveTraitHistory: db.prepare(`UPDATE trait_history SET customer_id = ? WHERE customer_id = ?`),
      deleteCustomer: db.prepare(`DELETE FROM customers WHERE id = ?`),
      deleteTypes: db.prepare(`DELETE FROM customer_types WHERE customer_id = ?`),
      typesOf: db.prepare<[string], { lens: string; type: string }>(`SELECT lens, type FROM customer_types WHERE customer_id = ?`),
      addDaily: db.prepare(
        `INSERT INTO type_daily (lens, day, type, delta) VALUES (?, ?, ?, ?)
         ON CONFLICT(lens, day, type) DO UPDATE SET delta = delta + excluded.delta`,
      ),
      contribOf: db.prepare<[string], Contribution>(
        `SELECT revenue, revenue_365d, clv_12m, support_contacts, emails_delivered FROM customer_contrib WHERE customer_id = ?`,
      ),
      setContrib: db.prepare(
        `INSERT INTO customer_contrib (customer_id, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(customer_id) DO UPDATE SET revenue = excluded.revenue,
           revenue_365d = excluded.revenue_365d, clv_12m = excluded.clv_12m, support_contacts = excluded.support_contacts,
           emails_delivered = excluded.emails_delivered`,
      ),
      deleteContrib: db.prepare(`DELETE FROM customer_contrib WHERE customer_id = ?`),
      addTotals: db.prepare(
        `INSERT INTO type_totals (lens, type, customers, revenue, revenue_365d, clv_12m, support_contacts, emails_delivered)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(lens, type) DO UPDATE SET customers = customers + excluded.customers,
           revenue = revenue + excluded.revenue, revenue_365d = revenue_365d + excluded.revenue_365d,
           clv_12m = clv_12m + excluded.clv_12m, support_contacts = support_contacts + excluded.support_contacts,
           emails_delivered = emails_delivered + excluded.emails_delivered`,
      ),
      addTransition: db.prepare(
        `INSERT INTO transition_daily (lens, day, from_type, to_type, n) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(lens, day, from_type, to_type) DO UPDATE SET n = n + excluded.n`,
      ),
      deleteTraits: db.prepare(`DELETE FROM customer_traits WHERE customer_id = ?`),
    };
  }

  /**
   * Probability and since are not indexed: when the type stays, only they are written, for all of a
   * customer's lenses in one statement (its rows share a page; one statement instead of one per lens).
   */
  private updateTypeScores(lenses: number): Statement {
    let stmt = this.typeScoreUpdates.get(lenses);
    if (!stmt) {
      const values = Array.from({ length: lenses }, () => '(?, ?, ?)').join(', ');
      stmt = this.db.prepare(
        `UPDATE customer_types SET probability = v.column2, since = v.column3 FROM (VALUES ${values}) AS v
         WHERE customer_types.customer_id = ? AND customer_types.lens = v.column1`,
      );
      this.typeScoreUpdates.set(lenses, stmt);
    }
    return stmt;
  }

  async checkpoint(): Promise<number> {
    return this.stmts.checkpoint.get()?.seq ?? 0;
  }

  async resolveIdentities(keys: ReadonlyArray<{ kind: IdentityKind; value: string }>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const k of keys) {
      const row = this.stmts.identity.get(k.kind, k.value);
      if (row) out.set(identityKey(k.kind, k.value), row.customer_id);
    }
    return out;
  }

  async customerIds(after: string, limit: number): Promise<string[]> {
    return this.db.prepare(`SELECT id FROM customers WHERE id > ? ORDER BY id LIMIT ?`).pluck().all(after, limit) as string[];
  }

  async loadCustomers(ids: readonly string[]): Promise<Map<string, CustomerRecord>> {
    const out = new Map<string, CustomerRecord>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const rows = this.db
        .prepare<string[], CustomerRow>(`SELECT * FROM customers WHERE id IN (${chunk.map(() => '?').join(',')})`)
        .all(...chunk);
      for (const row of rows) out.set(row.id, rowToCustomer(row));
    }
    return out;
  }

  async eventsOf(customerId: string): Promise<StoredEvent[]> {
    return (this.stmts.eventsOf.all(customerId) as Parameters<typeof decodeEventRow>[0][]).map(decodeEventRow);
  }

  async commit(batch: EngineCommit): Promise<void> {
    // Derived state needs atomicity, not an fsync per commit: in WAL mode with synchronous=NORMAL a crash
    // can lose only whole recent commits, and their checkpoint with them, so the processor re-derives the
    // same state from the log. Skipping the fsync keeps a commit from blocking the thread on the disk.
    // The connection's own setting (FULL for ingest on a shared connection) is restored afterwards.
    if ((writes.get(this.db) ?? 0) !== this.writtenAt) this.written.clear();
    const remember = batch.customers.length <= MEMO_COMMIT;
    if (!remember) this.written.clear();
    const memo = new Map<string, WrittenCustomer>();
    try {
      withoutFsync(this.db, () => {
        try {
          this.commitTx(batch, remember ? memo : undefined);
        } catch (err) {
          if (!(err instanceof StaleMemo)) throw err;
          this.written.clear();
          memo.clear();
          this.commitTx(batch, remember ? memo : undefined);
        }
      });
    } catch (err) {
      this.written.clear();
      throw err;
    } finally {
      this.writtenAt = bumpWrites(this.db);
    }
    for (const [id, w] of memo) {
      this.written.delete(id);
      this.written.set(id, w);
    }
    if (this.written.size > MEMO_MAX) {
      let excess = this.written.size - MEMO_MAX;
      for (const id of this.written.keys()) {
        if (excess-- <= 0) break;
        this.written.delete(id);
      }
    }
  }

  /**
   * One commit's transaction. A customer this store committed recently is compared with what it wrote
   * instead of the rows read back; `memo`, when given, collects what this commit writes.
   */
  private commitTx(batch: EngineCommit, memo: Map<string, WrittenCustomer> | undefined): void {
    const s = this.stmts;
    // IMMEDIATE: the commit reads stored rows before it writes, and SQLite does not wait to upgrade a read
    // transaction while the ingest writer thread writes (it fails at once with SQLITE_BUSY[_SNAPSHOT]).
    const tx = this.db.transaction(() => {
      const totals = new TotalsDelta();
      const days = new DailyDeltas();
      for (const m of batch.merges) {
        this.written.delete(m.from);
        this.written.delete(m.into);
        s.insertMerge.run(m.from, m.into, m.at, m.seq);
        s.redirectMerges.run(m.into, m.from);
        s.moveIdentities.run(m.into, m.from);
        s.moveEvents.run(m.into, m.from);
        s.deleteEvents.run(m.from);
        s.moveTypeHistory.run(m.into, m.from);
        s.moveTraitHistory.run(m.into, m.from);
        s.deleteCustomer.run(m.from);
        // The merged-away customer leaves the per-day type counts and the per-type totals; the survivor's
        // change is in typeChanges / its own commit below.
        const gone = s.contribOf.get(m.from) ?? ZERO;
        for (const t of s.typesOf.all(m.from)) {
          days.add(t.lens, dayOf(m.at), t.type, -1);
          totals.add(t.lens, t.type, -1, gone);
        }
        s.deleteContrib.run(m.from);
        s.deleteTypes.run(m.from);
        s.deleteTraits.run(m.from);
      }
      for (const i of batch.identities) s.insertIdentity.run(i.kind, i.value, i.customerId);
      // Key order: neighbouring rows share B-tree pages, so a large batch touches each page once.
      for (const c of [...batch.customers].sort(byId)) {
        // Out with the stored contribution (two keyed lookups), in with the new one; summed per batch.
        const known = this.written.get(c.id);
        const stored = known ? known.contribution : s.contribOf.get(c.id);
        const before = stored ?? ZERO;
        const lensTypes = new Map<string, string>();
        const rows = known ? known.types : s.typeRowsOf.all(c.id);
        for (const t of rows) {
          totals.add(t.lens, t.type, -1, before);
          lensTypes.set(t.lens, t.type);
        }
        // Only what changed is written (same stored values, fewer pages): a live commit touches each
        // customer after one or two events, which rarely change traits, identities or a type.
        const v = customerRowValues(c);
        const cold = known ? known.cold : s.customerCold.get(c.id);
        if (cold && cold.user_id === v[1] && cold.email === v[2] && cold.name === v[3] && cold.anonymous_ids === v[4] &&
          cold.traits === v[5] && cold.trait_times === v[6] && cold.groups_json === v[7]) {
          const r = cold.purchase_days === v[14]
            ? s.updateCustomerHot.run(v[8], v[9], v[10], v[11], v[12], v[13], c.id)
            : s.updateCustomerHotPurchases.run(v[8], v[9], v[10], v[11], v[12], v[13], v[14], c.id);
          // Remembered but gone: something else wrote the tables; roll back and commit reading the rows.
          if (r.changes === 0 && known) throw new StaleMemo();
        } else s.upsertCustomer.run(...v);
        const types = memo ? rows.slice() : undefined;
        const scores: Array<string | number> = [];
        for (const cl of Object.values(c.classifications)) {
          const at = rows.findIndex((r) => r.lens === cl.lens);
          const prev = rows[at];
          if (prev === undefined || prev.type !== cl.type) s.upsertType.run(c.id, cl.lens, cl.type, cl.probability, cl.since);
          else if (prev.probability !== cl.probability || prev.since !== cl.since) scores.push(cl.lens, cl.probability, cl.since);
          if (types) {
            const row = { lens: cl.lens, type: cl.type, probability: cl.probability, since: cl.since };
            if (at < 0) types.push(row);
            else types[at] = row;
          }
        }
        if (scores.length > 0) this.updateTypeScores(scores.length / 3).run(...scores, c.id);
        for (const cl of Object.values(c.classifications)) lensTypes.set(cl.lens, cl.type);
        const after = contributionOf(c.indicators);
        if (!stored || !sameContribution(stored, after)) {
          s.setContrib.run(c.id, after.revenue, after.revenue_365d, after.clv_12m, after.support_contacts, after.emails_delivered);
        }
        for (const [lens, type] of lensTypes) totals.add(lens, type, 1, after);
        if (memo && types) {
          memo.set(c.id, {
            cold: {
              user_id: v[1] as string | null,
              email: v[2] as string | null,
              name: v[3] as string | null,
              anonymous_ids: v[4] as string,
              traits: v[5] as string,
              trait_times: v[6] as string,
              groups_json: v[7] as string,
              purchase_days: v[14] as string | null,
            },
            contribution: after,
            types,
          });
        }
      }
      for (const e of [...batch.eventCustomers].sort(byCustomerThenSeq)) s.insertEventCustomer.run(e.customerId, e.seq);
      for (const t of batch.traitChanges) {
        const value = t.value === undefined ? null : JSON.stringify(t.value);
        s.upsertTrait.run(t.customerId, t.key, traitIndexValue(t.value));
        s.insertTraitHistory.run(t.customerId, t.key, value, t.at, t.seq);
      }
      for (const h of batch.typeChanges) {
        s.insertTypeHistory.run(h.customerId, h.lens, h.from, h.to, h.at, h.seq, h.messageId, h.event);
        if (h.from !== null) days.add(h.lens, dayOf(h.at), h.from, -1);
        days.add(h.lens, dayOf(h.at), h.to, 1);
        // History rows move with merges but are never removed, so these counts need no merge step.
        days.transition(h.lens, dayOf(h.at), h.from ?? '', h.to);
      }
      for (const [lens, day, type, delta] of days.daily.values()) s.addDaily.run(lens, day, type, delta);
      for (const [lens, day, from, to, n] of days.transitions.values()) s.addTransition.run(lens, day, from, to, n);
      for (const [lens, type, d] of totals.entries()) {
        s.addTotals.run(lens, type, d.customers, d.revenue, d.revenue_365d, d.clv_12m, d.support_contacts, d.emails_delivered);
      }
      if (batch.valueState !== undefined) s.setValueState.run(JSON.stringify(batch.valueState));
      s.setCheckpoint.run(batch.checkpoint);
    });
    tx.immediate();
  }

  async loadValueState(): Promise<{ state: unknown; purchases: Array<[string, readonly [number, number, number, number]]> }> {
    const row = this.stmts.valueState.get();
    return {
      state: row ? (JSON.parse(row.state) as unknown) : null,
      purchases: this.stmts.purchases
        .all()
        .map((r) => [r.id, JSON.parse(r.purchase_days) as [number, number, number, number]] as [string, [number, number, number, number]]),
    };
  }

  async reset(): Promise<void> {
    this.written.clear();
    this.writtenAt = bumpWrites(this.db);
    this.db.exec(`
      DELETE FROM customers; DELETE FROM identities; DELETE FROM customer_merges; DELETE FROM customer_events;
      DELETE FROM customer_types; DELETE FROM customer_traits; DELETE FROM type_history; DELETE FROM trait_history;
      DELETE FROM type_daily; DELETE FROM type_totals; DELETE FROM customer_contrib; DELETE FROM transition_daily; DELETE FROM engine_value_state;
      DELETE FROM engine_checkpoint WHERE name = 'processor';`);
    // Consumers (automation) keep their positions: a replay derives the same changes at the same log positions.
  }
}
