import { CUE_NAMES, type Indicators } from '../domain/indicator-catalogue';
import { ValidationError } from '../domain/errors';
import { hashString } from '../domain/random';
import { KIND, type CanonicalEvent } from './event-kind';

/**
 * Incremental per-customer indicator state: a fixed-layout record per customer in a shared slab, seen as a
 * Float64Array (times, money, decayed sums) and a Float32Array (week-bucket counts, histograms).
 * Every update is O(1); time windows and decay use event time only. The state is a pure function
 * of the sequence of events applied, so replaying the log from scratch or from a checkpoint
 * ({@link encodeState} / {@link decodeState}) gives byte-identical state.
 * Formulas, windows and approximations: docs/indicators.md.
 */

/** Milliseconds per day. */
export const DAY_MS = 86_400_000;
/** Milliseconds per week (ring bucket width). */
export const WEEK_MS = 7 * DAY_MS;

/** Half-lives of the decayed quantities (ms). */
const HL_EMAIL = 90 * DAY_MS;
const HL_SENT = 60 * DAY_MS;
const HL_SENT_SHORT = 30 * DAY_MS;
const HL_CUE = 180 * DAY_MS;
/** A promotional message counts as answered by an order within this time. */
const PROMO_WINDOW = 7 * DAY_MS;

/** Statement cue names, in state order (the statement analyser's `cues` keys). */
export { CUE_NAMES };

// ---- layout ----------------------------------------------------------------------------------
// Float64 slots: times, money, sentiment sums (need full precision).
let n64 = 0;
const d = (n = 1) => {
  const at = n64;
  n64 += n;
  return at;
};
const FIRST_T = d();
const LAST_T = d(); // latest event time: ring head and decay reference
const FIRST_ORDER_T = d();
const LAST_ORDER_T = d();
const GAP_SUM = d(); // inter-purchase-day gaps (days)
const GAP_SQ = d();
const ORDER_REV = d(); // gross revenue of completed orders
const FIRST_DAY_REV = d(); // revenue on the first purchase day (for repeat-transaction value)
const NET_REV = d(); // orders minus refunds, whole history
const NPS_T = d();
const SENT_SUM = d(); // all-time sentiment sum
const EMAIL_REF = d(); // reference time of the decayed email sums
const D_DELIVERED = d(); // decayed (HL_EMAIL)
const D_OPENED = d();
const D_CLICKED = d();
const STMT_REF = d(); // reference time of the decayed statement sums and cues
const S60 = d(); // decayed sentiment sum / weight (HL_SENT)
const W60 = d();
const S30 = d(); // same, HL_SENT_SHORT
const W30 = d();
const UNSUB_T = d();
const PENDING_FIRST_T = d();
const PENDING_LAST_T = d();
const MEMBER_T = d(); // time of the latest membership event
const MEMBER_START_T = d();
const MON_RING = 13; // 4-week periods of net revenue
const MON = d(MON_RING);
const F64_SLOTS = n64;

// Float32 slots: counts (exact up to 2^24), flags, ring buckets, histograms, decayed cue counts.
let n32 = 0;
const c = (n = 1) => {
  const at = n32;
  n32 += n;
  return at;
};
const INIT = c(); // 1 once any event/statement was applied
const ORDERS = c();
const PURCHASE_DAYS = c();
const GAP_N = c();
const DISCOUNTED = c();
const REFUNDS = c();
const SUPPORT = c();
const AGENT = c();
const SELF_SERVICE = c();
const COMPLAINTS = c();
const COMMUNITY = c();
const REVIEWS = c();
const IDEAS = c();
const REFERRALS = c();
const SURVEYS = c();
const NPS = c(); // latest answer + 1 (0 = never answered)
const STATEMENTS = c();
const PUBLIC_STATEMENTS = c();
const DELIVERED = c();
const UNSUB = c();
const PROMOS = c();
const PROMO_HITS = c();
const PENDING = c(); // promotional deliveries not yet followed by an order
const DEDICATED = c();
const MEMBER = c();
const CONTRACT = c();
const HOUR_MODE = c(); // 0: hours of any engagement, 1: hours of email opens/clicks only
const CAT_N = c(); // exact distinct categories (while <= CAT_EXACT)
const CAT_OVER = c(); // 1 once more than CAT_EXACT distinct categories were seen
const CAT_EXACT = 8;
const CAT_SET = c(CAT_EXACT); // 24-bit category hashes + 1 (0 = empty)
const CAT_WORDS = 16; // 256-bit linear-counting bitmap, 16 bits per slot
const CAT_BITS = c(CAT_WORDS);
const CUES = c(CUE_NAMES.length); // decayed (HL_CUE)
const ORD_RING = 26; // weekly orders: 13 for frequency_90d + 13 before them for the trend
const W_RING = 13; // weekly rings for the other 90-day counts
const ORD_W = c(ORD_RING);
const SUP_W = c(W_RING);
const CMP_W = c(W_RING);
const AUT_W = c(W_RING);
const COM_W = c(W_RING);
const ENG_W = c(W_RING);
const QUARTERS = c(4);
const HOURS = c(24);
/** Bytes per state, rounded up to a multiple of 8 so Float64 views stay aligned. */
const STRIDE = Math.ceil((F64_SLOTS * 8 + n32 * 4) / 8) * 8;

