/**
 * The customer simulator: latent relationship types -> a globally time-ordered stream of
 * Segment messages, plus the ground truth. See docs/simulator.md for the model.
 *
 * Design: every customer is a small state machine with one "next time" per process (orders,
 * page views, e-mails, statements, service contacts...) and a short queue of follow-ups (an open
 * after a delivery, a refund after an order). A binary heap over customers keyed by their next
 * time yields the messages in global time order while holding only per-customer state, so
 * millions of messages stream in constant memory per customer. Each customer draws from its own
 * generator seeded by (seed, index), so output is deterministic for a seed.
 */
import { ValidationError } from '../domain/errors';
import { createRng, hashString, type Rng } from '../domain/random';
import { VOCABULARY as V } from '../domain/vocabulary';
import {
  CANVAS_PARAMS,
  CANVAS_TYPES,
  FOURNIER_PARAMS,
  FOURNIER_TYPES,
  SWINSCOE_PARAMS,
  SWINSCOE_TYPES,
  TYPE_CHANGES,
  drawLatentTypes,
  drawWeighted,
  exponential,
  gamma,
  normal,
  type AcquisitionChannel,
  type CanvasType,
  type CueFamily,
  type FournierType,
  type SwinscoeType,
  type TypeMix,
} from './latent-model';
import { lifecyclesAt, snapshotAt, type LifecycleFacts } from './lifecycle';
import { statementText, type Lang } from './templates';
import type { SegmentMessage, TruthRecord, TypeChange } from './types';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MONTH = 30 * DAY;
const YEAR = 365.2425 * DAY;

/** Options of {@link simulate}. */
export interface SimulateOptions {
  customers: number;
  days: number;
  seed: number;
  /** Start of the horizon, epoch ms. */
  start: number;
  /** Share of German-speaking customers (default 0.2). */
  germanShare?: number;
  /** Share of customers answering the labelled relationship survey at the end (default 0.3). */
  surveyShare?: number;
  /** Share of customers whose latent type changes during the horizon (default 0.1). */
  typeChangeShare?: number;
  /** Per-lens weight multipliers of the type mix. */
  typeMix?: TypeMix;
  /** Share of survey labels replaced by a random other type (default 0.05). */
  labelNoise?: number;
  /** Share of customers who start anonymous (default 0.15). */
  anonymousShare?: number;
}

/** A simulation: restartable, deterministic streams of messages and truth. */
export interface Simulation {
  /** Messages globally ordered by timestamp. Each call starts a fresh, identical run. */
  messages(): Iterable<SegmentMessage>;
  /** Ground truth at the end of the horizon, one record per customer (in customer order). */
  truth(): Iterable<TruthRecord>;
  /** Ground truth as of time `t` (customers who have not arrived by `t` are left out). */
  truthAt(t: number): TruthRecord[];
  /** End of the horizon (exclusive), epoch ms. */
  readonly end: number;
  /** Customer ids in index order. */
  customerId(index: number): string;
}

// Process slots of a customer.
const P_ARRIVE = 0;
const P_ORDER = 1;
const P_PAGE = 2;
const P_EMAIL = 3;
const P_STATEMENT = 4;
const P_TICKET = 5;
const P_SELF = 6;
const P_RECO = 7;
const P_COMMUNITY = 8;
const P_REVIEW = 9;
const P_IDEA = 10;
const P_REFERRAL = 11;
const P_COMPLAINT = 12;
const P_CHANGE = 13;
const P_NPS = 14;
const P_LABEL = 15;
const P_MEMBERSHIP = 16;
const P_ANON_PAGE = 17;
const N_PROC = 18;

// Follow-up kinds.
const F_IDENTIFY_EXTRAS = 1;
const F_FIRST_ORDER = 2;
const F_REFUND = 3;
const F_OPEN = 4;
const F_CLICK = 5;
const F_UNSUB = 6;
const F_SPAM = 7;
const F_PROMO_ORDER = 8;
const F_MEMBERSHIP = 9;
const F_CANCEL = 10;
const F_COMPLAINT = 11;
const F_ACCOUNT_MANAGER = 12;
const F_SIGNATURE = 13;
const F_FAREWELL = 14;

interface FollowUp {
  at: number;
  kind: number;
  data: Record<string, unknown> | null;
}

const FIRST_EN = ['Oliver', 'Amelia', 'Harry', 'Isla', 'Jack', 'Ava', 'George', 'Mia', 'Noah', 'Emily', 'Leo', 'Grace', 'Oscar', 'Lily', 'Arthur', 'Sophie'];
const LAST_EN = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Wright', 'Walker', 'Evans'];
const FIRST_DE = ['Lukas', 'Anna', 'Jonas', 'Lea', 'Felix', 'Marie', 'Paul', 'Laura', 'Maximilian', 'Sophie', 'Leon', 'Hannah', 'Elias', 'Emma', 'Moritz', 'Clara'];
const LAST_DE = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Koch', 'Richter'];
const MANAGERS = ['Anna Berger', 'Tom Hughes', 'Sara Klein', 'James Reed', 'Mia Vogel', 'Chris Lane'];
const COUPONS = ['WELCOME10', 'SAVE15', 'SPRING20', 'VIP5', 'FLASH25'];
const PAGES = [
  ['Home', '/'],
  ['Category', '/c/'],
  ['Product', '/p/'],
  ['Account', '/account'],
  ['Help', '/help'],
  ['Search', '/search'],
] as const;
const SELF_TOPICS = ['faq/delivery', 'faq/returns', 'account/address', 'account/payment', 'help/track-order', 'help/invoice', 'chatbot'];
const PUBLIC_CHANNELS = ['twitter', 'facebook', 'instagram'] as const;
const PRIVATE_CHANNELS = ['chat', 'email', 'ticket'] as const;
const SUBJECTS_EN = ['New arrivals this week', 'Your weekly picks', '20% off for you', 'Behind the beans', 'Last chance: spring sale'];
const SUBJECTS_DE = ['Neuheiten der Woche', 'Deine Auswahl der Woche', '20 % Rabatt für dich', 'Hinter den Bohnen', 'Letzte Chance: Frühjahrsangebot'];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng.next() * items.length)] as T;
}

