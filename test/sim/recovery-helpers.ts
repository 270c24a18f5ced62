/**
 * Test helpers for the recovery check: crude per-customer features computed straight from the
 * simulated messages (a stand-in for the indicator engine, so this check does not depend on it)
 * and a small softmax-regression classifier.
 */
import type { SegmentMessage } from '../../src/sim/types';

const DAY = 86_400_000;

/** Keyword cues per family (EN + DE), deliberately crude; negation handled by a simple window. */
const CUES: Record<string, RegExp> = {
  love: /\b(love|adore|can't live without|obsessed|favourite|devoted|lost without|liebe|ohne .* nicht leben|lieblingsmarke|verliebt|süchtig|verloren)\b/i,
  advocacy: /\b(recommend|vouch|spread the word|defend|trust me|empfehl|weiterempfehlen|verteidige|sagt es weiter)\w*/i,
  entitlement: /\b(expect|owe|demand|insist|deserve|erwarte|schulden|verlange|bestehe|verdiene)\w*/i,
  price: /\b(cheapest|on sale|coupon|discount|deal|price|bargain|billig|angebot|gutschein|rabatt|preis|schnäppchen)\w*/i,
  switching: /\b(switching to|switch providers|considering|alternative|leave|elsewhere|cancel|wechsel|alternative|kündigen|verlassen|woanders)\w*/i,
  partnership: /\b(idea|suggestion|proposal|feature|beta|co-design|feedback|idee|vorschlag|funktion|betatester|gemeinsam)\w*/i,
  nostalgia: /\b(childhood|since i was|memories|nostalgi|back in the day|kid|kindheit|erinnerung|früher|jugend|klein war)\w*/i,
  convenience: /\b(around the corner|close by|convenient|on my way|nearest|only option|easy|quick|um die ecke|in der nähe|bequem|praktisch|einzige möglichkeit|nächste laden)\w*/i,
  family: /\b(mother|mum|father|dad|grandm|grandf|family|parents|mutter|mama|vater|oma|opa|familie|eltern|großeltern)\w*/i,
  excitement: /\b(wow|limited|new drop|exciting|hyped|omg|thrill|so much fun|limit|gehypt|wahnsinn|spannend|begeistert|neuheit)\w*/i,
  competitor_negative: /\b(switched here|switched from|left \w+ after|fed up|came over from|never going back|nase voll|gewechselt|nie wieder zurück|komme von)\w*/i,
  anxiety: /\b(out of stock|sold out|back in stock|panic|running out|ausverkauft|panik|wieder da|lieferbar)\w*/i,
  positive: /\b(nice|good|thanks|happy|pleasant|decent|solid|friendly|netter|gut|danke|zufrieden|angenehm|ordentlich|freundlich)\w*/i,
  negative: /\b(terrible|awful|worst|disappointed|horrible|scam|poor|hate|ridiculous|angry|schrecklich|miese|enttäuscht|abzocke|schlecht|wütend|furchtbar|frechheit)\w*/i,
};
const NEG = /\b(don't|do not|not|never|no|wouldn't|nicht|kein|keine|nie)\b/i;

/** Feature names, in vector order. */
export const FEATURE_NAMES: string[] = [];

interface Acc {
  orders: number[];
  revenue: number[];
  cats: Set<string>;
  discounted: number;
  refunds: number;
  sow: number;
  agent: number;
  self: number;
  complaints: number;
  complaints90: number;
  reco: number;
  community: number;
  reviews: number;
  ideas: number;
  referrals: number;
  statements: number;
  publicStatements: number;
  delivered: number;
  opened: number;
  clicked: number;
  unsub: number;
  pages: number;
  cues: Record<string, number>;
  membership: number;
  contract: number;
  membershipAt: number;
  partnerAcq: number;
  nps: number;
  dedicated: number;
  social: number;
  first: number;
  recentCues: Record<string, number>;
  labels: Record<string, string>;
}

function acc(): Acc {
  return {
    orders: [], revenue: [], cats: new Set(), discounted: 0, refunds: 0, sow: -1, agent: 0, self: 0, complaints: 0, complaints90: 0,
    reco: 0, community: 0, reviews: 0, ideas: 0, referrals: 0, statements: 0, publicStatements: 0, delivered: 0, opened: 0,
    clicked: 0, unsub: 0, pages: 0, cues: {}, membership: 0, contract: 0, membershipAt: 0, partnerAcq: 0, nps: -1, dedicated: 0,
    social: 1, first: Infinity, recentCues: {}, labels: {},
  };
}

function analyse(a: Acc, text: string, w = 1, recent = false): void {
  for (const s of text.split(/(?<=[.!?])\s+/)) {
    const negated = NEG.test(s);
    for (const [k, re] of Object.entries(CUES)) {
      if (!re.test(s) || (negated && k !== 'negative')) continue;
      a.cues[k] = (a.cues[k] ?? 0) + w;
      if (recent) a.recentCues[k] = (a.recentCues[k] ?? 0) + w;
    }
  }
}

/** Per-customer features and survey labels from a message stream. */
export function extractFeatures(messages: Iterable<SegmentMessage>, end: number): Map<string, { x: number[]; labels: Record<string, string> }> {
  const byId = new Map<string, Acc>();
  const anon = new Map<string, string>();
  for (const m of messages) {
    let id = m.userId;
    if (m.type === 'alias' && m.previousId && m.userId) anon.set(m.previousId, m.userId);
    if (m.userId && m.anonymousId) anon.set(m.anonymousId, m.userId);
    if (!id && m.anonymousId) id = anon.get(m.anonymousId);
    if (!id) continue;
    let a = byId.get(id);
    if (!a) byId.set(id, (a = acc()));
    const t = Date.parse(m.timestamp);
    a.first = Math.min(a.first, t);
    const p = (m.properties ?? {}) as Record<string, any>;
    if (m.type === 'identify') {
      const tr = m.traits ?? {};
      if (typeof tr.share_of_wallet === 'number') a.sow = tr.share_of_wallet;
      if (['partner', 'bundle', 'employer'].includes(tr.acquisition_channel as string)) a.partnerAcq = 1;
      if (tr.account_manager) a.dedicated = 1;
      if (tr.contract) a.contract = 1;
      if (tr.social_sharing === false) a.social = 0;
      continue;
    }
    if (m.type === 'page') { if (t > end - 90 * DAY) a.pages++; continue; }
    if (m.type !== 'track') continue;
    switch (m.event) {
      case 'Order Completed':
        a.orders.push(t); a.revenue.push(p.revenue); if (p.discount > 0) a.discounted++;
        for (const pr of p.products) a.cats.add(pr.category);
        break;
      case 'Order Refunded': a.refunds++; break;
      case 'Support Ticket Created': a.agent++; analyse(a, p.text, 0.5, t > end - 90 * DAY); break;
      case 'Self Service Used': a.self++; break;
      case 'Complaint Filed': a.complaints++; if (t > end - 90 * DAY) a.complaints90++; analyse(a, p.text, 1, t > end - 90 * DAY); break;
      case 'Recommendation Clicked': a.reco++; break;
      case 'Community Post Created': a.community++; analyse(a, p.text, 1, t > end - 90 * DAY); break;
      case 'Review Submitted': a.reviews++; analyse(a, p.text, 1, t > end - 90 * DAY); break;
      case 'Idea Submitted': a.ideas++; analyse(a, p.text, 1, t > end - 90 * DAY); break;
      case 'Referral Sent': a.referrals++; break;
      case 'Statement Captured': a.statements++; if (p.public) a.publicStatements++; analyse(a, p.text, 1, t > end - 90 * DAY); break;
      case 'Email Delivered': a.delivered++; break;
      case 'Email Opened': a.opened++; break;
      case 'Email Link Clicked': a.clicked++; break;
      case 'Unsubscribed': case 'Email Marked as Spam': a.unsub = 1; break;
      case 'Membership Started': a.membership = 1; a.membershipAt = t; if (p.contract) a.contract = 1; break;
      case 'Membership Cancelled': a.membership = 0; break;
      case 'Product Viewed': if (t > end - 90 * DAY) a.pages++; break;
      case 'Survey Answered': if (typeof p.nps === 'number') a.nps = p.nps; if (p.lens) a.labels[p.lens] = p.relationship; break;
    }
  }
  const out = new Map<string, { x: number[]; labels: Record<string, string> }>();
  const names: string[] = [];
  for (const [id, a] of byId) {
    const f: Record<string, number> = {};
    const n = a.orders.length;
    const last = n ? (a.orders[n - 1] as number) : a.first;
    const first = n ? (a.orders[0] as number) : a.first;
    f.orders = Math.log1p(n);
    f.recency = (end - last) / DAY / 100;
    f.sinceFirst = (end - first) / DAY / 100;
    f.freq90 = Math.log1p(a.orders.filter((x) => x > end - 90 * DAY).length);
    const prev90 = a.orders.filter((x) => x > end - 180 * DAY && x <= end - 90 * DAY).length;
    f.trend = Math.log((a.orders.filter((x) => x > end - 90 * DAY).length + 1) / (prev90 + 1));
    const rev = a.revenue.reduce((s, x) => s + x, 0);
    f.revenue = Math.log1p(Math.max(0, rev));
    f.aov = Math.log1p(n ? rev / n : 0);
    const gaps = a.orders.slice(1).map((x, i) => x - (a.orders[i] as number));
    const mean = gaps.reduce((s, x) => s + x, 0) / Math.max(1, gaps.length);
    const sd = Math.sqrt(gaps.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, gaps.length));
    f.regularity = gaps.length >= 2 ? Math.max(0, Math.min(1, 1 - sd / Math.max(1, mean))) : 0;
    f.single = n === 1 ? 1 : 0;
    f.breadth = a.cats.size;
    f.discount = n ? a.discounted / n : 0;
    f.returns = n ? a.refunds / n : 0;
    const q = new Map<number, number>();
    for (const x of a.orders) { const k = Math.floor(new Date(x).getUTCMonth() / 3); q.set(k, (q.get(k) ?? 0) + 1); }
    f.seasonality = n >= 3 ? Math.max(...q.values()) / n : 0.5;
    f.sow = a.sow; f.sowKnown = a.sow >= 0 ? 1 : 0;
    f.agent = Math.log1p(a.agent); f.self = Math.log1p(a.self);
    f.selfRatio = a.agent + a.self ? a.self / (a.agent + a.self) : -1;
    f.complaints = Math.log1p(a.complaints); f.complaints90 = Math.log1p(a.complaints90);
    f.complaintRate = a.complaints / Math.max(1, n);
    f.reco = Math.log1p(a.reco); f.community = Math.log1p(a.community); f.reviews = Math.log1p(a.reviews);
    f.ideas = Math.log1p(a.ideas); f.referrals = Math.log1p(a.referrals);
    f.statements = Math.log1p(a.statements);
    f.publicShare = a.statements ? a.publicStatements / a.statements : -1;
    f.delivered = Math.log1p(a.delivered);
    f.openRate = a.delivered ? a.opened / a.delivered : -1; f.clickRate = a.delivered ? a.clicked / a.delivered : -1;
    f.unsub = a.unsub; f.pages = Math.log1p(a.pages);
    for (const k of Object.keys(CUES)) f[`cue_${k}`] = Math.log1p(a.cues[k] ?? 0);
    f.switch90 = Math.log1p(a.recentCues.switching ?? 0);
    f.neg90 = Math.log1p((a.recentCues.negative ?? 0) + (a.recentCues.entitlement ?? 0));
    f.pos90 = Math.log1p((a.recentCues.love ?? 0) + (a.recentCues.positive ?? 0) + (a.recentCues.advocacy ?? 0));
    const silenceDays = (end - last) / DAY;
    f.dropping = n >= 2 ? (silenceDays > 30 && silenceDays > 2.5 * (mean / DAY) ? 1 : 0) : silenceDays > 45 ? 1 : 0;
    f.lapsedish = silenceDays > 120 ? 1 : 0;
    f.silence = gaps.length ? Math.log1p((end - last) / Math.max(DAY, mean)) : Math.log1p((end - last) / (60 * DAY));
    f.membership = a.membership; f.contract = a.contract;
    f.membershipDays = a.membership ? (end - a.membershipAt) / DAY / 100 : 0;
    f.partnerAcq = a.partnerAcq; f.dedicated = a.dedicated; f.social = a.social;
    if (!names.length) names.push(...Object.keys(f));
    out.set(id, { x: names.map((k) => f[k] as number), labels: a.labels });
  }
  FEATURE_NAMES.length = 0;
  FEATURE_NAMES.push(...names);
  return out;
}