/** Bytes of numeric state per customer (excluding the small JS object that points into a slab). */
export const STATE_PAYLOAD_BYTES = STRIDE;

/**
 * Indicator state of one customer: a window of a shared slab (many customers per ArrayBuffer,
 * so the per-customer overhead is one small object). Treat as opaque; use this module's functions.
 */
export interface IndicatorState {
  /** Float64 view of the slab; this state's slots start at `o`. */
  readonly f: Float64Array;
  /** Float32 view of the slab; this state's slots start at `q`. */
  readonly g: Float32Array;
  readonly o: number;
  readonly q: number;
}

/** States per slab (one ArrayBuffer of SLAB_STATES * STRIDE bytes). */
const SLAB_STATES = 256;

/** One ArrayBuffer of states, seen both ways. */
interface Slab {
  readonly f: Float64Array;
  readonly g: Float32Array;
  used: number;
}

/**
 * A state as two fields (its slab and offset) with the views and the Float32 offset derived: a
 * million cached customers hold a million of these, so every field counts.
 */
class SlabState implements IndicatorState {
  constructor(
    private readonly s: Slab,
    readonly o: number,
  ) {}
  get f(): Float64Array {
    return this.s.f;
  }
  get g(): Float32Array {
    return this.s.g;
  }
  get q(): number {
    return this.o * 2 + F64_SLOTS * 2;
  }
}

let slab: Slab | null = null;
/** Released states, zeroed, ready for reuse (so a cache that evicts and reloads does not grow). */
const free: IndicatorState[] = [];
/** INIT value of a released state (guards against releasing twice). */
const RELEASED = -1;

/** Takes a zeroed state: a released one, else the next one of the current slab (a new slab when full). */
function allocate(): IndicatorState {
  const reused = free.pop();
  if (reused !== undefined) {
    reused.g[reused.q + INIT] = 0;
    return reused;
  }
  if (slab === null || slab.used === SLAB_STATES) {
    const buf = new ArrayBuffer(SLAB_STATES * STRIDE);
    slab = { f: new Float64Array(buf), g: new Float32Array(buf), used: 0 };
  }
  const i = slab.used++;
  return new SlabState(slab, (i * STRIDE) / 8);
}

/**
 * Gives a state's memory back for reuse by later create/clone/decode calls (e.g. when a customer
 * leaves the processor's cache). The state must not be used afterwards; releasing twice is a no-op.
 */
export function releaseIndicatorState(state: IndicatorState): void {
  if (state.g[state.q + INIT] === RELEASED) return;
  bytesOf(state).fill(0);
  state.g[state.q + INIT] = RELEASED;
  free.push(state);
}

/** The state's bytes (a view, not a copy). */
function bytesOf(s: IndicatorState): Uint8Array {
  return new Uint8Array(s.f.buffer, s.o * 8, STRIDE);
}

/** A fresh, empty state. */
export function createIndicatorState(): IndicatorState {
  return allocate();
}

/** An independent copy. */
export function cloneState(state: IndicatorState): IndicatorState {
  const copy = allocate();
  bytesOf(copy).set(bytesOf(state));
  return copy;
}

// ---- time --------------------------------------------------------------------------------------
const mod = (a: number, m: number) => {
  const r = a % m;
  return r < 0 ? r + m : r;
};
const weekOf = (t: number) => Math.floor(t / WEEK_MS);
const periodOfWeek = (w: number) => Math.floor(w / 4);
const dayOf = (t: number) => Math.floor(t / DAY_MS);

/**
 * Moves the state's clock to `t` when later: clears ring buckets that fall out of the rings.
 * (Decayed sums keep their own reference time and are decayed only when touched.)
 */
function advance(s: IndicatorState, t: number): void {
  const F = s.f;
  const G = s.g;
  const o = s.o;
  const q = s.q;
  if (G[q + INIT] === 0) {
    G[q + INIT] = 1;
    F[o + FIRST_T] = t;
    F[o + LAST_T] = t;
    return;
  }
  const last = F[o + LAST_T] as number;
  if (t < (F[o + FIRST_T] as number)) F[o + FIRST_T] = t;
  if (t <= last) return;
  const w0 = weekOf(last);
  const w1 = weekOf(t);
  const weeks = w1 - w0;
  if (weeks > 0) {
    // The ring blocks ORD_W..ENG_W are contiguous: long silences clear them in one fill.
    if (weeks >= ORD_RING) G.fill(0, q + ORD_W, q + ENG_W + W_RING);
    else {
      for (let w = w0 + 1; w <= w1; w++) G[q + ORD_W + mod(w, ORD_RING)] = 0;
      if (weeks >= W_RING) G.fill(0, q + SUP_W, q + ENG_W + W_RING);
      else {
        for (let w = w0 + 1; w <= w1; w++) {
          const k = q + mod(w, W_RING);
          G[k + SUP_W] = 0;
          G[k + CMP_W] = 0;
          G[k + AUT_W] = 0;
          G[k + COM_W] = 0;
          G[k + ENG_W] = 0;
        }
      }
    }
    const p0 = periodOfWeek(w0);
    const p1 = periodOfWeek(w1);
    if (p1 - p0 >= MON_RING) F.fill(0, o + MON, o + MON + MON_RING);
    else for (let p = p0 + 1; p <= p1; p++) F[o + MON + mod(p, MON_RING)] = 0;
  }
  F[o + LAST_T] = t;
}

