/**
 * The simulator's latent model: the types of the four built-in lenses and the per-type behaviour
 * parameters (docs/simulator.md renders these tables; keep them in step).
 */
import type { Rng } from '../domain/random';

/** Fournier's 15 brand-relationship forms. */
export const FOURNIER_TYPES = [
  'arranged_marriage',
  'casual_friends',
  'marriage_of_convenience',
  'committed_partnership',
  'best_friendship',
  'compartmentalised_friendship',
  'kinship',
  'rebound',
  'childhood_friendship',
  'courtship',
  'dependency',
  'fling',
  'enmity',
  'secret_affair',
  'enslavement',
] as const;
/** A fournier form. */
export type FournierType = (typeof FOURNIER_TYPES)[number];

/** Swinscoe's personal-relationship stages. */
export const SWINSCOE_TYPES = ['dating', 'one_night_stand', 'boyfriend_girlfriend', 'engaged', 'married', 'partner'] as const;
/** A swinscoe stage. */
export type SwinscoeType = (typeof SWINSCOE_TYPES)[number];

/** Business Model Canvas relationship modes. */
export const CANVAS_TYPES = [
  'personal_assistance',
  'dedicated_personal_assistance',
  'self_service',
  'automated_services',
  'communities',
  'co_creation',
] as const;
/** A canvas mode. */
export type CanvasType = (typeof CANVAS_TYPES)[number];

/** Lifecycle guide posts (derived, never drawn). */
export const LIFECYCLE_TYPES = ['new', 'established', 'valued_heavy_user', 'at_risk', 'lapsed'] as const;
/** A lifecycle stage. */
export type LifecycleType = (typeof LIFECYCLE_TYPES)[number];

/** Types of every lens, by lens name. */
export const LENS_TYPES = {
  fournier: FOURNIER_TYPES,
  swinscoe: SWINSCOE_TYPES,
  canvas: CANVAS_TYPES,
  lifecycle: LIFECYCLE_TYPES,
} as const;

/** Statement cue families the templates are organised by. */
export type CueFamily =
  | 'love'
  | 'advocacy'
  | 'entitlement'
  | 'price'
  | 'switching'
  | 'partnership'
  | 'nostalgia'
  | 'convenience'
  | 'family'
  | 'excitement'
  | 'competitor_negative'
  | 'anxiety'
  | 'negative'
  | 'neutral'
  | 'positive'
  | 'negated';

/** All cue families. */
export const CUE_FAMILIES: readonly CueFamily[] = [
  'love',
  'advocacy',
  'entitlement',
  'price',
  'switching',
  'partnership',
  'nostalgia',
  'convenience',
  'family',
  'excitement',
  'competitor_negative',
  'anxiety',
  'negative',
  'neutral',
  'positive',
  'negated',
];

/** Purchase rhythm variants. */
export type Rhythm = 'normal' | 'burst' | 'rebound' | 'rising' | 'seasonal';

/** Acquisition channels (trait acquisition_channel). */
export type AcquisitionChannel = 'partner' | 'bundle' | 'employer' | 'organic' | 'paid' | 'referral';

/** Behaviour parameters of one fournier form. Rates are per 30 days. */
export interface FournierParams {
  /** Relative weight in the default type mix. */
  prior: number;
  /** Probability of already being a customer at the start (first order in the first 30 days). */
  existing: number;
  ordersPer30: number;
  /** Gamma shape of inter-order gaps: 1 = Poisson, larger = more regular, < 1 = irregular. */
  shape: number;
  /** Probability of dropping out after each order (BG/NBD p). */
  dropout: number;
  aov: number;
  discount: number;
  /** Number of product categories the customer buys from. */
  breadth: number;
  statementsPer30: number;
  /** Cue family mix; the remainder is neutral/positive chatter. */
  cues: Partial<Record<CueFamily, number>>;
  /** Share of statements made in public channels. */
  publicShare: number;
  complaintsPer30: number;
  refund: number;
  emailOpen: number;
  /** E-mail consent probability. */
  consent: number;
  unsubscribe: number;
  spam: number;
  sow: readonly [number, number];
  /** Mean NPS answer. */
  nps: number;
  rhythm: Rhythm;
  pageViewsPer30: number;
  referralsPer30: number;
  reviewsPer30: number;
  communityPer30: number;
  ideasPer30: number;
  acquisition: Partial<Record<AcquisitionChannel, number>>;
  /** Product categories drawn from (subset of size `breadth`). */
  categories: readonly string[];
}

