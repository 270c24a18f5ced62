/**
 * The event vocabulary Rapport understands out of the box: Segment semantic events and the
 * relationship events of DESIGN.md. Properties follow the Segment spec where one exists.
 * A user's own event names map onto these through `mapping` in rapport.config.yaml
 * (see src/indicators/event-mapping.ts).
 */
export const VOCABULARY = {
  // E-commerce (Segment spec). Properties: order_id, revenue|total, discount, coupon, currency,
  // products: [{product_id, category, price, quantity}]
  orderCompleted: 'Order Completed',
  orderRefunded: 'Order Refunded', // order_id, revenue|total
  productViewed: 'Product Viewed', // product_id, category
  productAdded: 'Product Added',
  productsSearched: 'Products Searched',
  // Email (Segment spec). Properties: email_id, campaign_id, email_subject, link_url, promotional (bool, ours)
  emailDelivered: 'Email Delivered',
  emailOpened: 'Email Opened',
  emailLinkClicked: 'Email Link Clicked',
  emailBounced: 'Email Bounced', // bounce_type: 'hard' | 'soft'
  emailMarkedAsSpam: 'Email Marked as Spam',
  unsubscribed: 'Unsubscribed',
  subscribed: 'Subscribed',
  // Relationship events (DESIGN.md).
  supportTicketCreated: 'Support Ticket Created', // channel: phone|chat|email|in_store|self_service, agent: bool, text
  selfServiceUsed: 'Self Service Used', // topic (help-centre article, FAQ, account page)
  complaintFiled: 'Complaint Filed', // text, severity
  surveyAnswered: 'Survey Answered', // nps (0-10), relationship (self-reported label), lens, comment
  reviewSubmitted: 'Review Submitted', // rating, text
  communityPostCreated: 'Community Post Created', // text, reply (bool)
  ideaSubmitted: 'Idea Submitted', // text
  referralSent: 'Referral Sent',
  statementCaptured: 'Statement Captured', // text, channel: twitter|facebook|instagram|chat|ticket|survey|review|community|email, public (bool), lang
  membershipStarted: 'Membership Started', // plan, contract (bool)
  membershipCancelled: 'Membership Cancelled',
  recommendationClicked: 'Recommendation Clicked', // automated-service use
  accountManagerAssigned: 'Account Manager Assigned', // manager
  taskCompleted: 'Task Completed', // task_id, outcome
} as const;

/** A canonical event name. */
export type VocabularyEvent = (typeof VOCABULARY)[keyof typeof VOCABULARY];

/** All canonical event names. */
export const VOCABULARY_EVENTS: ReadonlySet<string> = new Set(Object.values(VOCABULARY));

/** Property names whose string values are analysed as statements when present on any track event. */
export const TEXT_PROPERTIES: readonly string[] = ['text', 'comment', 'message', 'body', 'review_text'];