/** Adds `v` to the week bucket of `t` in a ring of `size` weeks, when the week is still in the ring. */
function addWeek(s: IndicatorState, off: number, size: number, t: number, v: number): void {
  const w = weekOf(t);
  if (weekOf(s.f[s.o + LAST_T] as number) - w < size) {
    const i = s.q + off + mod(w, size);
    s.g[i] = (s.g[i] as number) + v;
  }
}

/** Adds `v` to the 4-week revenue period of `t`, when the period is still in the ring. */
function addPeriod(s: IndicatorState, t: number, v: number): void {
  const p = periodOfWeek(weekOf(t));
  if (periodOfWeek(weekOf(s.f[s.o + LAST_T] as number)) - p < MON_RING) {
    const i = s.o + MON + mod(p, MON_RING);
    s.f[i] = (s.f[i] as number) + v;
  }
}

/**
 * Adds `v` at time `t` to decayed email sum `slot`: a later `t` first decays the group
 * (D_DELIVERED, D_OPENED, D_CLICKED) to `t`; an earlier one is weighted down instead.
 */
function addEmail(s: IndicatorState, slot: number, t: number): void {
  const F = s.f;
  const o = s.o;
  const ref = F[o + EMAIL_REF] as number;
  if (t > ref) {
    const e = Math.pow(2, -(t - ref) / HL_EMAIL);
    F[o + D_DELIVERED] = (F[o + D_DELIVERED] as number) * e;
    F[o + D_OPENED] = (F[o + D_OPENED] as number) * e;
    F[o + D_CLICKED] = (F[o + D_CLICKED] as number) * e;
    F[o + EMAIL_REF] = t;
    F[o + slot] = (F[o + slot] as number) + 1;
  } else F[o + slot] = (F[o + slot] as number) + Math.pow(2, -(ref - t) / HL_EMAIL);
}

/** Decays the statement group (S60/W60, S30/W30, cues) to `t` when `t` is later than its reference. */
function decayStatements(s: IndicatorState, t: number): void {
  const F = s.f;
  const o = s.o;
  const ref = F[o + STMT_REF] as number;
  if (t <= ref) return;
  const dt = t - ref;
  const s60 = Math.pow(2, -dt / HL_SENT);
  F[o + S60] = (F[o + S60] as number) * s60;
  F[o + W60] = (F[o + W60] as number) * s60;
  const s30 = Math.pow(2, -dt / HL_SENT_SHORT);
  F[o + S30] = (F[o + S30] as number) * s30;
  F[o + W30] = (F[o + W30] as number) * s30;
  const cd = Math.pow(2, -dt / HL_CUE);
  const G = s.g;
  for (let i = s.q + CUES; i < s.q + CUES + CUE_NAMES.length; i++) G[i] = (G[i] as number) * cd;
  F[o + STMT_REF] = t;
}

function inc(a: Float64Array | Float32Array, i: number, v = 1): void {
  a[i] = (a[i] as number) + v;
}

// ---- events ------------------------------------------------------------------------------------

function applyOrder(s: IndicatorState, ev: CanonicalEvent): void {
  const F = s.f;
  const G = s.g;
  const o = s.o;
  const q = s.q;
  const t = ev.t;
  const rev = Number.isFinite(ev.revenue) ? ev.revenue : 0;
  const day = dayOf(t);
  if (G[q + ORDERS] === 0) {
    F[o + FIRST_ORDER_T] = t;
    F[o + LAST_ORDER_T] = t;
    G[q + PURCHASE_DAYS] = 1;
    F[o + FIRST_DAY_REV] = rev;
  } else {
    const fd = dayOf(F[o + FIRST_ORDER_T] as number);
    const ld = dayOf(F[o + LAST_ORDER_T] as number);
    if (day > ld) {
      addGap(s, day - ld);
      inc(G, q + PURCHASE_DAYS);
      F[o + LAST_ORDER_T] = t;
    } else if (day < fd) {
      addGap(s, fd - day);
      inc(G, q + PURCHASE_DAYS);
      F[o + FIRST_ORDER_T] = t;
      F[o + FIRST_DAY_REV] = rev;
    } else if (day === ld || day === fd) {
      if (t > (F[o + LAST_ORDER_T] as number)) F[o + LAST_ORDER_T] = t;
      if (t < (F[o + FIRST_ORDER_T] as number)) F[o + FIRST_ORDER_T] = t;
      if (day === fd) inc(F, o + FIRST_DAY_REV, rev);
    } else {
      // A late order between the first and last purchase day: assumed to be a new purchase day;
      // the gap dispersion is left as it was (we do not know which gap it splits).
      inc(G, q + PURCHASE_DAYS);
    }
  }
  inc(G, q + ORDERS);
  inc(F, o + ORDER_REV, rev);
  inc(F, o + NET_REV, rev);
  addPeriod(s, t, rev);
  addWeek(s, ORD_W, ORD_RING, t, 1);
  if (ev.discount > 0 || ev.coupon !== null) inc(G, q + DISCOUNTED);
  inc(G, q + QUARTERS + Math.floor(new Date(t).getUTCMonth() / 3));
  for (const cat of ev.categories) addCategory(s, cat);
  // Promotional messages answered by this order.
  const pending = G[q + PENDING] as number;
  if (pending > 0 && t >= (F[o + PENDING_LAST_T] as number)) {
    if (t - (F[o + PENDING_FIRST_T] as number) <= PROMO_WINDOW) inc(G, q + PROMO_HITS, pending);
    else if (t - (F[o + PENDING_LAST_T] as number) <= PROMO_WINDOW) inc(G, q + PROMO_HITS);
    G[q + PENDING] = 0;
  }
}

