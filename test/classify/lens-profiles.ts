import type { Indicators } from '../../src/domain/indicator-catalogue';

/**
 * Hand-made indicator profiles for the built-in lenses (shared by the classifier tests and the
 * benchmark). `BASE` is an ordinary repeat customer; each profile overrides what makes a type.
 */
export const BASE: Indicators = {
  recency_days: 20, frequency_90d: 2, orders_total: 8, monetary_365d: 400, tenure_days: 800, days_since_first_order: 780,
  purchase_regularity: 0.5, frequency_trend: 1, category_breadth: 3, discount_share: 0.1, return_rate: 0.02, seasonality: 0.4,
  share_of_wallet: -1, heavy_user: 0, p_alive: 0.8, support_contacts_90d: 0, complaints_90d: 0, complaint_rate: 0,
  self_service_ratio: -1, agent_contact_share: 0, dedicated_contact: 0, automation_uses_90d: 0, community_posts_90d: 0,
  community_posts_total: 0, reviews_written: 0, ideas_submitted: 0, referrals: 0, public_statement_share: -1,
  email_open_rate: 0.2, email_click_rate: 0.05, engagement_90d: 5, statements_total: 0, sentiment_ewma: 0, sentiment_trend: 0,
  cue_love: 0, cue_advocacy: 0, cue_switching: 0, cue_price: 0, cue_convenience: 0, cue_family: 0, cue_nostalgia: 0,
  cue_excitement: 0, cue_competitor_negative: 0, cue_partnership: 0, cue_entitlement: 0, nps: -1, membership_active: 0,
  contract_active: 0, membership_days: 0, acquired_via_partner: 0,
};

/** [expected type, indicator overrides, traits] per lens. */
export const PROFILES: Record<string, [string, Indicators, Record<string, unknown>?][]> = {
  lifecycle: [
    ['lapsed', { orders_total: 1, days_since_first_order: 400, recency_days: 400, tenure_days: 400, p_alive: 0.05, frequency_90d: 0 }],
    ['new', { orders_total: 1, days_since_first_order: 10, recency_days: 10, tenure_days: 12, p_alive: 0.9 }],
    ['valued_heavy_user', { heavy_user: 1, orders_total: 25, p_alive: 0.95 }],
    ['at_risk', { p_alive: 0.4, complaints_90d: 2, cue_switching: 1.2, sentiment_trend: -0.4 }],
    ['established', {}],
  ],
  swinscoe: [
    ['one_night_stand', { orders_total: 1, recency_days: 300, p_alive: 0.1, engagement_90d: 0, frequency_90d: 0 }],
    ['married', { contract_active: 1, membership_active: 1, membership_days: 400, tenure_days: 1000 }],
    ['dating', { discount_share: 0.8, share_of_wallet: 0.15, cue_price: 1, promo_response_rate: 0.5, purchase_regularity: 0.1 }],
    ['engaged', { membership_active: 1, membership_days: 30, cue_advocacy: 1, engagement_90d: 20 }],
    ['partner', { tenure_days: 1200, cue_advocacy: 1.5, referrals: 3, purchase_regularity: 0.7, share_of_wallet: 0.8 }],
    ['boyfriend_girlfriend', { orders_total: 5, frequency_trend: 1.5, sentiment_ewma: 0.4, email_open_rate: 0.5, tenure_days: 300 }],
  ],
  canvas: [
    ['self_service', { self_service_ratio: 0.95, support_contacts_90d: 0 }],
    ['communities', { community_posts_90d: 6, community_posts_total: 30, public_statement_share: 0.9 }],
    ['dedicated_personal_assistance', { dedicated_contact: 1, heavy_user: 1, support_contacts_90d: 2, agent_contact_share: 1 }, { customer_type: 'Business' }],
    ['personal_assistance', { agent_contact_share: 0.9, support_contacts_90d: 3, self_service_ratio: 0.1 }],
    ['automated_services', { automation_uses_90d: 8, email_click_rate: 0.2, engagement_90d: 30 }],
    ['co_creation', { ideas_submitted: 3, reviews_written: 5, cue_partnership: 1 }],
  ],
  fournier: [
    ['enmity', { sentiment_ewma: -0.7, complaints_90d: 3, cue_switching: 1, return_rate: 0.4, public_statement_share: 0.8, statements_total: 6 }],
    ['kinship', { cue_family: 2, tenure_days: 2000 }],
    ['committed_partnership', { tenure_days: 1500, purchase_regularity: 0.8, membership_active: 1, cue_love: 2, cue_advocacy: 1, share_of_wallet: 0.9, email_open_rate: 0.6, sentiment_ewma: 0.6 }],
    ['arranged_marriage', { acquired_via_partner: 1, share_of_wallet: 0.9, engagement_90d: 1 }],
    ['rebound', { cue_competitor_negative: 1.5, days_since_first_order: 40, tenure_days: 40, frequency_trend: 2 }],
    ['fling', { cue_excitement: 1.5, tenure_days: 100, days_since_first_order: 100, orders_total: 4, recency_days: 70 }],
    ['enslavement', { contract_active: 1, sentiment_ewma: -0.35, complaints_90d: 2, cue_switching: 1, engagement_90d: 1, frequency_90d: 2 }],
    ['secret_affair', { public_statement_share: 0, statements_total: 5, cue_love: 1 }, { social_sharing: false }],
    ['childhood_friendship', { cue_nostalgia: 1.5, frequency_90d: 0, sentiment_ewma: 0.4 }],
    ['dependency', { frequency_90d: 15, cue_love: 3, complaints_90d: 1, p_alive: 0.99 }],
    ['compartmentalised_friendship', { seasonality: 1, category_breadth: 1, sentiment_ewma: 0.3 }],
    ['marriage_of_convenience', { cue_convenience: 1.5, purchase_regularity: 0.7, share_of_wallet: 0.8 }],
    ['best_friendship', { reviews_written: 4, community_posts_90d: 2, referrals: 3, cue_advocacy: 2, sentiment_ewma: 0.7, public_statement_share: 0.8 }],
    ['courtship', { frequency_trend: 2, days_since_first_order: 200, tenure_days: 200, category_breadth: 5, sentiment_trend: 0.3, email_open_rate: 0.5 }],
    ['casual_friends', { purchase_regularity: 0.1, frequency_90d: 0, tenure_days: 900, orders_total: 4, sentiment_ewma: 0.2, email_open_rate: 0.05 }],
  ],
};