const MAIN_CATEGORIES = ['coffee', 'tea', 'snacks', 'kitchen', 'home', 'garden', 'beauty', 'books', 'toys', 'outdoor'] as const;
const ORGANIC: Partial<Record<AcquisitionChannel, number>> = { organic: 0.6, paid: 0.3, referral: 0.1 };

function f(p: Partial<FournierParams> & Pick<FournierParams, 'ordersPer30' | 'cues' | 'statementsPer30'>): FournierParams {
  return {
    prior: 1,
    existing: 0.6,
    shape: 2,
    dropout: 0.01,
    aov: 50,
    discount: 0.1,
    breadth: 3,
    publicShare: 0.4,
    complaintsPer30: 0.01,
    refund: 0.02,
    emailOpen: 0.3,
    consent: 0.85,
    unsubscribe: 0.002,
    spam: 0,
    sow: [0.3, 0.6],
    nps: 7,
    rhythm: 'normal',
    pageViewsPer30: 3,
    referralsPer30: 0.01,
    reviewsPer30: 0.02,
    communityPer30: 0.02,
    ideasPer30: 0.005,
    acquisition: ORGANIC,
    categories: MAIN_CATEGORIES,
    ...p,
  };
}

/** Per-form parameters (docs/simulator.md, "fournier — per-type parameters"). */
export const FOURNIER_PARAMS: Readonly<Record<FournierType, FournierParams>> = {
  arranged_marriage: f({
    existing: 0.8, ordersPer30: 1.5, shape: 4, aov: 60, discount: 0.05, breadth: 2, statementsPer30: 0.15,
    cues: { convenience: 0.2, neutral: 0.6 }, publicShare: 0.2, complaintsPer30: 0.03, emailOpen: 0.12, sow: [0.8, 0.95],
    nps: 7, pageViewsPer30: 1, acquisition: { partner: 0.35, bundle: 0.3, employer: 0.25, organic: 0.1 },
  }),
  casual_friends: f({
    existing: 0.6, ordersPer30: 0.5, shape: 0.5, dropout: 0.03, aov: 40, discount: 0.25, breadth: 4, statementsPer30: 0.5,
    cues: { positive: 0.5, neutral: 0.5 }, publicShare: 0.5, complaintsPer30: 0.02, refund: 0.03, emailOpen: 0.15, sow: [0.2, 0.4], nps: 7,
  }),
  marriage_of_convenience: f({
    existing: 0.7, ordersPer30: 2.5, shape: 4, aov: 35, discount: 0.15, breadth: 3, statementsPer30: 0.4,
    cues: { convenience: 0.6, price: 0.1 }, publicShare: 0.3, complaintsPer30: 0.04, refund: 0.03, emailOpen: 0.25, sow: [0.7, 0.9], nps: 6,
  }),
  committed_partnership: f({
    existing: 0.8, ordersPer30: 2.5, shape: 3, dropout: 0.005, aov: 70, discount: 0.05, breadth: 5, statementsPer30: 0.8,
    cues: { love: 0.45, advocacy: 0.3, partnership: 0.1 }, publicShare: 0.6, refund: 0.01, emailOpen: 0.6, sow: [0.8, 0.95], nps: 9.5,
    pageViewsPer30: 5, referralsPer30: 0.08, reviewsPer30: 0.08,
  }),
  best_friendship: f({
    existing: 0.6, ordersPer30: 1.5, shape: 2, aov: 55, breadth: 5, statementsPer30: 1.0,
    cues: { advocacy: 0.5, love: 0.15, partnership: 0.15 }, publicShare: 0.8, emailOpen: 0.5, sow: [0.5, 0.8], nps: 9.5,
    pageViewsPer30: 4, referralsPer30: 0.35, reviewsPer30: 0.25, communityPer30: 0.3,
  }),
  compartmentalised_friendship: f({
    existing: 0.5, ordersPer30: 1.2, shape: 2, aov: 50, discount: 0.15, breadth: 1, statementsPer30: 0.5,
    cues: { excitement: 0.2, love: 0.2, neutral: 0.3 }, publicShare: 0.4, emailOpen: 0.3, sow: [0.3, 0.6], nps: 8, rhythm: 'seasonal',
    categories: ['christmas', 'garden', 'barbecue', 'ski', 'beach', 'school'],
  }),
  kinship: f({
    existing: 0.8, ordersPer30: 1.3, shape: 3, dropout: 0.005, aov: 45, breadth: 3, statementsPer30: 0.4,
    cues: { family: 0.6, nostalgia: 0.1, love: 0.1 }, publicShare: 0.4, refund: 0.01, emailOpen: 0.35, sow: [0.6, 0.9], nps: 8.5,
  }),
  rebound: f({
    existing: 0.15, ordersPer30: 1.0, shape: 1.5, dropout: 0.04, aov: 50, discount: 0.2, breadth: 4, statementsPer30: 1.2,
    cues: { competitor_negative: 0.65, excitement: 0.1 }, publicShare: 0.6, complaintsPer30: 0.03, refund: 0.04, emailOpen: 0.4,
    sow: [0.3, 0.6], nps: 7.5, rhythm: 'rebound',
  }),
  childhood_friendship: f({
    existing: 0.6, ordersPer30: 0.4, shape: 1, aov: 30, breadth: 2, statementsPer30: 0.5,
    cues: { nostalgia: 0.65, love: 0.1 }, publicShare: 0.5, complaintsPer30: 0.005, refund: 0.01, emailOpen: 0.3, sow: [0.1, 0.3], nps: 8.5,
    categories: ['sweets', 'toys', 'books', 'biscuits', 'lemonade'],
  }),
  courtship: f({
    existing: 0.3, ordersPer30: 1.5, shape: 2, aov: 45, discount: 0.15, breadth: 6, statementsPer30: 0.9,
    cues: { love: 0.3, excitement: 0.25, advocacy: 0.1 }, publicShare: 0.5, emailOpen: 0.45, sow: [0.3, 0.7], nps: 8, rhythm: 'rising',
    pageViewsPer30: 5,
  }),
  dependency: f({
    existing: 0.7, ordersPer30: 6, shape: 3, dropout: 0.002, aov: 30, breadth: 2, statementsPer30: 1.0,
    cues: { love: 0.45, anxiety: 0.2, entitlement: 0.1, negative: 0.05 }, publicShare: 0.4, complaintsPer30: 0.15, emailOpen: 0.6,
    sow: [0.9, 1], nps: 8, pageViewsPer30: 8,
  }),
  fling: f({
    existing: 0.1, ordersPer30: 2.5, shape: 1, dropout: 0.05, aov: 60, discount: 0.2, breadth: 3, statementsPer30: 2.0,
    cues: { excitement: 0.65, love: 0.1 }, publicShare: 0.7, refund: 0.05, emailOpen: 0.3, consent: 0.5, unsubscribe: 0.03,
    sow: [0.1, 0.3], nps: 7.5, rhythm: 'burst', communityPer30: 0.1,
    categories: ['limited_edition', 'new_arrivals', 'collab', 'seasonal_special', 'gadgets'],
  }),
  enmity: f({
    existing: 0.5, ordersPer30: 0.6, shape: 1, dropout: 0.15, aov: 40, discount: 0.2, breadth: 2, statementsPer30: 0.8,
    cues: { negative: 0.4, switching: 0.2, entitlement: 0.2 }, publicShare: 0.7, complaintsPer30: 0.4, refund: 0.25, emailOpen: 0.05,
    consent: 0.5, unsubscribe: 0.05, spam: 0.03, sow: [0.1, 0.4], nps: 1.5, pageViewsPer30: 1.5,
  }),
  secret_affair: f({
    existing: 0.5, ordersPer30: 1.5, shape: 2, aov: 70, breadth: 2, statementsPer30: 0.6,
    cues: { love: 0.4, neutral: 0.4 }, publicShare: 0, emailOpen: 0.4, consent: 0.6, sow: [0.4, 0.7], nps: 8,
    reviewsPer30: 0, communityPer30: 0, referralsPer30: 0, ideasPer30: 0,
    categories: ['lingerie', 'wellness', 'personal_care', 'discreet'],
  }),
  enslavement: f({
    existing: 0.8, ordersPer30: 2.0, shape: 4, dropout: 0.003, aov: 50, discount: 0.05, breadth: 2, statementsPer30: 0.6,
    cues: { switching: 0.35, negative: 0.35, entitlement: 0.2 }, publicShare: 0.3, complaintsPer30: 0.25, refund: 0.05, emailOpen: 0.08,
    unsubscribe: 0.01, sow: [0.8, 1], nps: 3, pageViewsPer30: 1.5,
    acquisition: { partner: 0.2, bundle: 0.2, organic: 0.4, paid: 0.2 },
  }),
};