function addGap(s: IndicatorState, gap: number): void {
  inc(s.f, s.o + GAP_SUM, gap);
  inc(s.f, s.o + GAP_SQ, gap * gap);
  inc(s.g, s.q + GAP_N);
}

function addCategory(s: IndicatorState, category: string): void {
  const G = s.g;
  const q = s.q;
  const h = hashString(category);
  const bit = h & 255;
  const word = q + CAT_BITS + (bit >>> 4);
  G[word] = (G[word] as number) | (1 << (bit & 15));
  if (G[q + CAT_OVER] === 1) return;
  const key = ((h >>> 8) & 0xffffff) + 1; // 24 bits fit a Float32 exactly
  const n = G[q + CAT_N] as number;
  for (let i = 0; i < n; i++) if (G[q + CAT_SET + i] === key) return;
  if (n < CAT_EXACT) {
    G[q + CAT_SET + n] = key;
    G[q + CAT_N] = n + 1;
  } else G[q + CAT_OVER] = 1;
}

function applyPromoDelivery(s: IndicatorState, t: number): void {
  const F = s.f;
  const G = s.g;
  const o = s.o;
  const q = s.q;
  inc(G, q + PROMOS);
  const lastOrder = F[o + LAST_ORDER_T] as number;
  if ((G[q + ORDERS] as number) > 0 && lastOrder >= t) {
    // Late delivery: answered when an order already followed within the window.
    if (lastOrder - t <= PROMO_WINDOW) inc(G, q + PROMO_HITS);
    return;
  }
  if (G[q + PENDING] === 0) {
    F[o + PENDING_FIRST_T] = t;
    F[o + PENDING_LAST_T] = t;
  } else {
    if (t < (F[o + PENDING_FIRST_T] as number)) F[o + PENDING_FIRST_T] = t;
    if (t > (F[o + PENDING_LAST_T] as number)) F[o + PENDING_LAST_T] = t;
  }
  inc(G, q + PENDING);
}

function addHour(s: IndicatorState, hour: number, email: boolean): void {
  if (hour < 0 || hour > 23) return;
  const G = s.g;
  const q = s.q;
  if (email && G[q + HOUR_MODE] === 0) {
    // First email engagement: from now on only opens/clicks decide the send hour.
    G[q + HOUR_MODE] = 1;
    G.fill(0, q + HOURS, q + HOURS + 24);
  } else if (!email && G[q + HOUR_MODE] === 1) return;
  inc(G, q + HOURS + hour);
}

/**
 * "Latest wins" for state set by dated events (nps, subscription, membership): an event applies
 * when it is not older than the one that set the value (ties: log order, later wins).
 */
function isLatest(F: Float64Array, i: number, t: number, isSet: boolean): boolean {
  return !isSet || t >= (F[i] as number);
}

/**
 * Applies one canonical event. O(1). identify/group/alias change nothing (traits are read from
 * the profile). Events are bucketed by their own time; events older than a ring only reach the
 * all-time figures (docs/indicators.md, "Out-of-order events").
 */
