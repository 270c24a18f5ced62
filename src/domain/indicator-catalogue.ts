/**
 * The indicator catalogue: every indicator's name, unit and group. Lenses may only reference
 * names listed here (or `traits.<name>` for any profile trait). Formulas and windows are
 * documented in docs/indicators.md and implemented in src/indicators/.
 */

/** Relationship cues found in statements, in state order; each is the indicator `cue_<name>`. */
export const CUE_NAMES = [
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
] as const;

/** One relationship cue. */
export type CueName = (typeof CUE_NAMES)[number];

/** Indicator groups, as in DESIGN.md's catalogue. */
export type IndicatorGroup =
  | 'transactions'
  | 'value'
  | 'service'
  | 'community'
  | 'communication'
  | 'statements'
  | 'surveys'
  | 'membership';

/** One catalogue entry. */
export interface IndicatorSpec {
  readonly name: string;
  readonly group: IndicatorGroup;
  readonly unit: string;
  readonly description: string;
}

const spec = (name: string, group: IndicatorGroup, unit: string, description: string): IndicatorSpec => ({
  name,
  group,
  unit,
  description,
});

/** The full catalogue, in display order. */
export const INDICATOR_CATALOGUE: readonly IndicatorSpec[] = [
  // transactions
  spec('recency_days', 'transactions', 'days', 'Days from the last completed order to the read time (default: the customer\'s latest event time); -1 without orders.'),
  spec('frequency_90d', 'transactions', 'orders', 'Completed orders in the last 13 calendar weeks of event time (current week included: 85-91 days).'),
  spec('orders_total', 'transactions', 'orders', 'Completed orders over the whole history.'),
  spec('monetary_365d', 'transactions', 'currency', 'Revenue from completed orders minus refunds in the last 13 four-week periods of event time (337-364 days).'),
  spec('revenue_total', 'transactions', 'currency', 'Revenue from completed orders minus refunds over the whole history.'),
  spec('avg_order_value', 'transactions', 'currency', 'Mean revenue per completed order; -1 without orders.'),
  spec('tenure_days', 'transactions', 'days', 'Days from the first event to the read time (default: the latest event); -1 without events.'),
  spec('days_since_first_order', 'transactions', 'days', 'Days from the first completed order to the read time; -1 without orders.'),
  spec('purchase_regularity', 'transactions', 'ratio 0..1', '1 - coefficient of variation of the gaps (days) between distinct purchase days (clamped to 0..1); 0 with fewer than 3 purchase days.'),
  spec('frequency_trend', 'transactions', 'ratio', '(Orders in the last 13 weeks + 1) / (orders in the 13 weeks before them + 1); > 1 means rising.'),
  spec('category_breadth', 'transactions', 'categories', 'Distinct product categories bought (exact up to 8, then a linear-counting estimate, about +-5 %).'),
  spec('discount_share', 'transactions', 'ratio 0..1', 'Share of orders with a discount or coupon; -1 without orders.'),
  spec('return_rate', 'transactions', 'ratio 0..1', 'Refunds divided by completed orders (at most 1); -1 without orders.'),
  spec('seasonality', 'transactions', 'ratio 0..1', 'Share of orders falling in the customer\'s busiest calendar quarter (1 = all in one season); -1 with fewer than 3 orders.'),
  spec('share_of_wallet', 'transactions', 'ratio 0..1', 'From the trait share_of_wallet (0..1, or a percentage) when known, else -1.'),
  // value (filled by the value models, src/value)
  spec('heavy_user', 'value', '0/1', '1 when the customer is in the top share of value (default top 20 %); -1 when the value models have not run.'),
  spec('p_alive', 'value', 'probability', 'BG/NBD probability the customer is still active; -1 when unknown.'),
  spec('expected_purchases_90d', 'value', 'orders', 'BG/NBD expected purchases in the next 90 days; -1 when unknown.'),
  spec('clv_12m', 'value', 'currency', 'Expected value over the next 12 months (BG/NBD x Gamma-Gamma, discounted); -1 when unknown.'),
  // service
  spec('support_contacts_90d', 'service', 'contacts', 'Support tickets (any channel) in the last 13 weeks.'),
  spec('support_contacts_total', 'service', 'contacts', 'Support tickets (any channel) over the whole history.'),
  spec('complaints_90d', 'service', 'complaints', 'Complaints filed in the last 13 weeks.'),
  spec('complaint_rate', 'service', 'ratio', 'Complaints divided by max(1, completed orders).'),
  spec('self_service_ratio', 'service', 'ratio 0..1', 'Self-service uses divided by self-service uses plus agent contacts; -1 when neither.'),
  spec('agent_contact_share', 'service', 'ratio 0..1', 'Share of support tickets handled by a person (agent, or a channel other than self_service); -1 without tickets.'),
  spec('dedicated_contact', 'service', '0/1', '1 when the customer has an account manager (trait account_manager or dedicated event).'),
  spec('automation_uses_90d', 'service', 'uses', 'Automated-service uses (Recommendation Clicked) in the last 13 weeks.'),
  // community and co-creation
  spec('community_posts_90d', 'community', 'posts', 'Community posts and answers in the last 13 weeks.'),
  spec('community_posts_total', 'community', 'posts', 'Community posts and answers over the whole history.'),
  spec('reviews_written', 'community', 'reviews', 'Reviews submitted over the whole history.'),
  spec('ideas_submitted', 'community', 'ideas', 'Ideas submitted over the whole history.'),
  spec('referrals', 'community', 'referrals', 'Referrals sent over the whole history.'),
  spec('public_statement_share', 'community', 'ratio 0..1', 'Share of statements made in public channels (social, review, community); -1 when none.'),
  // communication
  spec('emails_delivered', 'communication', 'emails', 'Emails delivered over the whole history.'),
  spec('email_open_rate', 'communication', 'ratio 0..1', 'Opens divided by deliveries, both exponentially weighted (half-life 90 days); -1 without deliveries or opens.'),
  spec('email_click_rate', 'communication', 'ratio 0..1', 'Clicks divided by deliveries, both exponentially weighted (half-life 90 days); -1 without deliveries or opens.'),
  spec('unsubscribed', 'communication', '0/1', '1 after an unsubscribe or spam complaint, until re-subscribed.'),
  spec('promo_response_rate', 'communication', 'ratio 0..1', 'Share of promotional emails (promotional: true) followed by an order within 7 days; -1 without promotional emails.'),
  spec('best_send_hour', 'communication', 'hour 0..23', 'Hour of day (context.timezone, else UTC) with the most email opens/clicks, else the most page/screen/product views; -1 when unknown.'),
  spec('engagement_90d', 'communication', 'interactions', 'Email opens and clicks, page views, app screens, product views/adds/searches in the last 13 weeks.'),
  // statements
  spec('statements_total', 'statements', 'statements', 'Statements analysed over the whole history.'),
  spec('sentiment_ewma', 'statements', 'score -1..1', 'Exponentially weighted mean of statement sentiment (half-life 60 days); 0 without statements.'),
  spec('sentiment_trend', 'statements', 'score', 'Sentiment weighted with a 30-day half-life (roughly the last 90 days) minus the all-time mean; 0 without statements.'),
  spec('cue_love', 'statements', 'weighted count', 'Love/devotion cues (decayed, half-life 180 days).'),
  spec('cue_advocacy', 'statements', 'weighted count', 'Advocacy cues: defends or recommends the brand (decayed).'),
  spec('cue_entitlement', 'statements', 'weighted count', 'Entitlement/demand cues: "I expect", "you owe me" (decayed).'),
  spec('cue_price', 'statements', 'weighted count', 'Price-only/transactional cues (decayed).'),
  spec('cue_switching', 'statements', 'weighted count', 'Switching-intent cues (decayed).'),
  spec('cue_partnership', 'statements', 'weighted count', 'Partnership/ideas cues (decayed).'),
  spec('cue_nostalgia', 'statements', 'weighted count', 'Nostalgia cues (decayed).'),
  spec('cue_convenience', 'statements', 'weighted count', 'Convenience cues: "close by", "only option" (decayed).'),
  spec('cue_family', 'statements', 'weighted count', 'Family/heritage cues: "my mother always used" (decayed).'),
  spec('cue_excitement', 'statements', 'weighted count', 'Novelty/excitement cues (decayed).'),
  spec('cue_competitor_negative', 'statements', 'weighted count', 'Negative statements about a previous provider (decayed).'),
  // surveys
  spec('nps', 'surveys', 'score 0..10', 'Latest net-promoter answer; -1 when never answered.'),
  spec('survey_responses', 'surveys', 'answers', 'Survey answers over the whole history.'),
  // membership
  spec('membership_active', 'membership', '0/1', '1 while a membership or loyalty programme is active.'),
  spec('contract_active', 'membership', '0/1', '1 while a contract is active (membership with plan/contract, or trait contract).'),
  spec('membership_days', 'membership', 'days', 'Days since the current membership started; 0 when none.'),
  spec('acquired_via_partner', 'membership', '0/1', '1 when the trait acquisition_channel is partner/bundle/employer.'),
];

/** Set of valid indicator names. */
export const INDICATOR_NAMES: ReadonlySet<string> = new Set(INDICATOR_CATALOGUE.map((s) => s.name));

/** Indicator values for one customer, by name. */
export type Indicators = Record<string, number>;

/** True when `name` is a catalogue indicator or a `traits.<key>` reference. */
export function isKnownIndicator(name: string): boolean {
  return INDICATOR_NAMES.has(name) || /^traits\.[A-Za-z0-9_.-]+$/.test(name);
}