/** P(swinscoe stage | fournier form): weights per row (docs/simulator.md). */
export const SWINSCOE_GIVEN_FOURNIER: Readonly<Record<FournierType, Partial<Record<SwinscoeType, number>>>> = {
  arranged_marriage: { dating: 0.05, boyfriend_girlfriend: 0.15, engaged: 0.05, married: 0.55, partner: 0.2 },
  casual_friends: { dating: 0.35, one_night_stand: 0.15, boyfriend_girlfriend: 0.3, married: 0.05, partner: 0.15 },
  marriage_of_convenience: { dating: 0.1, boyfriend_girlfriend: 0.2, engaged: 0.05, married: 0.35, partner: 0.3 },
  committed_partnership: { boyfriend_girlfriend: 0.1, engaged: 0.2, married: 0.4, partner: 0.3 },
  best_friendship: { boyfriend_girlfriend: 0.25, engaged: 0.15, married: 0.2, partner: 0.4 },
  compartmentalised_friendship: { dating: 0.25, boyfriend_girlfriend: 0.35, married: 0.15, partner: 0.25 },
  kinship: { boyfriend_girlfriend: 0.2, engaged: 0.05, married: 0.35, partner: 0.4 },
  rebound: { dating: 0.3, one_night_stand: 0.15, boyfriend_girlfriend: 0.3, engaged: 0.15, married: 0.1 },
  childhood_friendship: { dating: 0.15, boyfriend_girlfriend: 0.3, married: 0.1, partner: 0.45 },
  courtship: { dating: 0.15, boyfriend_girlfriend: 0.4, engaged: 0.45 },
  dependency: { boyfriend_girlfriend: 0.15, engaged: 0.15, married: 0.45, partner: 0.25 },
  fling: { dating: 0.45, one_night_stand: 0.45, boyfriend_girlfriend: 0.1 },
  enmity: { dating: 0.3, one_night_stand: 0.3, boyfriend_girlfriend: 0.25, married: 0.15 },
  secret_affair: { dating: 0.2, boyfriend_girlfriend: 0.35, engaged: 0.1, married: 0.05, partner: 0.3 },
  enslavement: { engaged: 0.1, married: 0.8, partner: 0.1 },
};