/** ISO-8601 formatting with the date part cached per day (toISOString dominates otherwise). */
class IsoClock {
  private day = NaN;
  private prefix = '';
  format(ms: number): string {
    const t = Math.floor(ms);
    const day = Math.floor(t / DAY);
    if (day !== this.day) {
      this.day = day;
      this.prefix = new Date(day * DAY).toISOString().slice(0, 11);
    }
    let r = t - day * DAY;
    const h = Math.floor(r / HOUR);
    r -= h * HOUR;
    const m = Math.floor(r / 60_000);
    r -= m * 60_000;
    const sec = Math.floor(r / 1000);
    const milli = r - sec * 1000;
    return `${this.prefix}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Statement cue mix of one customer: families and cumulative weights. */
interface CueMix {
  families: CueFamily[];
  cumulative: number[];
}

function buildCueMix(fournier: FournierType, swinscoe: SwinscoeType): CueMix {
  const weights = new Map<CueFamily, number>();
  const own = FOURNIER_PARAMS[fournier].cues;
  let sum = 0;
  for (const [k, w] of Object.entries(own) as [CueFamily, number][]) {
    weights.set(k, (weights.get(k) ?? 0) + w);
    sum += w;
  }
  const rest = Math.max(0, 1 - sum);
  weights.set('neutral', (weights.get('neutral') ?? 0) + rest * 0.5);
  weights.set('positive', (weights.get('positive') ?? 0) + rest * 0.5);
  for (const [k, w] of Object.entries(SWINSCOE_PARAMS[swinscoe].cues) as [CueFamily, number][]) {
    weights.set(k, (weights.get(k) ?? 0) + w * 0.5);
  }
  const families: CueFamily[] = [];
  const cumulative: number[] = [];
  let acc = 0;
  for (const [k, w] of weights) {
    if (w <= 0) continue;
    acc += w;
    families.push(k);
    cumulative.push(acc);
  }
  return { families, cumulative };
}

function drawCue(rng: Rng, mix: CueMix): CueFamily {
  const total = mix.cumulative[mix.cumulative.length - 1] ?? 1;
  const u = rng.next() * total;
  for (let i = 0; i < mix.cumulative.length; i++) if (u < (mix.cumulative[i] as number)) return mix.families[i] as CueFamily;
  return mix.families[mix.families.length - 1] ?? 'neutral';
}

/** Per-customer rates (per ms) derived from the current latent types. */
interface Rates {
  order: number;
  shape: number;
  dropout: number;
  discount: number;
  refund: number;
  statement: number;
  publicShare: number;
  complaint: number;
  page: number;
  emailOpen: number;
  emailClick: number;
  unsubscribe: number;
  spam: number;
  ticket: number;
  self: number;
  reco: number;
  community: number;
  review: number;
  idea: number;
  referral: number;
  promoResponse: number;
  nps: number;
}

/** One simulated customer: latent state, process clocks, follow-ups and the facts for the truth. */
class SimCustomer implements LifecycleFacts {
  readonly rng: Rng;
  readonly id: string;
  /** messageId prefix: seed and customer index (base 36). */
  readonly msgPrefix: string;
  readonly lang: Lang;
  readonly country: string;
  readonly timezone: string;
  readonly locale: string;
  readonly ip: string;
  readonly email: string | null;
  emailConsent: boolean;
  readonly hasBadAddress: boolean;
  fournier: FournierType;
  swinscoe: SwinscoeType;
  canvas: CanvasType;
  readonly initial: { fournier: FournierType; swinscoe: SwinscoeType; canvas: CanvasType };
  readonly changes: TypeChange[] = [];
  readonly noiseShare: number;
  readonly noiseFournier: FournierType;
  readonly noiseCanvas: CanvasType;
  readonly arrival: number;
  readonly anonymousId: string | null;
  readonly identMode: 'known' | 'identify' | 'alias';
  identified = false;
  alive = true;
  ordersLeft = Infinity;
  /** Customer-level mean order value (Gamma-Gamma). */
  readonly aov: number;
  readonly categories: string[];
  readonly seasonStart: number;
  readonly sow: number | null;
  readonly labelled: boolean;
  membership: string | null = null;
  /** A hard bounce stops all e-mail. */
  bounced = false;
  readonly emailJitter: number;
  rates!: Rates;
  cueMix!: CueMix;
  noiseMix!: CueMix;
  readonly next = new Float64Array(N_PROC);
  nextAt = Infinity;
  readonly followUps: FollowUp[] = [];
  seq = 0;
  orderNo = 0;
  pendingChange: { lens: 'fournier' | 'swinscoe' | 'canvas'; to: string; at: number } | null = null;
  // Facts (LifecycleFacts).
  readonly orderTimes: number[] = [];
  readonly moneyTimes: number[] = [];
  readonly moneyAmounts: number[] = [];
  readonly complaintTimes: number[] = [];
  readonly switchingTimes: number[] = [];
  readonly negativeTimes: number[] = [];
  droppedOutAt = Infinity;

  constructor(
    readonly index: number,
    readonly run: Run,
  ) {
    const o = run.opts;
    this.rng = createRng(hashString(`${o.seed}:${index}`) ^ Math.imul(o.seed | 0, 0x9e3779b1));
    const rng = this.rng;
    this.id = run.customerId(index);
    this.msgPrefix = `${run.msgPrefix}${index.toString(36)}-`;
    const types = drawLatentTypes(rng, o.typeMix);
    this.fournier = types.fournier;
    this.swinscoe = types.swinscoe;
    this.canvas = types.canvas;
    this.initial = { ...types };
    const fp = FOURNIER_PARAMS[this.fournier];
    this.lang = rng.next() < run.germanShare ? 'de' : 'en';
    if (this.lang === 'de') {
      this.country = pick(rng, ['DE', 'DE', 'DE', 'AT', 'CH']);
      this.timezone = this.country === 'AT' ? 'Europe/Vienna' : this.country === 'CH' ? 'Europe/Zurich' : 'Europe/Berlin';
      this.locale = `de-${this.country}`;
    } else {
      this.country = pick(rng, ['GB', 'GB', 'US', 'IE']);
      this.timezone = this.country === 'US' ? 'America/New_York' : this.country === 'IE' ? 'Europe/Dublin' : 'Europe/London';
      this.locale = `en-${this.country}`;
    }
    this.ip = `${10 + (index % 200)}.${(index >> 8) & 255}.${index & 255}.${1 + Math.floor(rng.next() * 250)}`;
    const hasEmail = rng.next() < 0.9;
    this.email = hasEmail ? `${this.id}@example.${this.lang === 'de' ? 'de' : 'com'}` : null;
    const consentP = this.swinscoe === 'one_night_stand' ? Math.min(fp.consent, 0.5) : fp.consent;
    this.emailConsent = hasEmail && rng.next() < consentP;
    this.hasBadAddress = rng.next() < 0.01;
    this.noiseShare = rng.next() * 0.2;
    this.noiseFournier = pick(rng, FOURNIER_TYPES.filter((t) => t !== this.fournier));
    this.noiseCanvas = pick(rng, CANVAS_TYPES.filter((t) => t !== this.canvas));
    // Arrival = first order.
    const lastArrival = Math.max(o.start + 1, run.end - DAY);
    const existingP = Math.min(0.95, fp.existing * SWINSCOE_PARAMS[this.swinscoe].existingFactor);
    this.arrival =
      rng.next() < existingP
        ? o.start + rng.next() * Math.min(30 * DAY, lastArrival - o.start)
        : o.start + rng.next() * (lastArrival - o.start);
    this.arrival = Math.floor(this.arrival);
    const a = rng.next();
    this.identMode = a < run.anonymousShare * (2 / 3) ? 'identify' : a < run.anonymousShare ? 'alias' : 'known';
    this.anonymousId = this.identMode === 'known' ? null : `anon-${o.seed.toString(36)}-${index.toString(36)}-${Math.floor(rng.next() * 1e9).toString(36)}`;
    this.aov = ((fp.aov * gamma(rng, 4)) / 4) * CANVAS_PARAMS[this.canvas].aovFactor;
    const cats = [...fp.categories];
    this.categories = [];
    for (let i = 0; i < Math.min(fp.breadth, cats.length); i++) this.categories.push(cats.splice(Math.floor(rng.next() * cats.length), 1)[0] as string);
    // Seasonal customers buy in the quarter of the year containing their arrival.
    const yearPos = ((this.arrival % YEAR) + YEAR) % YEAR;
    this.seasonStart = Math.floor(yearPos / (YEAR / 4)) * (YEAR / 4);
    const sowKnown = rng.next() < 0.6;
    const sf = SWINSCOE_PARAMS[this.swinscoe].sowFactor;
    this.sow = sowKnown ? round2(Math.min(1, Math.max(0.02, (fp.sow[0] + rng.next() * (fp.sow[1] - fp.sow[0])) * sf))) : null;
    this.labelled = rng.next() < run.surveyShare;
    this.emailJitter = Math.floor(rng.next() * 3 * HOUR);
    if (this.swinscoe === 'one_night_stand') this.ordersLeft = 1;
    else if (fp.rhythm === 'burst') this.ordersLeft = 3 + Math.floor(rng.next() * 4);
    this.recomputeRates();
    this.planChange();
    this.scheduleInitial();
  }

  recomputeRates(): void {
    const fp = FOURNIER_PARAMS[this.fournier];
    const nf = FOURNIER_PARAMS[this.noiseFournier];
    const sp = SWINSCOE_PARAMS[this.swinscoe];
    const cp = CANVAS_PARAMS[this.canvas];
    const np = CANVAS_PARAMS[this.noiseCanvas];
    const ns = this.noiseShare;
    const mixC = (k: 'agentTickets' | 'selfService' | 'recommendations' | 'community' | 'reviews' | 'ideas') => (1 - ns) * cp[k] + ns * np[k];
    const mixF = (k: 'statementsPer30' | 'complaintsPer30') => (1 - ns) * fp[k] + ns * nf[k];
    // Customer heterogeneity in the order rate (Gamma, shape 3), drawn once per type.
    const hetero = gamma(this.rng, 3) / 3;
    const burst = fp.rhythm === 'burst';
    const open = Math.min(0.95, Math.max(0.01, fp.emailOpen + sp.emailOpenAdd));
    const secret = this.fournier === 'secret_affair';
    this.rates = {
      order: ((burst ? 2.5 : fp.ordersPer30) * sp.rateFactor * hetero) / MONTH,
      shape: fp.shape,
      dropout: fp.dropout,
      discount: Math.min(0.95, Math.max(0, fp.discount + sp.discountAdd)),
      refund: fp.refund,
      statement: mixF('statementsPer30') / MONTH,
      publicShare: fp.publicShare,
      complaint: mixF('complaintsPer30') / MONTH,
      page: (fp.pageViewsPer30 * cp.pageViewFactor) / MONTH,
      emailOpen: open,
      emailClick: open * 0.28,
      unsubscribe: fp.unsubscribe,
      spam: fp.spam,
      ticket: mixC('agentTickets') / MONTH,
      self: mixC('selfService') / MONTH,
      reco: mixC('recommendations') / MONTH,
      community: secret ? 0 : (mixC('community') + fp.communityPer30) / MONTH,
      review: secret ? 0 : (mixC('reviews') + fp.reviewsPer30) / MONTH,
      idea: secret ? 0 : (mixC('ideas') + fp.ideasPer30) / MONTH,
      referral: secret ? 0 : (fp.referralsPer30 + sp.referralsAdd) / MONTH,
      promoResponse: sp.promoResponse,
      nps: fp.nps,
    };
    this.cueMix = buildCueMix(this.fournier, this.swinscoe);
    this.noiseMix = buildCueMix(this.noiseFournier, this.swinscoe);
  }

  private planChange(): void {
    const o = this.run.opts;
    if (this.swinscoe === 'one_night_stand' || this.rng.next() >= this.run.typeChangeShare) return;
    const span = this.run.end - o.start;
    const earliest = Math.max(o.start + 0.2 * span, this.arrival + 14 * DAY);
    const latest = o.start + 0.8 * span;
    if (earliest >= latest) return;
    const current: Record<string, string> = { fournier: this.fournier, swinscoe: this.swinscoe, canvas: this.canvas };
    const options = TYPE_CHANGES.filter((c) => (c.from === '*' || c.from === current[c.lens]) && c.to !== current[c.lens]);
    const weights: Record<string, number> = {};
    options.forEach((c, i) => (weights[String(i)] = c.weight));
    const keys = options.map((_c, i) => String(i));
    const chosen = options[Number(drawWeighted(this.rng, weights, keys))];
    if (!chosen) return;
    this.pendingChange = { lens: chosen.lens, to: chosen.to, at: Math.floor(earliest + this.rng.next() * (latest - earliest)) };
  }

  private scheduleInitial(): void {
    const end = this.run.end;
    this.next.fill(Infinity);
    if (this.anonymousId) {
      const pre = this.arrival - (1 + this.rng.next() * 14) * DAY;
      this.next[P_ANON_PAGE] = pre > this.run.opts.start ? pre : Infinity;
    }
    this.next[P_ARRIVE] = this.arrival;
    if (this.pendingChange) this.next[P_CHANGE] = this.pendingChange.at;
    if (this.labelled) this.next[P_LABEL] = end - DAY + Math.floor(this.rng.next() * 20 * HOUR);
    else if (this.rng.next() < 0.2) this.next[P_NPS] = this.arrival + DAY + this.rng.next() * Math.max(DAY, end - this.arrival - 2 * DAY);
    if (this.swinscoe === 'engaged') {
      const from = Math.max(this.arrival + DAY, end - 120 * DAY);
      this.next[P_MEMBERSHIP] = from + this.rng.next() * Math.max(DAY, end - 2 * DAY - from);
    }
    for (let i = 0; i < N_PROC; i++) if ((this.next[i] as number) >= end) this.next[i] = Infinity;
    this.updateNextAt();
  }

  /** Starts the ongoing processes at time t (after arrival or a type change). */
  scheduleOngoing(t: number): void {
    const r = this.rates;
    this.next[P_ORDER] = this.alive && this.ordersLeft > 0 ? this.nextOrderTime(t) : Infinity;
    this.next[P_PAGE] = this.poisson(t, r.page * this.activity());
    this.next[P_EMAIL] = this.emailConsent && this.email && !this.bounced ? this.nextCampaign(t) : Infinity;
    this.next[P_STATEMENT] = this.poisson(t, r.statement * this.activity());
    this.next[P_TICKET] = this.poisson(t, r.ticket * this.activity());
    this.next[P_SELF] = this.poisson(t, r.self * this.activity());
    this.next[P_RECO] = this.poisson(t, r.reco * this.activity());
    this.next[P_COMMUNITY] = this.poisson(t, r.community * this.activity());
    this.next[P_REVIEW] = this.poisson(t, r.review * this.activity());
    this.next[P_IDEA] = this.poisson(t, r.idea * this.activity());
    this.next[P_REFERRAL] = this.poisson(t, r.referral * this.activity());
    this.next[P_COMPLAINT] = this.poisson(t, r.complaint * this.activity());
  }

  /** Engagement multiplier: dropped-out customers mostly go quiet. */
  activity(): number {
    return this.alive ? 1 : 0.15;
  }

  poisson(t: number, ratePerMs: number): number {
    if (ratePerMs <= 0) return Infinity;
    const x = t + exponential(this.rng, 1 / ratePerMs);
    return x < this.run.end ? x : Infinity;
  }

  nextOrderTime(t: number): number {
    const r = this.rates;
    const fp = FOURNIER_PARAMS[this.fournier];
    let rate = r.order;
    if (fp.rhythm === 'rebound' && t - this.arrival < 30 * DAY) rate *= 3;
    if (fp.rhythm === 'rising') {
      const span = Math.max(DAY, this.run.end - this.arrival);
      rate *= 0.2 + 2 * Math.min(1, (t - this.arrival) / span);
    }
    if (fp.rhythm === 'seasonal') rate *= 3.5;
    if (SWINSCOE_PARAMS[this.swinscoe].rising) {
      const span = Math.max(DAY, this.run.end - this.arrival);
      rate *= 0.5 + Math.min(1, (t - this.arrival) / span);
    }
    if (rate <= 0) return Infinity;
    let x = t + (gamma(this.rng, r.shape) / r.shape) / rate;
    if (fp.rhythm === 'seasonal') x = this.inSeason(x);
    return x < this.run.end ? x : Infinity;
  }

  /** Moves a time into the customer's season (the same quarter every year). */
  inSeason(x: number): number {
    const q = YEAR / 4;
    const pos = ((x % YEAR) + YEAR) % YEAR;
    const rel = (((pos - this.seasonStart) % YEAR) + YEAR) % YEAR;
    if (rel < q) return x;
    return x + (YEAR - rel) + this.rng.next() * q * 0.5;
  }

  nextCampaign(t: number): number {
    const start = this.run.opts.start + 9 * HOUR + this.emailJitter;
    const k = Math.max(0, Math.ceil((t - start) / (7 * DAY)));
    let x = start + k * 7 * DAY;
    if (x <= t) x += 7 * DAY;
    return x < this.run.end ? x : Infinity;
  }

  addFollowUp(at: number, kind: number, data: Record<string, unknown> | null = null): void {
    if (at >= this.run.end) return;
    const f = this.followUps;
    let i = f.length;
    while (i > 0 && (f[i - 1] as FollowUp).at > at) i--;
    f.splice(i, 0, { at, kind, data });
  }

  updateNextAt(): void {
    let m = this.followUps.length ? (this.followUps[0] as FollowUp).at : Infinity;
    for (let i = 0; i < N_PROC; i++) {
      const x = this.next[i] as number;
      if (x < m) m = x;
    }
    this.nextAt = m;
  }
}

/** Binary min-heap of customers keyed by nextAt (ties by index, for determinism). */
class CustomerHeap {
  private readonly items: SimCustomer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): SimCustomer | undefined {
    return this.items[0];
  }
  private less(a: SimCustomer, b: SimCustomer): boolean {
    return a.nextAt < b.nextAt || (a.nextAt === b.nextAt && a.index < b.index);
  }
  push(c: SimCustomer): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as SimCustomer, h[p] as SimCustomer)) break;
      const tmp = h[i] as SimCustomer;
      h[i] = h[p] as SimCustomer;
      h[p] = tmp;
      i = p;
    }
  }
  /** Restores the heap after the top's key grew; removes it when it is Infinity. */
  fixTop(): void {
    const h = this.items;
    if (!h.length) return;
    if ((h[0] as SimCustomer).nextAt === Infinity) {
      const last = h.pop() as SimCustomer;
      if (!h.length) return;
      h[0] = last;
    }
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(h[l] as SimCustomer, h[m] as SimCustomer)) m = l;
      if (r < n && this.less(h[r] as SimCustomer, h[m] as SimCustomer)) m = r;
      if (m === i) break;
      const tmp = h[i] as SimCustomer;
      h[i] = h[m] as SimCustomer;
      h[m] = tmp;
      i = m;
    }
  }
}

/** One run of the simulation (mutable customer states). */
class Run {
  readonly end: number;
  readonly germanShare: number;
  readonly surveyShare: number;
  readonly typeChangeShare: number;
  readonly labelNoise: number;
  readonly anonymousShare: number;
  readonly customers: SimCustomer[] = [];
  private surveyLifecycle: (string | null)[] | null = null;
  private readonly idPrefix: string;
  readonly msgPrefix: string;
  private readonly iso = new IsoClock();

  constructor(readonly opts: SimulateOptions) {
    this.end = opts.start + opts.days * DAY;
    this.germanShare = opts.germanShare ?? 0.2;
    this.surveyShare = opts.surveyShare ?? 0.3;
    this.typeChangeShare = opts.typeChangeShare ?? 0.1;
    this.labelNoise = opts.labelNoise ?? 0.05;
    this.anonymousShare = opts.anonymousShare ?? 0.15;
    this.idPrefix = `sim${opts.seed}-c`;
    this.msgPrefix = `s${opts.seed.toString(36)}-`;
  }

  customerId(index: number): string {
    return this.idPrefix + String(index).padStart(6, '0');
  }

  *run(): Generator<SegmentMessage> {
    const heap = new CustomerHeap();
    for (let i = 0; i < this.opts.customers; i++) {
      const c = new SimCustomer(i, this);
      this.customers.push(c);
      if (c.nextAt < Infinity) heap.push(c);
    }
    const out: SegmentMessage[] = [];
    while (heap.size) {
      const c = heap.peek() as SimCustomer;
      this.step(c, out);
      c.updateNextAt();
      heap.fixTop();
      for (let i = 0; i < out.length; i++) yield out[i] as SegmentMessage;
      out.length = 0;
    }
  }

  // ---- message builders -------------------------------------------------------------------

  private base(c: SimCustomer, type: SegmentMessage['type'], t: number): SegmentMessage {
    const m: SegmentMessage = {
      type,
      messageId: c.msgPrefix + (c.seq++).toString(36),
      context: { timezone: c.timezone, locale: c.locale, ip: c.ip },
      timestamp: this.iso.format(t),
    };
    if (c.identified || c.identMode === 'known') m.userId = c.id;
    if (c.anonymousId && (!c.identified || c.identMode === 'identify')) m.anonymousId = c.anonymousId;
    return m;
  }

  private track(c: SimCustomer, t: number, event: string, properties: Record<string, unknown>): SegmentMessage {
    const m = this.base(c, 'track', t);
    m.event = event;
    m.properties = properties;
    return m;
  }

  private traits(c: SimCustomer, t: number): Record<string, unknown> {
    const rng = c.rng;
    const de = c.lang === 'de';
    const first = pick(rng, de ? FIRST_DE : FIRST_EN);
    const last = pick(rng, de ? LAST_DE : LAST_EN);
    const fp = FOURNIER_PARAMS[c.fournier];
    const acq = drawWeighted(rng, fp.acquisition, ['partner', 'bundle', 'employer', 'organic', 'paid', 'referral'] as AcquisitionChannel[]);
    const traits: Record<string, unknown> = {
      name: `${first} ${last}`,
      first_name: first,
      last_name: last,
      country: c.country,
      language: c.lang,
      timezone: c.timezone,
      email_consent: c.emailConsent,
      acquisition_channel: acq,
      social_sharing: c.fournier === 'secret_affair' ? false : rng.next() < 0.85,
      created_at: new Date(t).toISOString(),
    };
    if (c.email) traits.email = c.email;
    if (c.sow !== null) traits.share_of_wallet = c.sow;
    if (c.swinscoe === 'married') traits.contract = c.fournier === 'enslavement' ? 'locked_24m' : 'annual';
    else if (c.fournier === 'enslavement') traits.contract = 'locked_24m';
    if (c.canvas === 'dedicated_personal_assistance') {
      traits.account_manager = MANAGERS[c.index % MANAGERS.length];
      traits.company = `Company ${c.index}`;
    }
    return traits;
  }

  private text(c: SimCustomer, t: number, forceFamily?: CueFamily): { text: string; family: CueFamily } {
    const rng = c.rng;
    let family: CueFamily;
    if (forceFamily) family = forceFamily;
    else if (rng.next() < 0.08) family = 'negated';
    else {
      family = drawCue(rng, rng.next() < c.noiseShare ? c.noiseMix : c.cueMix);
      // Courtship warms up: early on, strong cues are still mild.
      if (c.fournier === 'courtship' && (family === 'love' || family === 'advocacy')) {
        const progress = Math.min(1, (t - c.arrival) / Math.max(DAY, this.end - c.arrival));
        if (rng.next() > 0.3 + 0.7 * progress) family = 'positive';
      }
    }
    const text = statementText(family, c.lang, rng);
    if (family === 'switching') c.switchingTimes.push(t);
    else if (family === 'negative') c.negativeTimes.push(t);
    return { text, family };
  }

  // ---- the step -----------------------------------------------------------------------------

  private step(c: SimCustomer, out: SegmentMessage[]): void {
    const t = c.nextAt;
    const f = c.followUps[0];
    if (f && f.at === t) {
      c.followUps.shift();
      this.followUp(c, f, out);
      return;
    }
    let p = 0;
    for (let i = 0; i < N_PROC; i++) if (c.next[i] === t) { p = i; break; }
    c.next[p] = Infinity;
    this.process(c, p, t, out);
  }

  private process(c: SimCustomer, p: number, t: number, out: SegmentMessage[]): void {
    const rng = c.rng;
    const r = c.rates;
    const act = c.activity();
    switch (p) {
      case P_ANON_PAGE: {
        out.push(this.page(c, t));
        const nx = t + exponential(rng, DAY * 1.5);
        c.next[P_ANON_PAGE] = nx < c.arrival ? nx : Infinity;
        return;
      }
      case P_ARRIVE: {
        c.identified = true;
        if (c.identMode === 'alias') {
          const m = this.base(c, 'alias', t);
          m.previousId = c.anonymousId as string;
          m.userId = c.id;
          delete m.anonymousId;
          out.push(m);
        }
        const id = this.base(c, 'identify', t);
        id.traits = this.traits(c, t);
        out.push(id);
        c.addFollowUp(t + 1000, F_IDENTIFY_EXTRAS);
        c.addFollowUp(t + 60_000 + Math.floor(rng.next() * 600_000), F_FIRST_ORDER);
        return;
      }
      case P_ORDER:
        this.order(c, t, out);
        return;
      case P_PAGE: {
        if (rng.next() < 0.3) {
          const cat = pick(rng, c.categories);
          out.push(this.track(c, t, V.productViewed, { product_id: `${cat}-${1 + Math.floor(rng.next() * 20)}`, category: cat }));
        } else out.push(this.page(c, t));
        c.next[P_PAGE] = c.poisson(t, r.page * act);
        return;
      }
      case P_EMAIL:
        this.email(c, t, out);
        return;
      case P_STATEMENT: {
        const pub = rng.next() < r.publicShare;
        const { text } = this.text(c, t);
        out.push(this.track(c, t, V.statementCaptured, { text, channel: pick(rng, pub ? PUBLIC_CHANNELS : PRIVATE_CHANNELS), public: pub, lang: c.lang }));
        // Rebounders talk about the old provider mostly in their first weeks.
        const early = FOURNIER_PARAMS[c.fournier].rhythm === 'rebound' && t - c.arrival < 45 * DAY ? 3 : 1;
        c.next[P_STATEMENT] = c.poisson(t, r.statement * act * early);
        return;
      }
      case P_TICKET: {
        const { text } = rng.next() < 0.6 ? this.text(c, t, 'neutral') : this.text(c, t);
        const dedicated = c.canvas === 'dedicated_personal_assistance';
        const props: Record<string, unknown> = {
          ticket_id: `t-${c.index.toString(36)}-${c.seq.toString(36)}`,
          channel: dedicated ? pick(rng, ['phone', 'email'] as const) : pick(rng, ['phone', 'chat', 'in_store', 'email'] as const),
          agent: true,
          text,
        };
        if (dedicated) props.manager = MANAGERS[c.index % MANAGERS.length];
        out.push(this.track(c, t, V.supportTicketCreated, props));
        c.next[P_TICKET] = c.poisson(t, r.ticket * act);
        return;
      }
      case P_SELF:
        out.push(this.track(c, t, V.selfServiceUsed, { topic: pick(rng, SELF_TOPICS) }));
        c.next[P_SELF] = c.poisson(t, r.self * act);
        return;
      case P_RECO: {
        const cat = pick(rng, c.categories);
        out.push(this.track(c, t, V.recommendationClicked, { product_id: `${cat}-${1 + Math.floor(rng.next() * 20)}`, category: cat, slot: pick(rng, ['home', 'email', 'cart', 'app']) }));
        c.next[P_RECO] = c.poisson(t, r.reco * act);
        return;
      }
      case P_COMMUNITY: {
        const { text } = rng.next() < 0.35 ? this.text(c, t, 'neutral') : this.text(c, t);
        out.push(this.track(c, t, V.communityPostCreated, { text, reply: rng.next() < 0.4, lang: c.lang }));
        c.next[P_COMMUNITY] = c.poisson(t, r.community * act);
        return;
      }
      case P_REVIEW: {
        const { text } = this.text(c, t);
        const rating = Math.max(1, Math.min(5, Math.round(1 + (r.nps / 10) * 4 + normal(rng) * 0.6)));
        const cat = pick(rng, c.categories);
        out.push(this.track(c, t, V.reviewSubmitted, { rating, text, product_id: `${cat}-${1 + Math.floor(rng.next() * 20)}`, lang: c.lang }));
        c.next[P_REVIEW] = c.poisson(t, r.review * act);
        return;
      }
      case P_IDEA: {
        const { text } = this.text(c, t, 'partnership');
        out.push(this.track(c, t, V.ideaSubmitted, { text, lang: c.lang }));
        c.next[P_IDEA] = c.poisson(t, r.idea * act);
        return;
      }
      case P_REFERRAL:
        out.push(this.track(c, t, V.referralSent, { referral_id: `r-${c.index.toString(36)}-${c.seq.toString(36)}` }));
        c.next[P_REFERRAL] = c.poisson(t, r.referral * act);
        return;
      case P_COMPLAINT:
        this.complaint(c, t, out);
        c.next[P_COMPLAINT] = c.poisson(t, r.complaint * act);
        return;
      case P_CHANGE:
        this.change(c, t, out);
        return;
      case P_NPS: {
        const nps = this.npsAnswer(c);
        const props: Record<string, unknown> = { survey_id: `nps-${Math.floor((t - this.opts.start) / (30 * DAY))}`, nps };
        if (rng.next() < 0.4) props.comment = this.text(c, t).text;
        out.push(this.track(c, t, V.surveyAnswered, props));
        return;
      }
      case P_LABEL:
        this.labelSurvey(c, t, out);
        return;
      case P_MEMBERSHIP:
        if (!c.membership) this.startMembership(c, t, 'loyalty', false, out);
        return;
    }
  }

  private page(c: SimCustomer, t: number): SegmentMessage {
    const rng = c.rng;
    const [name, path] = pick(rng, PAGES);
    const m = this.base(c, 'page', t);
    m.name = name;
    const full = path.endsWith('/') && path.length > 1 ? `${path}${pick(rng, c.categories)}` : path;
    m.properties = { path: full, url: `https://shop.example.com${full}`, title: name };
    return m;
  }

