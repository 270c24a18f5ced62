/**
 * Lifecycle ground truth, derived from simulated facts (never drawn). Rules, in order of
 * precedence (docs/simulator.md): lapsed, new, at_risk, valued_heavy_user, established.
 */
import type { LifecycleType } from './latent-model';

const DAY = 86_400_000;

/** Thresholds of the lifecycle rules (days and shares). */
export const LIFECYCLE_RULES = {
  lapsedAfterDays: 120,
  newWithinDays: 60,
  riskWindowDays: 90,
  riskComplaints: 1,
  riskNegativeStatements: 2,
  /** A dropped-out customer (latent, BG/NBD) silent for more than this is dropping. */
  droppedOutSilenceDays: 30,
  /** Silence (days since the last order) that counts as dropping for anyone (below `lapsedAfterDays`). */
  longSilenceDays: 90,
  heavyUserShare: 0.2,
} as const;

/** The simulated facts of one customer the lifecycle is derived from (times in epoch ms, ascending). */
export interface LifecycleFacts {
  orderTimes: readonly number[];
  /** Money movements: order revenue (positive) and refunds (negative), with their times. */
  moneyTimes: readonly number[];
  moneyAmounts: readonly number[];
  complaintTimes: readonly number[];
  switchingTimes: readonly number[];
  negativeTimes: readonly number[];
  /** When the customer dropped out (latent), or Infinity. */
  droppedOutAt: number;
}

/** Facts reduced to what the rules need, as of time `t`. */
export interface LifecycleSnapshot {
  hasOrder: boolean;
  firstOrder: number;
  lastOrder: number;
  revenue365: number;
  complaints90: number;
  switching90: number;
  negative90: number;
  orders: number;
  /** Mean gap between orders (ms); 0 with fewer than two orders. */
  meanGap: number;
  /** Latent dropout has happened by `t`. */
  droppedOut: boolean;
}

function countIn(times: readonly number[], from: number, to: number): number {
  let n = 0;
  for (let i = times.length - 1; i >= 0; i--) {
    const x = times[i] as number;
    if (x > to) continue;
    if (x < from) break;
    n++;
  }
  return n;
}

/** Reduces a customer's facts to a snapshot at time `t` (facts after `t` are ignored). */
export function snapshotAt(facts: LifecycleFacts, t: number): LifecycleSnapshot {
  let first = Infinity;
  let last = -Infinity;
  let orders = 0;
  for (const x of facts.orderTimes) {
    if (x > t) break;
    if (x < first) first = x;
    last = x;
    orders++;
  }
  let revenue365 = 0;
  for (let i = 0; i < facts.moneyTimes.length; i++) {
    const x = facts.moneyTimes[i] as number;
    if (x > t) break;
    if (x > t - 365 * DAY) revenue365 += facts.moneyAmounts[i] as number;
  }
  const from = t - LIFECYCLE_RULES.riskWindowDays * DAY;
  return {
    hasOrder: first !== Infinity,
    firstOrder: first,
    lastOrder: last,
    revenue365,
    complaints90: countIn(facts.complaintTimes, from, t),
    switching90: countIn(facts.switchingTimes, from, t),
    negative90: countIn(facts.negativeTimes, from, t),
    orders,
    meanGap: orders >= 2 ? (last - first) / (orders - 1) : 0,
    droppedOut: facts.droppedOutAt <= t,
  };
}

/**
 * Dropping: dropped out (the latent BG/NBD death, which also makes engagement fade) and silent for
 * more than 30 days, or silent for more than 90 days whatever the latent state.
 */
export function isDropping(s: LifecycleSnapshot, t: number): boolean {
  const R = LIFECYCLE_RULES;
  const silence = t - s.lastOrder;
  return (s.droppedOut && silence > R.droppedOutSilenceDays * DAY) || silence > R.longSilenceDays * DAY;
}

/**
 * Lifecycle stage of every customer at time `t`. Customers without an order by `t` get null
 * (they are not customers yet). The heavy-user threshold is the top share by 365-day revenue
 * among all non-lapsed customers.
 */
export function lifecyclesAt(snapshots: readonly LifecycleSnapshot[], t: number): (LifecycleType | null)[] {
  const R = LIFECYCLE_RULES;
  const isLapsed = (s: LifecycleSnapshot) => t - s.lastOrder > R.lapsedAfterDays * DAY;
  const active = snapshots.filter((s) => s.hasOrder && !isLapsed(s)).map((s) => s.revenue365);
  active.sort((a, b) => b - a);
  const k = Math.max(1, Math.floor(active.length * R.heavyUserShare));
  const threshold = active.length ? (active[k - 1] as number) : Infinity;
  return snapshots.map((s) => {
    if (!s.hasOrder) return null;
    if (isLapsed(s)) return 'lapsed';
    if (t - s.firstOrder <= R.newWithinDays * DAY) return 'new';
    if (
      s.complaints90 >= R.riskComplaints ||
      s.switching90 >= 1 ||
      s.negative90 >= R.riskNegativeStatements ||
      isDropping(s, t)
    ) {
      return 'at_risk';
    }
    if (s.revenue365 >= threshold && s.revenue365 > 0) return 'valued_heavy_user';
    return 'established';
  });
}