/** Behaviour effects of a swinscoe stage. */
export interface SwinscoeParams {
  rateFactor: number;
  discountAdd: number;
  sowFactor: number;
  emailOpenAdd: number;
  referralsAdd: number;
  /** Extra cue weights mixed into the form's mix. */
  cues: Partial<Record<CueFamily, number>>;
  membership: 'none' | 'recent' | 'contract';
  /** Orders after an opened promotional e-mail (probability). */
  promoResponse: number;
  /** Multiplier of the form's `existing` probability (long-standing stages are more often existing customers). */
  existingFactor: number;
  /** Order rate rising over the customer's time (getting closer). */
  rising: boolean;
}

/** Per-stage effects (docs/simulator.md). */
export const SWINSCOE_PARAMS: Readonly<Record<SwinscoeType, SwinscoeParams>> = {
  dating: { rateFactor: 0.7, discountAdd: 0.45, sowFactor: 0.4, emailOpenAdd: 0, referralsAdd: 0, cues: { price: 0.5 }, membership: 'none', promoResponse: 0.3, existingFactor: 0.8, rising: false },
  one_night_stand: { rateFactor: 1, discountAdd: 0.1, sowFactor: 0.5, emailOpenAdd: -0.1, referralsAdd: 0, cues: {}, membership: 'none', promoResponse: 0, existingFactor: 0.5, rising: false },
  boyfriend_girlfriend: { rateFactor: 1, discountAdd: 0, sowFactor: 1, emailOpenAdd: 0.15, referralsAdd: 0, cues: { positive: 0.15 }, membership: 'none', promoResponse: 0.05, existingFactor: 0.5, rising: true },
  engaged: { rateFactor: 1.1, discountAdd: 0, sowFactor: 1, emailOpenAdd: 0.2, referralsAdd: 0.03, cues: { advocacy: 0.1 }, membership: 'recent', promoResponse: 0.05, existingFactor: 0.9, rising: false },
  married: { rateFactor: 1.2, discountAdd: -0.05, sowFactor: 1.1, emailOpenAdd: 0.05, referralsAdd: 0.02, cues: {}, membership: 'contract', promoResponse: 0.02, existingFactor: 1.2, rising: false },
  partner: { rateFactor: 1.1, discountAdd: -0.05, sowFactor: 1.1, emailOpenAdd: 0.1, referralsAdd: 0.3, cues: { advocacy: 0.3 }, membership: 'none', promoResponse: 0.02, existingFactor: 1.3, rising: false },
};

