import { createSmtpChannel } from '../adapters/smtp/smtp-channel';
import { createWebhookChannel } from '../adapters/webhook/webhook-channel';
import type { Channel } from '../domain/contact-policy';
import type { AutomationStore } from '../ports/automation-store';
import type { ChannelAdapter, SendResult } from '../ports/channel';
import type { EffectiveChannels } from './channel-settings';
import { DEFAULT_SMTP_FROM } from './config';
import { createInAppChannel, createTaskChannel } from './store-channels';

/** Where the switchable channels read their configuration (see `createChannelSettings`). */
export interface ChannelConfigSource {
  current(): Promise<EffectiveChannels>;
}

/** The SMTP settings one transport is built from. */
export type EmailChannelConfig = EffectiveChannels['email'] & { readonly smtpUrl: string };

/**
 * The standard channel set: email over SMTP, signed webhooks, tasks and in-app messages in the store.
 * With `settings`, email and webhooks follow the settings saved from the dashboard at run time (see
 * {@link createSwitchableEmailChannel}); without, email is on when `RAPPORT_SMTP_URL` is set (sender `RAPPORT_SMTP_FROM`).
 */
export function createDefaultChannels(opts: {
  store: AutomationStore;
  signingSecret: string;
  env?: NodeJS.ProcessEnv;
  smtpConnections?: number;
  settings?: ChannelConfigSource;
}): Partial<Record<Channel, ChannelAdapter>> {
  const env = opts.env ?? process.env;
  const channels: Partial<Record<Channel, ChannelAdapter>> = {
    webhook: opts.settings ? createSwitchableWebhookChannel({ settings: opts.settings }) : createWebhookChannel({ secret: opts.signingSecret }),
    task: createTaskChannel(opts.store),
    in_app: createInAppChannel(opts.store),
  };
  if (opts.settings) {
    channels.email = createSwitchableEmailChannel({ settings: opts.settings });
  } else if (env.RAPPORT_SMTP_URL) {
    channels.email = createSmtpChannel({
      url: env.RAPPORT_SMTP_URL,
      from: env.RAPPORT_SMTP_FROM ?? DEFAULT_SMTP_FROM,
      maxConnections: opts.smtpConnections ?? 5,
    });
  }
  return channels;
}

/** Options of {@link createSwitchableEmailChannel}. */
export interface SwitchableEmailOptions {
  readonly settings: ChannelConfigSource;
  /** Builds one pooled SMTP channel (default: nodemailer's pool, `createSmtpChannel`). */
  readonly create?: (c: EmailChannelConfig) => ChannelAdapter;
}

interface Generation {
  readonly key: string;
  readonly adapter: ChannelAdapter;
  inFlight: number;
  retired: boolean;
  closed?: Promise<void>;
}

/**
 * Email whose SMTP transport follows the settings: every send reads the effective configuration (cached by
 * the settings service) and, when the URL, sender or pool changed, opens a new pool for it; the old pool is
 * closed once the sends it already started have finished, so nothing in flight is cut off. Without an SMTP
 * URL a send fails permanently with a message saying how to configure one. Send options (the commit point)
 * are passed through to the pool.
 */
export function createSwitchableEmailChannel(opts: SwitchableEmailOptions): ChannelAdapter {
  const create =
    opts.create ?? ((c: EmailChannelConfig) => createSmtpChannel({ url: c.smtpUrl, from: c.from, maxConnections: c.maxConnections, ratePerSecond: c.ratePerSecond }));
  let current: Generation | null = null;
  const retiring = new Set<Generation>();

  const finish = (g: Generation) => {
    if (!g.retired || g.inFlight > 0 || g.closed) return;
    g.closed = (g.adapter.close?.() ?? Promise.resolve()).catch(() => undefined).finally(() => retiring.delete(g));
  };
  const retire = (g: Generation | null) => {
    if (!g) return;
    g.retired = true;
    retiring.add(g);
    finish(g);
  };

  return {
    channel: 'email',
    idempotent: true,
    async send(m, sendOpts): Promise<SendResult> {
      const cfg = (await opts.settings.current()).email;
      if (!cfg.smtpUrl) {
        if (current) retire(current);
        current = null;
        return { ok: false, permanent: true, notConfigured: true, error: 'no email channel configured: set the SMTP URL in Settings or RAPPORT_SMTP_URL' };
      }
      const key = JSON.stringify([cfg.smtpUrl, cfg.from, cfg.maxConnections, cfg.ratePerSecond]);
      // No await between the comparison and the swap: concurrent sends agree on one generation.
      if (!current || current.key !== key) {
        retire(current);
        current = { key, adapter: create({ ...cfg, smtpUrl: cfg.smtpUrl }), inFlight: 0, retired: false };
      }
      const g = current;
      g.inFlight++;
      try {
        // The commit point (exactly-once hand-over) goes to the pool that sends.
        return await g.adapter.send(m, sendOpts);
      } finally {
        g.inFlight--;
        finish(g);
      }
    },
    async close() {
      retire(current);
      current = null;
      await Promise.all([...retiring].map((g) => g.closed ?? Promise.resolve()));
    },
  };
}

/** Webhooks signed with the secret and bounded by the timeout the settings give at the time of each call. */
export function createSwitchableWebhookChannel(opts: { settings: ChannelConfigSource; now?: () => number }): ChannelAdapter {
  let current: { key: string; adapter: ChannelAdapter } | null = null;
  return {
    channel: 'webhook',
    idempotent: true,
    async send(m) {
      const w = (await opts.settings.current()).webhooks;
      const key = `${w.timeoutMs}:${w.secret}`;
      if (!current || current.key !== key) {
        current = { key, adapter: createWebhookChannel({ secret: w.secret, timeoutMs: w.timeoutMs, ...(opts.now ? { now: opts.now } : {}) }) };
      }
      return current.adapter.send(m);
    },
  };
}