export function applyEvent(state: IndicatorState, ev: CanonicalEvent): void {
  const k = ev.kind;
  if (k === KIND.identify || k === KIND.group || k === KIND.alias) return;
  const t = ev.t;
  if (!Number.isFinite(t)) return;
  advance(state, t);
  const F = state.f;
  const G = state.g;
  const o = state.o;
  const q = state.q;
  switch (k) {
    case KIND.orderCompleted:
      applyOrder(state, ev);
      break;
    case KIND.orderRefunded: {
      const amount = Number.isFinite(ev.revenue) ? ev.revenue : 0;
      inc(G, q + REFUNDS);
      inc(F, o + NET_REV, -amount);
      addPeriod(state, t, -amount);
      break;
    }
    case KIND.emailDelivered:
      inc(G, q + DELIVERED);
      addEmail(state, D_DELIVERED, t);
      if (ev.promotional) applyPromoDelivery(state, t);
      break;
    case KIND.emailOpened:
      addEmail(state, D_OPENED, t);
      addWeek(state, ENG_W, W_RING, t, 1);
      addHour(state, ev.hour, true);
      break;
    case KIND.emailLinkClicked:
      addEmail(state, D_CLICKED, t);
      addWeek(state, ENG_W, W_RING, t, 1);
      addHour(state, ev.hour, true);
      break;
    case KIND.page:
    case KIND.screen:
    case KIND.productViewed:
    case KIND.productAdded:
    case KIND.productsSearched:
      addWeek(state, ENG_W, W_RING, t, 1);
      addHour(state, ev.hour, false);
      break;
    case KIND.emailMarkedAsSpam:
    case KIND.unsubscribed:
    case KIND.subscribed:
      // UNSUB: 0 never set, 1 subscribed, 2 unsubscribed.
      if (isLatest(F, o + UNSUB_T, t, G[q + UNSUB] !== 0)) {
        G[q + UNSUB] = k === KIND.subscribed ? 1 : 2;
        F[o + UNSUB_T] = t;
      }
      break;
    case KIND.supportTicketCreated:
      inc(G, q + SUPPORT);
      addWeek(state, SUP_W, W_RING, t, 1);
      inc(G, q + (ev.agent ? AGENT : SELF_SERVICE));
      break;
    case KIND.selfServiceUsed:
      inc(G, q + SELF_SERVICE);
      break;
    case KIND.complaintFiled:
      inc(G, q + COMPLAINTS);
      addWeek(state, CMP_W, W_RING, t, 1);
      break;
    case KIND.surveyAnswered:
      inc(G, q + SURVEYS);
      if (ev.nps >= 0 && isLatest(F, o + NPS_T, t, G[q + NPS] !== 0)) {
        G[q + NPS] = ev.nps + 1;
        F[o + NPS_T] = t;
      }
      break;
    case KIND.reviewSubmitted:
      inc(G, q + REVIEWS);
      break;
    case KIND.communityPostCreated:
      inc(G, q + COMMUNITY);
      addWeek(state, COM_W, W_RING, t, 1);
      break;
    case KIND.ideaSubmitted:
      inc(G, q + IDEAS);
      break;
    case KIND.referralSent:
      inc(G, q + REFERRALS);
      break;
    case KIND.recommendationClicked:
      addWeek(state, AUT_W, W_RING, t, 1);
      break;
    case KIND.accountManagerAssigned:
      G[q + DEDICATED] = 1;
      break;
    case KIND.membershipStarted:
    case KIND.membershipCancelled:
      // MEMBER: 0 never set, 1 cancelled, 2 active.
      if (isLatest(F, o + MEMBER_T, t, G[q + MEMBER] !== 0)) {
        if (k === KIND.membershipStarted) {
          if (G[q + MEMBER] !== 2) F[o + MEMBER_START_T] = t;
          G[q + MEMBER] = 2;
          G[q + CONTRACT] = ev.contract ? 1 : 0;
        } else {
          G[q + MEMBER] = 1;
          G[q + CONTRACT] = 0;
        }
        F[o + MEMBER_T] = t;
      }
      break;
    default:
      break; // activity only
  }
}

/** The statement analyser's result for one statement. */
export interface StatementInput {
  t: number;
  /** -1..1 */
  sentiment: number;
  cues: Record<string, number>;
  public: boolean;
}

/** Applies one analysed statement (sentiment and cue counts). O(1). */
export function applyStatement(state: IndicatorState, s: StatementInput): void {
  if (!Number.isFinite(s.t)) return;
  advance(state, s.t);
  const F = state.f;
  const G = state.g;
  const o = state.o;
  const q = state.q;
  const sent = Number.isFinite(s.sentiment) ? Math.max(-1, Math.min(1, s.sentiment)) : 0;
  inc(G, q + STATEMENTS);
  if (s.public) inc(G, q + PUBLIC_STATEMENTS);
  inc(F, o + SENT_SUM, sent);
  decayStatements(state, s.t);
  const late = (F[o + STMT_REF] as number) - s.t; // > 0 for a late statement
  const w60 = late > 0 ? Math.pow(2, -late / HL_SENT) : 1;
  inc(F, o + S60, w60 * sent);
  inc(F, o + W60, w60);
  const w30 = late > 0 ? Math.pow(2, -late / HL_SENT_SHORT) : 1;
  inc(F, o + S30, w30 * sent);
  inc(F, o + W30, w30);
  const wc = late > 0 ? Math.pow(2, -late / HL_CUE) : 1;
  for (let i = 0; i < CUE_NAMES.length; i++) {
    const v = s.cues[CUE_NAMES[i] as string];
    if (typeof v === 'number' && v > 0 && Number.isFinite(v)) inc(G, q + CUES + i, wc * v);
  }
}

