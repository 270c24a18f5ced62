import type { FastifyInstance } from 'fastify';
import { sendSmtpTestEmail } from '../adapters/smtp/smtp-test-send';
import { channelBaselineFromEnv, createChannelSettings, type ChannelSettings } from '../automation/channel-settings';
import { registerChannelSettingsRoutes } from '../http/settings-routes';
import type { SettingsStore } from '../ports/settings-store';

/** Dependencies of {@link wireChannelSettings}. */
export interface ChannelSettingsWiring {
  readonly store: SettingsStore;
  readonly env: NodeJS.ProcessEnv;
  /** The automation's signing secret (the webhook secret unless the settings override it). */
  readonly signingSecret: string;
  readonly publicUrl: string;
  readonly now: () => number;
}

/**
 * The channel settings service over the settings store, with its routes (`/api/settings/channels`, test e-mail
 * over a real SMTP connection). Pass the result to `createDefaultChannels({ settings })` so e-mail and webhooks follow it.
 */
export function wireChannelSettings(server: FastifyInstance, deps: ChannelSettingsWiring): ChannelSettings {
  const settings = createChannelSettings({ store: deps.store, baseline: channelBaselineFromEnv(deps.env, deps.signingSecret), publicUrl: deps.publicUrl, now: deps.now });
  registerChannelSettingsRoutes(server, { settings, sendTestEmail: (o) => sendSmtpTestEmail(o), now: deps.now });
  return settings;
}