  private order(c: SimCustomer, t: number, out: SegmentMessage[], promo = false): void {
    const rng = c.rng;
    const r = c.rates;
    const fp = FOURNIER_PARAMS[c.fournier];
    const value = Math.max(3, (c.aov * gamma(rng, 6)) / 6);
    const lines = 1 + Math.floor(rng.next() * 3);
    let breadth = c.categories.length;
    if (fp.rhythm === 'rising') breadth = Math.max(1, Math.ceil(breadth * Math.min(1, 0.25 + (t - c.arrival) / Math.max(DAY, this.end - c.arrival))));
    const products: { product_id: string; category: string; price: number; quantity: number }[] = [];
    let gross = 0;
    for (let i = 0; i < lines; i++) {
      const category = c.categories[Math.floor(rng.next() * breadth)] as string;
      const quantity = rng.next() < 0.8 ? 1 : 2;
      const price = round2(value / lines / quantity);
      gross += price * quantity;
      products.push({ product_id: `${category}-${1 + Math.floor(rng.next() * 20)}`, category, price, quantity });
    }
    const discounted = promo || rng.next() < r.discount;
    const discount = discounted ? round2(gross * (0.1 + rng.next() * 0.15)) : 0;
    const revenue = round2(gross - discount);
    const orderId = `o-${this.opts.seed.toString(36)}-${c.index.toString(36)}-${(c.orderNo++).toString(36)}`;
    const props: Record<string, unknown> = { order_id: orderId, revenue, discount, currency: 'EUR', products };
    if (discounted) props.coupon = pick(rng, COUPONS);
    out.push(this.track(c, t, V.orderCompleted, props));
    c.orderTimes.push(t);
    c.moneyTimes.push(t);
    c.moneyAmounts.push(revenue);
    if (rng.next() < r.refund) c.addFollowUp(t + (3 + rng.next() * 17) * DAY, F_REFUND, { order_id: orderId, revenue });
    if (promo) return; // promotional orders are extra; the regular rhythm goes on
    c.ordersLeft--;
    const dropout = fp.rhythm === 'burst' ? 0 : r.dropout;
    if (c.ordersLeft <= 0 || rng.next() < dropout) {
      c.alive = false;
      c.droppedOutAt = t;
      c.next[P_ORDER] = Infinity;
      // Some leave with a word: switching intent or a complaint-like statement (not one-offs or flings).
      if (c.ordersLeft > 0 && rng.next() < 0.35) c.addFollowUp(t + Math.floor(rng.next() * 14 * DAY), F_FAREWELL);
      // Engagement fades from now on.
      c.scheduleOngoing(t);
      return;
    }
    c.next[P_ORDER] = c.nextOrderTime(t);
  }