/** Service behaviour of a canvas mode, per 30 days. */
export interface CanvasParams {
  prior: number;
  agentTickets: number;
  selfService: number;
  recommendations: number;
  community: number;
  reviews: number;
  ideas: number;
  pageViewFactor: number;
  aovFactor: number;
}

/** Per-mode parameters (docs/simulator.md). */
export const CANVAS_PARAMS: Readonly<Record<CanvasType, CanvasParams>> = {
  personal_assistance: { prior: 0.2, agentTickets: 1.2, selfService: 0.1, recommendations: 0.1, community: 0.02, reviews: 0.03, ideas: 0.01, pageViewFactor: 1, aovFactor: 1 },
  dedicated_personal_assistance: { prior: 0.12, agentTickets: 0.8, selfService: 0.05, recommendations: 0.1, community: 0.02, reviews: 0.05, ideas: 0.05, pageViewFactor: 1, aovFactor: 2.5 },
  self_service: { prior: 0.2, agentTickets: 0.02, selfService: 1.5, recommendations: 0.2, community: 0.02, reviews: 0.03, ideas: 0.01, pageViewFactor: 1.2, aovFactor: 1 },
  automated_services: { prior: 0.18, agentTickets: 0.05, selfService: 0.3, recommendations: 2.5, community: 0.02, reviews: 0.03, ideas: 0.01, pageViewFactor: 2, aovFactor: 1 },
  communities: { prior: 0.15, agentTickets: 0.1, selfService: 0.3, recommendations: 0.2, community: 2.0, reviews: 0.1, ideas: 0.05, pageViewFactor: 1.3, aovFactor: 1 },
  co_creation: { prior: 0.15, agentTickets: 0.1, selfService: 0.2, recommendations: 0.2, community: 0.2, reviews: 0.6, ideas: 0.4, pageViewFactor: 1.3, aovFactor: 1 },
};

/** Tilts of the canvas prior by fournier form (multipliers). */
export const CANVAS_TILT: Readonly<Partial<Record<FournierType, Partial<Record<CanvasType, number>>>>> = {
  best_friendship: { communities: 2, co_creation: 1.5 },
  fling: { communities: 1.8 },
  committed_partnership: { co_creation: 1.8 },
  secret_affair: { communities: 0, co_creation: 0 },
  arranged_marriage: { dedicated_personal_assistance: 2, self_service: 1.5 },
  enslavement: { dedicated_personal_assistance: 1.5, self_service: 1.5 },
  dependency: { automated_services: 1.5 },
};