// ---- reading -------------------------------------------------------------------------------------

/** Value-model outputs (src/value), passed in when known. */
export interface ValueInputs {
  pAlive: number;
  expectedPurchases90d: number;
  clv12m: number;
  heavyUser: boolean;
}

/** What {@link readIndicators} needs besides the state. */
export interface ReadContext {
  /** Read as of this time (ms); default: the customer's latest event time (deterministic). */
  asOf?: number;
  /** Profile traits (after mapping): share_of_wallet, account_manager, contract, acquisition_channel. */
  traits?: Record<string, unknown>;
  /** Value-model outputs; the value indicators are -1 without them. */
  value?: ValueInputs;
}

/** Sum of week buckets for weeks in [lo, hi] that are still in the ring. */
function sumWeeks(s: IndicatorState, off: number, size: number, lo: number, hi: number): number {
  const head = weekOf(s.f[s.o + LAST_T] as number);
  const from = Math.max(lo, head - size + 1);
  const to = Math.min(hi, head);
  if (to < from) return 0;
  const G = s.g;
  const base = s.q + off;
  let i = mod(from, size);
  let sum = 0;
  for (let n = to - from; n >= 0; n--) {
    sum += G[base + i] as number;
    if (++i === size) i = 0;
  }
  return sum;
}

function sumPeriods(s: IndicatorState, lo: number, hi: number): number {
  const head = periodOfWeek(weekOf(s.f[s.o + LAST_T] as number));
  const from = Math.max(lo, head - MON_RING + 1);
  const to = Math.min(hi, head);
  if (to < from) return 0;
  const F = s.f;
  const base = s.o + MON;
  let i = mod(from, MON_RING);
  let sum = 0;
  for (let n = to - from; n >= 0; n--) {
    sum += F[base + i] as number;
    if (++i === MON_RING) i = 0;
  }
  return sum;
}

function popcount16(x: number): number {
  let n = 0;
  for (let v = x & 0xffff; v !== 0; v &= v - 1) n++;
  return n;
}

function categoryBreadth(s: IndicatorState): number {
  const G = s.g;
  const q = s.q;
  if (G[q + CAT_OVER] === 0) return G[q + CAT_N] as number;
  let k = 0;
  for (let i = 0; i < CAT_WORDS; i++) k += popcount16(G[q + CAT_BITS + i] as number);
  const m = CAT_WORDS * 16;
  const est = k >= m ? m * Math.log(m) : -m * Math.log(1 - k / m);
  return Math.max(CAT_EXACT + 1, Math.round(est));
}

const wholeDays = (ms: number) => Math.max(0, Math.floor(ms / DAY_MS));
const share = (a: number, b: number) => (b > 0 ? Math.min(1, a / b) : -1);

function truthy(v: unknown): boolean {
  if (typeof v === 'string') return v.trim() !== '' && v !== 'false' && v !== '0';
  if (typeof v === 'number') return v !== 0 && Number.isFinite(v);
  return v === true || (v !== null && typeof v === 'object');
}

const PARTNER_CHANNELS = new Set(['partner', 'bundle', 'employer']);
const NO_TRAITS: Record<string, unknown> = Object.freeze({});
const NO_CONTEXT: ReadContext = Object.freeze({});

function shareOfWallet(v: unknown): number {
  if (v === undefined || v === null || v === '') return -1;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) return -1;
  return n > 1 ? Math.min(1, n / 100) : n; // 0..1, or a percentage
}

/**
 * All catalogue indicators (src/domain/indicator-catalogue.ts) as of `ctx.asOf` (default: the
 * customer's latest event time). Unknown values use the sentinels of docs/indicators.md (-1).
 * Pass `out` to reuse an object on hot paths.
 */