  private email(c: SimCustomer, t: number, out: SegmentMessage[]): void {
    const rng = c.rng;
    const r = c.rates;
    const k = Math.round((t - this.opts.start) / (7 * DAY));
    const promotional = k % 10 < 7;
    const subjects = c.lang === 'de' ? SUBJECTS_DE : SUBJECTS_EN;
    const props = {
      email_id: `e-${c.index.toString(36)}-${k.toString(36)}`,
      campaign_id: `weekly-${k}`,
      email_subject: subjects[k % subjects.length],
      promotional,
    };
    if (c.hasBadAddress) {
      out.push(this.track(c, t, V.emailBounced, { ...props, bounce_type: 'hard' }));
      c.bounced = true;
      c.next[P_EMAIL] = Infinity;
      return;
    }
    out.push(this.track(c, t, V.emailDelivered, props));
    c.next[P_EMAIL] = c.nextCampaign(t);
    const openP = r.emailOpen * (c.alive ? 1 : 0.2);
    if (rng.next() < openP) {
      const at = t + Math.floor(exponential(rng, 5 * HOUR)) + 1000;
      c.addFollowUp(at, F_OPEN, props);
      if (rng.next() < r.emailClick / Math.max(0.01, r.emailOpen)) c.addFollowUp(at + 5000 + Math.floor(exponential(rng, 3 * 60_000)), F_CLICK, props);
      if (promotional && c.alive && c.ordersLeft > 0 && rng.next() < r.promoResponse) c.addFollowUp(at + (0.2 + rng.next() * 4) * DAY, F_PROMO_ORDER);
    }
    if (rng.next() < r.spam) c.addFollowUp(t + HOUR + Math.floor(rng.next() * 10 * HOUR), F_SPAM, props);
    else if (rng.next() < r.unsubscribe) c.addFollowUp(t + HOUR + Math.floor(rng.next() * 10 * HOUR), F_UNSUB, props);
  }