/** A trained softmax-regression model. */
export interface Model {
  classes: string[];
  mean: number[];
  sd: number[];
  w: number[][];
}

/** Trains multinomial logistic regression (full-batch gradient descent with L2) on standardised features. */
export function train(xs: number[][], ys: string[], iterations = 400, lr = 0.5, l2 = 1e-3): Model {
  const classes = [...new Set(ys)].sort();
  const d = (xs[0]?.length ?? 0);
  const mean = Array.from({ length: d }, (_, j) => xs.reduce((s, x) => s + (x[j] as number), 0) / xs.length);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(xs.reduce((s, x) => s + ((x[j] as number) - (mean[j] as number)) ** 2, 0) / xs.length) || 1);
  const z = xs.map((x) => [1, ...x.map((v, j) => (v - (mean[j] as number)) / (sd[j] as number))]);
  const w = classes.map(() => new Array(d + 1).fill(0) as number[]);
  const yi = ys.map((y) => classes.indexOf(y));
  for (let it = 0; it < iterations; it++) {
    const grad = classes.map(() => new Array(d + 1).fill(0) as number[]);
    z.forEach((x, i) => {
      const s = w.map((wc) => wc.reduce((acc, v, j) => acc + v * (x[j] as number), 0));
      const mx = Math.max(...s);
      const e = s.map((v) => Math.exp(v - mx));
      const tot = e.reduce((a, b) => a + b, 0);
      e.forEach((v, c) => {
        const g = v / tot - (c === yi[i] ? 1 : 0);
        const gc = grad[c] as number[];
        for (let j = 0; j <= d; j++) gc[j]! += g * (x[j] as number);
      });
    });
    w.forEach((wc, c) => {
      for (let j = 0; j <= d; j++) wc[j]! -= lr * (((grad[c] as number[])[j] as number) / z.length + (j ? l2 * (wc[j] as number) : 0));
    });
  }
  return { classes, mean, sd, w };
}

/** Predicts the class of one feature vector. */
export function predict(model: Model, x: number[]): string {
  const z = [1, ...x.map((v, j) => (v - (model.mean[j] as number)) / (model.sd[j] as number))];
  let best = 0;
  let bestS = -Infinity;
  model.w.forEach((wc, c) => {
    const s = wc.reduce((acc, v, j) => acc + v * (z[j] as number), 0);
    if (s > bestS) { bestS = s; best = c; }
  });
  return model.classes[best] as string;
}
