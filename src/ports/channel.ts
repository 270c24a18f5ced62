import type { Channel } from '../domain/contact-policy';

/**
 * The channel port: one adapter per channel (email over SMTP, webhook, task, in-app). The automation
 * engine renders the message, checks consent and policy, and hands the adapter a finished message.
 * Adapters: src/adapters/smtp/smtp-channel.ts, src/adapters/webhook/webhook-channel.ts,
 * src/automation/store-channels.ts (task, in_app).
 */

/** Fields every outbound message carries. */
export interface OutboundBase {
  /** (playbook, step, customer, trigger) — the same key is never acted on twice by a receiver that dedupes on it. */
  readonly idempotencyKey: string;
  readonly actionId: string;
  readonly customerId: string;
  readonly userId: string;
  readonly playbookId: string;
  readonly stepId: string;
  readonly variant: string | null;
  readonly promotional: boolean;
  readonly transactional: boolean;
}

/** An email ready to send. */
export interface EmailMessage extends OutboundBase {
  readonly channel: 'email';
  readonly to: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** Extra headers (List-Unsubscribe, List-Unsubscribe-Post, X-Rapport-*). */
  readonly headers: Readonly<Record<string, string>>;
}

/** A webhook call ready to make. */
export interface WebhookMessage extends OutboundBase {
  readonly channel: 'webhook';
  readonly url: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** A task for a person or a queue. */
export interface TaskMessage extends OutboundBase {
  readonly channel: 'task';
  readonly assignee: string;
  readonly queue: string | null;
  readonly kind: 'personal' | 'dedicated';
  readonly title: string;
  readonly description: string;
  readonly dueAt: number | null;
  readonly createdAt: number;
}

/** An in-app message the app pulls from `GET /v1/inbox/:userId`. */
export interface InAppMessage extends OutboundBase {
  readonly channel: 'in_app';
  readonly title: string;
  readonly body: string;
  readonly createdAt: number;
}

/** Any outbound message. */
export type OutboundMessage = EmailMessage | WebhookMessage | TaskMessage | InAppMessage;

/**
 * Outcome of one send. `permanent` failures are not retried; `hardBounce` suppresses the address;
 * `notConfigured` (the channel has no settings yet, e.g. no SMTP URL) fails the action without a dead letter.
 */
export type SendResult =
  | { readonly ok: true; readonly providerId?: string }
  | { readonly ok: false; readonly permanent: boolean; readonly error: string; readonly hardBounce?: boolean; readonly notConfigured?: boolean };

/** One channel. */
export interface ChannelAdapter {
  readonly channel: Channel;
  /**
   * True when a repeated send with the same idempotency key has no extra effect at the receiver
   * (webhook: Idempotency-Key header; SMTP: Message-ID derived from the key; store-backed: unique key).
   * Only such channels are retried after a crash left an action in flight.
   */
  readonly idempotent: boolean;
  send(message: OutboundMessage): Promise<SendResult>;
  /** Releases connections. */
  close?(): Promise<void>;
}