  private complaint(c: SimCustomer, t: number, out: SegmentMessage[]): void {
    const rng = c.rng;
    const family: CueFamily = c.fournier === 'dependency' && rng.next() < 0.6 ? 'anxiety' : rng.next() < 0.55 ? 'negative' : 'entitlement';
    const { text } = this.text(c, t, family);
    out.push(this.track(c, t, V.complaintFiled, { text, severity: pick(rng, ['low', 'medium', 'high'] as const), lang: c.lang }));
    c.complaintTimes.push(t);
  }

  private npsAnswer(c: SimCustomer): number {
    return Math.max(0, Math.min(10, Math.round(c.rates.nps + normal(c.rng) * 1.3)));
  }

  private startMembership(c: SimCustomer, t: number, plan: string, contract: boolean, out: SegmentMessage[]): void {
    c.membership = plan;
    out.push(this.track(c, t, V.membershipStarted, { plan, contract, membership_id: `m-${c.index.toString(36)}-${c.seq.toString(36)}` }));
  }

  private followUp(c: SimCustomer, f: FollowUp, out: SegmentMessage[]): void {
    const t = f.at;
    const rng = c.rng;
    switch (f.kind) {
      case F_IDENTIFY_EXTRAS:
        if (c.canvas === 'dedicated_personal_assistance') {
          const g = this.base(c, 'group', t);
          g.groupId = `company-${this.opts.seed.toString(36)}-${c.index.toString(36)}`;
          g.traits = { name: `Company ${c.index}`, industry: pick(rng, ['retail', 'hospitality', 'office', 'health']), employees: 10 + Math.floor(rng.next() * 500) };
          out.push(g);
          c.addFollowUp(t + HOUR, F_ACCOUNT_MANAGER);
        }
        if (c.swinscoe === 'married') c.addFollowUp(t + 30_000, F_MEMBERSHIP, { plan: 'premium', contract: true });
        return;
      case F_ACCOUNT_MANAGER:
        out.push(this.track(c, t, V.accountManagerAssigned, { manager: MANAGERS[c.index % MANAGERS.length] }));
        return;
      case F_FIRST_ORDER:
        this.order(c, t, out);
        c.scheduleOngoing(t);
        // Most customers say something characteristic early on (first review, post, chat).
        if (rng.next() < 0.75) c.addFollowUp(t + Math.floor(rng.next() * 10 * DAY), F_SIGNATURE);
        return;
      case F_FAREWELL: {
        const pub = rng.next() < c.rates.publicShare;
        const { text } = this.text(c, t, rng.next() < 0.5 ? 'switching' : 'negative');
        out.push(this.track(c, t, V.statementCaptured, { text, channel: pick(rng, pub ? PUBLIC_CHANNELS : PRIVATE_CHANNELS), public: pub, lang: c.lang }));
        return;
      }
      case F_SIGNATURE: {
        let family: CueFamily = 'neutral';
        for (let i = 0; i < 4 && (family === 'neutral' || family === 'positive'); i++) family = drawCue(rng, c.cueMix);
        const pub = rng.next() < c.rates.publicShare;
        const { text } = this.text(c, t, family);
        out.push(this.track(c, t, V.statementCaptured, { text, channel: pick(rng, pub ? PUBLIC_CHANNELS : PRIVATE_CHANNELS), public: pub, lang: c.lang }));
        return;
      }
      case F_REFUND:
        out.push(this.track(c, t, V.orderRefunded, { order_id: f.data?.order_id, revenue: f.data?.revenue }));
        c.moneyTimes.push(t);
        c.moneyAmounts.push(-(f.data?.revenue as number));
        return;
      case F_OPEN:
        out.push(this.track(c, t, V.emailOpened, { ...f.data }));
        return;
      case F_CLICK:
        out.push(this.track(c, t, V.emailLinkClicked, { ...f.data, link_url: `https://shop.example.com/c/${pick(rng, c.categories)}` }));
        return;
      case F_SPAM:
      case F_UNSUB:
        if (!c.emailConsent) return;
        out.push(this.track(c, t, f.kind === F_SPAM ? V.emailMarkedAsSpam : V.unsubscribed, { ...f.data }));
        c.emailConsent = false;
        c.next[P_EMAIL] = Infinity;
        return;
      case F_PROMO_ORDER:
        if (c.alive) this.order(c, t, out, true);
        return;
      case F_MEMBERSHIP:
        if (c.membership !== f.data?.plan) this.startMembership(c, t, f.data?.plan as string, f.data?.contract === true, out);
        return;
      case F_CANCEL:
        if (c.membership) {
          out.push(this.track(c, t, V.membershipCancelled, { plan: c.membership }));
          c.membership = null;
        }
        return;
      case F_COMPLAINT:
        this.complaint(c, t, out);
        return;
    }
  }

