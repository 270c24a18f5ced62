import { createSmtpChannel } from '../adapters/smtp/smtp-channel';
import { createWebhookChannel } from '../adapters/webhook/webhook-channel';
import type { Channel } from '../domain/contact-policy';
import type { AutomationStore } from '../ports/automation-store';
import type { ChannelAdapter } from '../ports/channel';
import { createInAppChannel, createTaskChannel } from './store-channels';

/**
 * The standard channel set: email over SMTP when `RAPPORT_SMTP_URL` is set (sender
 * `RAPPORT_SMTP_FROM`), signed webhooks, tasks and in-app messages in the store.
 */
export function createDefaultChannels(opts: {
  store: AutomationStore;
  signingSecret: string;
  env?: NodeJS.ProcessEnv;
  smtpConnections?: number;
}): Partial<Record<Channel, ChannelAdapter>> {
  const env = opts.env ?? process.env;
  const channels: Partial<Record<Channel, ChannelAdapter>> = {
    webhook: createWebhookChannel({ secret: opts.signingSecret }),
    task: createTaskChannel(opts.store),
    in_app: createInAppChannel(opts.store),
  };
  if (env.RAPPORT_SMTP_URL) {
    channels.email = createSmtpChannel({
      url: env.RAPPORT_SMTP_URL,
      from: env.RAPPORT_SMTP_FROM ?? 'Rapport <no-reply@localhost>',
      maxConnections: opts.smtpConnections ?? 5,
    });
  }
  return channels;
}
