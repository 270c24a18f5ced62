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
 * `notConfigured` (the channel has no settings yet, e.g. no SMTP URL) fails the action without a dead letter;
 * `aborted`: the send stopped because its {@link SendOptions.commitPoint} said no (or failed), before the
 * receiver took the message, so nothing was delivered.
 * `unconfirmed` on a success: the message passed the commit point and was handed over in full, but the
 * receiver's reply never came (connection lost after the end of data); it is counted as sent, since sending
 * it again could deliver it twice.
 */
export type SendResult =
  | { readonly ok: true; readonly providerId?: string; readonly unconfirmed?: string }
  | {
      readonly ok: false;
      readonly permanent: boolean;
      readonly error: string;
      readonly hardBounce?: boolean;
      readonly notConfigured?: boolean;
      readonly aborted?: boolean;
    };

/** Per-send options. Adapters that cannot honour one ignore it (see each option). */
export interface SendOptions {
  /**
   * Exactly-once hand-over. Called once during the send, at the last moment the send can still be undone
   * without the receiver keeping anything; the send completes only if it resolves true, and is aborted
   * (result `aborted: true`, nothing delivered) if it resolves false or rejects.
   *
   * Why: the caller makes it durably record "handed over" (the automation marks the action in its store,
   * under the lease it holds). A process that dies after the mark is known to have (almost certainly)
   * delivered, so the action is not sent again; one that dies before it is known not to have delivered
   * (the receiver discards an unfinished transaction), so the action is sent again. That turns
   * at-least-once into effectively exactly-once, leaving only the instant between the mark and the
   * receiver's acceptance as a window where a crash loses a message instead of repeating it.
   *
   * SMTP (src/adapters/smtp/smtp-channel.ts) calls it inside the DATA phase, after the server accepted the
   * recipient and the whole message but before the terminating `<CRLF>.<CRLF>`. Webhooks do not use it: an
   * HTTP request has no such point, so they stay at-least-once with the `Idempotency-Key` header for the
   * receiver to drop repeats. Store-backed channels (task, in-app) dedupe by key themselves.
   */
  readonly commitPoint?: () => Promise<boolean>;
}

/** One channel. */
export interface ChannelAdapter {
  readonly channel: Channel;
  /**
   * True when a repeated send with the same idempotency key has no extra effect at the receiver
   * (webhook: Idempotency-Key header; SMTP: Message-ID derived from the key; store-backed: unique key).
   * Only such channels are retried after a crash left an action in flight.
   */
  readonly idempotent: boolean;
  /** Sends one message; `opts.commitPoint` where the adapter supports one (email over SMTP). */
  send(message: OutboundMessage, opts?: SendOptions): Promise<SendResult>;
  /** Releases connections. */
  close?(): Promise<void>;
}