  private change(c: SimCustomer, t: number, out: SegmentMessage[]): void {
    const ch = c.pendingChange;
    if (!ch) return;
    c.pendingChange = null;
    const from = c[ch.lens];
    if (from === ch.to) return;
    c.changes.push({ lens: ch.lens, from, to: ch.to, at: t });
    if (ch.lens === 'fournier') {
      c.fournier = ch.to as FournierType;
      if (ch.to === 'enmity') {
        // A bad experience: a complaint now, cancellation of any membership soon after.
        c.addFollowUp(t + 1000, F_COMPLAINT);
        if (c.membership) c.addFollowUp(t + (1 + c.rng.next() * 9) * DAY, F_CANCEL);
      } else if (!c.alive || c.ordersLeft !== Infinity) {
        c.alive = true;
        c.droppedOutAt = Infinity;
        c.ordersLeft = Infinity;
      }
    } else if (ch.lens === 'swinscoe') {
      c.swinscoe = ch.to as SwinscoeType;
      if (ch.to === 'married') {
        c.addFollowUp(t + 1000, F_MEMBERSHIP, { plan: 'premium', contract: true });
        const id = this.base(c, 'identify', t);
        id.traits = { contract: 'annual' };
        out.push(id);
      } else if (ch.to === 'engaged') c.addFollowUp(t + (1 + c.rng.next() * 5) * DAY, F_MEMBERSHIP, { plan: 'loyalty', contract: false });
    } else {
      c.canvas = ch.to as CanvasType;
    }
    c.recomputeRates();
    if (c.identified) c.scheduleOngoing(t);
  }

