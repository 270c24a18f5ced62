import type { Channel } from '../domain/contact-policy';
import type { CustomerView } from './types';

/**
 * True when the engine's processed state says the customer opted out of marketing e-mail (the
 * `unsubscribed` indicator: an unsubscribe or spam complaint not followed by a re-subscription).
 *
 * Why this beside the suppression list: the automation records suppressions as it reads the
 * processed events, in log order. After a backlog (a restart, a scaled-out dispatcher catching up,
 * one dispatcher planning while another sends), an action planned from an earlier event can come due
 * before the planner has reached the customer's later unsubscribe. The customer's state already
 * knows, so the send is blocked: no customer who opted out is contacted.
 */
export function optedOutPerEngine(view: Pick<CustomerView, 'indicators'>, channel: Channel, transactional: boolean): boolean {
  return !transactional && channel === 'email' && view.indicators['unsubscribed'] === 1;
}