export function readIndicators(state: IndicatorState, ctx: ReadContext = NO_CONTEXT, out: Indicators = {}): Indicators {
  const F = state.f;
  const G = state.g;
  const o = state.o;
  const q = state.q;
  const init = G[q + INIT] === 1;
  const last = F[o + LAST_T] as number;
  const asOf = ctx.asOf ?? (init ? last : 0);
  const traits = ctx.traits ?? NO_TRAITS;
  const orders = G[q + ORDERS] as number;
  const A = weekOf(asOf);

  // transactions
  out['recency_days'] = orders > 0 ? wholeDays(asOf - (F[o + LAST_ORDER_T] as number)) : -1;
  const freq = sumWeeks(state, ORD_W, ORD_RING, A - 12, A);
  out['frequency_90d'] = freq;
  out['orders_total'] = orders;
  out['monetary_365d'] = sumPeriods(state, periodOfWeek(A) - 12, periodOfWeek(A));
  out['revenue_total'] = F[o + NET_REV] as number;
  out['avg_order_value'] = orders > 0 ? (F[o + ORDER_REV] as number) / orders : -1;
  out['tenure_days'] = init ? wholeDays(asOf - (F[o + FIRST_T] as number)) : -1;
  out['days_since_first_order'] = orders > 0 ? wholeDays(asOf - (F[o + FIRST_ORDER_T] as number)) : -1;
  let regularity = 0;
  const gapN = G[q + GAP_N] as number;
  if ((G[q + PURCHASE_DAYS] as number) >= 3 && gapN >= 2) {
    const mean = (F[o + GAP_SUM] as number) / gapN;
    const variance = Math.max(0, (F[o + GAP_SQ] as number) / gapN - mean * mean);
    regularity = mean > 0 ? Math.min(1, Math.max(0, 1 - Math.sqrt(variance) / mean)) : 0;
  }
  out['purchase_regularity'] = regularity;
  const prev = sumWeeks(state, ORD_W, ORD_RING, A - 25, A - 13);
  out['frequency_trend'] = (freq + 1) / (prev + 1);
  out['category_breadth'] = categoryBreadth(state);
  out['discount_share'] = share(G[q + DISCOUNTED] as number, orders);
  out['return_rate'] = share(G[q + REFUNDS] as number, orders);
  let season = -1;
  if (orders >= 3) {
    let max = 0;
    let total = 0;
    for (let i = q + QUARTERS; i < q + QUARTERS + 4; i++) {
      const n = G[i] as number;
      total += n;
      if (n > max) max = n;
    }
    season = total > 0 ? max / total : -1;
  }
  out['seasonality'] = season;
  out['share_of_wallet'] = shareOfWallet(traits['share_of_wallet']);

  // value
  const v = ctx.value;
  out['heavy_user'] = v ? (v.heavyUser ? 1 : 0) : -1;
  out['p_alive'] = v ? v.pAlive : -1;
  out['expected_purchases_90d'] = v ? v.expectedPurchases90d : -1;
  out['clv_12m'] = v ? v.clv12m : -1;

  // service
  const support = G[q + SUPPORT] as number;
  const agent = G[q + AGENT] as number;
  const self = G[q + SELF_SERVICE] as number;
  out['support_contacts_90d'] = sumWeeks(state, SUP_W, W_RING, A - 12, A);
  out['support_contacts_total'] = support;
  out['complaints_90d'] = sumWeeks(state, CMP_W, W_RING, A - 12, A);
  out['complaint_rate'] = (G[q + COMPLAINTS] as number) / Math.max(1, orders);
  out['self_service_ratio'] = self + agent > 0 ? self / (self + agent) : -1;
  out['agent_contact_share'] = support > 0 ? agent / support : -1;
  out['dedicated_contact'] = G[q + DEDICATED] === 1 || truthy(traits['account_manager']) ? 1 : 0;
  out['automation_uses_90d'] = sumWeeks(state, AUT_W, W_RING, A - 12, A);

  // community
  const statements = G[q + STATEMENTS] as number;
  out['community_posts_90d'] = sumWeeks(state, COM_W, W_RING, A - 12, A);
  out['community_posts_total'] = G[q + COMMUNITY] as number;
  out['reviews_written'] = G[q + REVIEWS] as number;
  out['ideas_submitted'] = G[q + IDEAS] as number;
  out['referrals'] = G[q + REFERRALS] as number;
  out['public_statement_share'] = statements > 0 ? (G[q + PUBLIC_STATEMENTS] as number) / statements : -1;

  // communication
  const dOpen = F[o + D_OPENED] as number;
  const denom = Math.max(F[o + D_DELIVERED] as number, dOpen);
  out['emails_delivered'] = G[q + DELIVERED] as number;
  out['email_open_rate'] = denom > 0 ? Math.min(1, dOpen / denom) : -1;
  out['email_click_rate'] = denom > 0 ? Math.min(1, (F[o + D_CLICKED] as number) / denom) : -1;
  out['unsubscribed'] = G[q + UNSUB] === 2 ? 1 : 0;
  out['promo_response_rate'] = share(G[q + PROMO_HITS] as number, G[q + PROMOS] as number);
  let best = -1;
  let bestCount = 0;
  for (let h = 0; h < 24; h++) {
    const n = G[q + HOURS + h] as number;
    if (n > bestCount) {
      bestCount = n;
      best = h;
    }
  }
  out['best_send_hour'] = best;
  out['engagement_90d'] = sumWeeks(state, ENG_W, W_RING, A - 12, A);

  // statements
  const longMean = statements > 0 ? (F[o + SENT_SUM] as number) / statements : 0;
  const w60 = F[o + W60] as number;
  const w30 = F[o + W30] as number;
  out['statements_total'] = statements;
  out['sentiment_ewma'] = w60 > 0 ? (F[o + S60] as number) / w60 : 0;
  out['sentiment_trend'] = w30 > 0 ? (F[o + S30] as number) / w30 - longMean : 0;
  const stmtRef = F[o + STMT_REF] as number;
  const cueDecay = statements > 0 && asOf !== stmtRef ? Math.pow(2, -(asOf - stmtRef) / HL_CUE) : 1;
  const cq = q + CUES; // literal keys keep `out` a fast-property object
  out['cue_love'] = (G[cq] as number) * cueDecay;
  out['cue_advocacy'] = (G[cq + 1] as number) * cueDecay;
  out['cue_entitlement'] = (G[cq + 2] as number) * cueDecay;
  out['cue_price'] = (G[cq + 3] as number) * cueDecay;
  out['cue_switching'] = (G[cq + 4] as number) * cueDecay;
  out['cue_partnership'] = (G[cq + 5] as number) * cueDecay;
  out['cue_nostalgia'] = (G[cq + 6] as number) * cueDecay;
  out['cue_convenience'] = (G[cq + 7] as number) * cueDecay;
  out['cue_family'] = (G[cq + 8] as number) * cueDecay;
  out['cue_excitement'] = (G[cq + 9] as number) * cueDecay;
  out['cue_competitor_negative'] = (G[cq + 10] as number) * cueDecay;

  // surveys
  out['nps'] = (G[q + NPS] as number) - 1;
  out['survey_responses'] = G[q + SURVEYS] as number;

  // membership
  const member = G[q + MEMBER] === 2;
  out['membership_active'] = member ? 1 : 0;
  out['contract_active'] = (member && G[q + CONTRACT] === 1) || truthy(traits['contract']) ? 1 : 0;
  out['membership_days'] = member ? wholeDays(asOf - (F[o + MEMBER_START_T] as number)) : 0;
  const acq = traits['acquisition_channel'];
  out['acquired_via_partner'] = typeof acq === 'string' && PARTNER_CHANNELS.has(acq.trim().toLowerCase()) ? 1 : 0;
  return out;
}