  private labelSurvey(c: SimCustomer, t: number, out: SegmentMessage[]): void {
    const rng = c.rng;
    if (!this.surveyLifecycle) {
      // Labels describe the state at the start of the survey day (facts after it are ignored).
      const at = this.end - DAY;
      this.surveyLifecycle = lifecyclesAt(this.customers.map((x) => snapshotAt(x, at)), at);
    }
    const life = this.surveyLifecycle[c.index] ?? 'new';
    const nps = this.npsAnswer(c);
    const surveyId = `relationship-${this.opts.seed}`;
    const answers: [string, string, readonly string[]][] = [
      ['fournier', c.fournier, FOURNIER_TYPES],
      ['swinscoe', c.swinscoe, SWINSCOE_TYPES],
      ['canvas', c.canvas, CANVAS_TYPES],
      ['lifecycle', life, ['new', 'established', 'valued_heavy_user', 'at_risk', 'lapsed']],
    ];
    for (const [lens, truth, types] of answers) {
      let label = truth;
      if (rng.next() < this.labelNoise) label = pick(rng, types.filter((x) => x !== truth));
      out.push(this.track(c, t, V.surveyAnswered, { survey_id: surveyId, nps, lens, relationship: label }));
    }
  }

  /** Truth records at time t (requires the run to have been drained). */
  truthAt(t: number): TruthRecord[] {
    const present = this.customers.filter((c) => c.arrival <= t && c.orderTimes.length > 0 && (c.orderTimes[0] as number) <= t);
    const life = lifecyclesAt(present.map((c) => snapshotAt(c, t)), t);
    return present.map((c, i) => {
      const changes = c.changes.filter((x) => x.at <= t);
      const types: Record<string, string> = { ...c.initial };
      for (const x of changes) types[x.lens] = x.to;
      return {
        customerId: c.id,
        fournier: types.fournier as string,
        swinscoe: types.swinscoe as string,
        canvas: types.canvas as string,
        lifecycle: life[i] ?? 'new',
        changes,
        emailConsent: c.emailConsent,
        language: c.lang,
      };
    });
  }
}