/** Per-lens overrides of the type mix: weights multiply the defaults (0 removes a type). */
export interface TypeMix {
  fournier?: Partial<Record<FournierType, number>>;
  swinscoe?: Partial<Record<SwinscoeType, number>>;
  canvas?: Partial<Record<CanvasType, number>>;
}

/** Draws a key from a weight table (weights need not sum to 1). Falls back to the first key. */
export function drawWeighted<K extends string>(rng: Rng, weights: Partial<Record<K, number>>, keys: readonly K[]): K {
  let total = 0;
  for (const k of keys) total += Math.max(0, weights[k] ?? 0);
  if (total <= 0) return keys[0] as K;
  let u = rng.next() * total;
  for (const k of keys) {
    const w = Math.max(0, weights[k] ?? 0);
    if (u < w) return k;
    u -= w;
  }
  return keys[keys.length - 1] as K;
}

/** Draws the three latent types of one customer. */
export function drawLatentTypes(rng: Rng, mix: TypeMix = {}): { fournier: FournierType; swinscoe: SwinscoeType; canvas: CanvasType } {
  const fw: Partial<Record<FournierType, number>> = {};
  for (const t of FOURNIER_TYPES) fw[t] = FOURNIER_PARAMS[t].prior * (mix.fournier?.[t] ?? 1);
  const fournier = drawWeighted(rng, fw, FOURNIER_TYPES);
  const sw: Partial<Record<SwinscoeType, number>> = {};
  const row = SWINSCOE_GIVEN_FOURNIER[fournier];
  for (const t of SWINSCOE_TYPES) sw[t] = (row[t] ?? 0) * (mix.swinscoe?.[t] ?? 1);
  // An override can zero a whole row; fall back to the override alone then.
  let total = 0;
  for (const t of SWINSCOE_TYPES) total += sw[t] ?? 0;
  if (total <= 0) for (const t of SWINSCOE_TYPES) sw[t] = mix.swinscoe?.[t] ?? 1;
  const swinscoe = drawWeighted(rng, sw, SWINSCOE_TYPES);
  const cw: Partial<Record<CanvasType, number>> = {};
  const tilt = CANVAS_TILT[fournier] ?? {};
  for (const t of CANVAS_TYPES) cw[t] = CANVAS_PARAMS[t].prior * (tilt[t] ?? 1) * (mix.canvas?.[t] ?? 1);
  const canvas = drawWeighted(rng, cw, CANVAS_TYPES);
  return { fournier, swinscoe, canvas };
}

/** Possible latent changes: lens, from (or '*'), to, weight. */
export const TYPE_CHANGES: readonly { lens: 'fournier' | 'swinscoe' | 'canvas'; from: string; to: string; weight: number }[] = [
  { lens: 'fournier', from: 'courtship', to: 'committed_partnership', weight: 3 },
  { lens: 'fournier', from: 'rebound', to: 'committed_partnership', weight: 1.5 },
  { lens: 'fournier', from: 'rebound', to: 'casual_friends', weight: 1.5 },
  { lens: 'fournier', from: 'fling', to: 'casual_friends', weight: 1 },
  { lens: 'fournier', from: '*', to: 'enmity', weight: 0.25 },
  { lens: 'swinscoe', from: 'dating', to: 'boyfriend_girlfriend', weight: 2 },
  { lens: 'swinscoe', from: 'boyfriend_girlfriend', to: 'engaged', weight: 2 },
  { lens: 'swinscoe', from: 'engaged', to: 'married', weight: 2 },
  { lens: 'canvas', from: 'self_service', to: 'personal_assistance', weight: 1 },
  { lens: 'canvas', from: 'personal_assistance', to: 'automated_services', weight: 1 },
];

/** Gamma(shape, scale=1) variate (Marsaglia-Tsang; boosts shape < 1). */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) {
    const u = rng.next();
    return gamma(rng, shape + 1) * Math.pow(u || 1e-12, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u || 1e-12) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Standard normal variate (Box-Muller). */
export function normal(rng: Rng): number {
  const u = rng.next() || 1e-12;
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Exponential variate with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}