/** Inputs of the BG/NBD and Gamma-Gamma models for one customer. */
export interface ValueSummary {
  /** Repeat purchases, counted on distinct (UTC) days: purchase days - 1. */
  x: number;
  /** Time from the first to the last purchase day (in `unit`). */
  tx: number;
  /** Time from the first purchase day to the day of `until` (in `unit`). */
  T: number;
  /** Mean revenue per repeat purchase day (0 when x = 0). */
  monetary: number;
}

/**
 * Recency/frequency/monetary summary for the value models, on UTC day indices (tx and T are
 * whole days, or multiples of 1/7 week). `until` defaults to the latest event time.
 */
export function valueSummary(state: IndicatorState, unit: 'day' | 'week', until?: number): ValueSummary {
  const F = state.f;
  const o = state.o;
  if ((state.g[state.q + ORDERS] as number) === 0) return { x: 0, tx: 0, T: 0, monetary: 0 };
  const per = unit === 'day' ? 1 : 7;
  const fd = dayOf(F[o + FIRST_ORDER_T] as number);
  const ld = dayOf(F[o + LAST_ORDER_T] as number);
  const end = dayOf(until ?? (F[o + LAST_T] as number));
  const x = (state.g[state.q + PURCHASE_DAYS] as number) - 1;
  return {
    x,
    tx: (ld - fd) / per,
    T: Math.max(0, end - fd) / per,
    monetary: x > 0 ? ((F[o + ORDER_REV] as number) - (F[o + FIRST_DAY_REV] as number)) / x : 0,
  };
}

/** Latest event time applied (ms), or null for an empty state. */
export function lastEventTime(state: IndicatorState): number | null {
  return state.g[state.q + INIT] === 1 ? (state.f[state.o + LAST_T] as number) : null;
}

// ---- persistence ---------------------------------------------------------------------------------

/** Format version of {@link encodeState}. Bump when the layout changes. */
export const STATE_VERSION = 1;
const MAGIC = [0x52, 0x49, 0x53, 0x31]; // 'RIS1'
const HEADER_BYTES = 8; // magic (4) + version u16 LE + reserved u16

/**
 * Compact binary form: 8-byte header (magic, version) + the raw state (little-endian IEEE-754,
 * as on every platform Node supports). Byte-identical for identical states.
 */
export function encodeState(state: IndicatorState): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + STRIDE);
  out.set(MAGIC, 0);
  out[4] = STATE_VERSION & 0xff;
  out[5] = STATE_VERSION >>> 8;
  out.set(bytesOf(state), HEADER_BYTES);
  return out;
}

/** Decodes {@link encodeState} output; throws ValidationError (code invalid_indicator_state) when malformed. */
export function decodeState(bytes: Uint8Array): IndicatorState {
  if (bytes.length < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ValidationError('not an encoded indicator state (bad magic)', undefined, 'invalid_indicator_state');
  }
  const version = (bytes[4] as number) | ((bytes[5] as number) << 8);
  if (version !== STATE_VERSION) {
    throw new ValidationError(
      `indicator state version ${version} is not supported (expected ${STATE_VERSION}); replay the event log to rebuild it`,
      { version },
      'invalid_indicator_state',
    );
  }
  if (bytes.length !== HEADER_BYTES + STRIDE) {
    throw new ValidationError(
      `indicator state has ${bytes.length - HEADER_BYTES} payload bytes, expected ${STRIDE}`,
      undefined,
      'invalid_indicator_state',
    );
  }
  const state = allocate();
  bytesOf(state).set(bytes.subarray(HEADER_BYTES));
  return state;
}