/**
 * Creates a deterministic simulation; throws ValidationError (code `invalid_input`) on bad options.
 * Nothing is generated until `messages()` or `truth()` is iterated; `messages()` streams (memory grows with customers, not with messages).
 */
export function simulate(opts: SimulateOptions): Simulation {
  if (!Number.isInteger(opts.customers) || opts.customers < 0) throw new ValidationError(`customers must be a non-negative integer, got ${opts.customers}`);
  if (!(opts.days > 0) || !Number.isFinite(opts.days)) throw new ValidationError(`days must be a positive number, got ${opts.days}`);
  if (!Number.isFinite(opts.start)) throw new ValidationError('start must be epoch milliseconds');
  for (const k of ['germanShare', 'surveyShare', 'typeChangeShare', 'labelNoise', 'anonymousShare'] as const) {
    const v = opts[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new ValidationError(`${k} must be between 0 and 1, got ${v}`);
  }
  let drained: Run | null = null;
  const drain = (): Run => {
    if (drained) return drained;
    const run = new Run(opts);
    for (const _m of run.run()) {
      // consume
    }
    drained = run;
    return run;
  };
  const shape = new Run(opts);
  return {
    end: shape.end,
    customerId: (i) => shape.customerId(i),
    messages(): Iterable<SegmentMessage> {
      return {
        *[Symbol.iterator]() {
          const run = new Run(opts);
          yield* run.run();
          // A fully consumed run holds the final facts; keep it so truth() needs no second pass.
          drained ??= run;
        },
      };
    },
    truth(): Iterable<TruthRecord> {
      const run = drain();
      return run.truthAt(run.end);
    },
    truthAt(t: number): TruthRecord[] {
      return drain().truthAt(t);
    },
  };
}
