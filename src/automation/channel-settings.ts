import { z } from 'zod';
import type { SettingsStore } from '../ports/settings-store';
import { DEFAULT_SMTP_FROM } from './config';

/** Settings key of the channel overrides saved from the dashboard. */
export const CHANNEL_SETTINGS_KEY = 'channels';

/** Replacement shown for every secret (SMTP password, webhook secret). */
export const MASK = '****';

/** Default SMTP pool size (connections) when neither the settings nor the environment say otherwise. */
export const DEFAULT_SMTP_MAX_CONNECTIONS = 5;
/** Default webhook request timeout. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** Why an SMTP URL is not usable, or null when it is (never echoes the URL: it may hold a password). */
export function smtpUrlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a valid URL (expected smtp://user:password@host:port or smtps://user:password@host:465)';
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') return `must start with smtp:// or smtps:// (got ${u.protocol}//)`;
  if (!u.hostname) return 'has no host (expected smtp://host:port)';
  if (u.pathname && u.pathname !== '/' && u.pathname !== '') return 'must not have a path (expected smtp://user:password@host:port)';
  return null;
}

// A bare address or `Name <address>`; the address part checked with zod's e-mail rule.
const MAILBOX = /^\s*(?:(?:"[^"\r\n]*"|[^<>"\r\n]*?)\s*<([^<>\s]+)>|([^<>\s]+))\s*$/;
const emailRule = z.email();

/** Why a sender is not usable, or null when it is. */
export function fromAddressProblem(raw: string): string | null {
  if (/[\r\n]/.test(raw)) return 'must be on one line';
  const m = MAILBOX.exec(raw);
  const address = m?.[1] ?? m?.[2];
  if (!address || !emailRule.safeParse(address).success) return 'must be an address like shop@example.com or "Shop <shop@example.com>"';
  return null;
}

const smtpUrlSchema = z
  .string()
  .trim()
  .max(2_000)
  .superRefine((v, ctx) => {
    const p = smtpUrlProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });
const fromSchema = z
  .string()
  .trim()
  .max(320)
  .superRefine((v, ctx) => {
    const p = fromAddressProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });

/** Schema of the stored overrides: every field optional (a missing field falls back to the environment or the default). */
export const channelOverridesSchema = z.strictObject({
  email: z
    .strictObject({
      smtpUrl: smtpUrlSchema.optional(),
      from: fromSchema.optional(),
      maxConnections: z.number().int().min(1).max(50).optional(),
      ratePerSecond: z.number().int().min(0).max(10_000).optional(),
    })
    .optional(),
  webhooks: z
    .strictObject({
      timeoutMs: z.number().int().min(100).max(120_000).optional(),
      secret: z.string().min(16, 'must have at least 16 characters').max(512).optional(),
    })
    .optional(),
});

/** The overrides an admin saved. */
export type ChannelOverrides = z.infer<typeof channelOverridesSchema>;

/** The channel configuration in effect (secrets in clear: never send this to a client). */
export interface EffectiveChannels {
  readonly email: { readonly smtpUrl: string | null; readonly from: string; readonly maxConnections: number; readonly ratePerSecond: number };
  readonly webhooks: { readonly timeoutMs: number; readonly secret: string };
}

/** Where an effective value comes from. */
export type SettingSource = 'settings' | 'env' | 'file' | 'default';

/** Dotted names of the editable fields. */
export const CHANNEL_FIELDS = ['email.smtpUrl', 'email.from', 'email.maxConnections', 'email.ratePerSecond', 'webhooks.timeoutMs', 'webhooks.secret'] as const;
/** One editable field. */
export type ChannelField = (typeof CHANNEL_FIELDS)[number];

/** The configuration without dashboard overrides, with where each value comes from. */
export interface ChannelBaseline {
  readonly values: EffectiveChannels;
  readonly sources: Readonly<Record<ChannelField, SettingSource>>;
}

/**
 * The baseline from the environment: `RAPPORT_SMTP_URL`, `RAPPORT_SMTP_FROM`, `RAPPORT_SMTP_MAX_CONNECTIONS`,
 * `RAPPORT_SMTP_RATE_PER_SECOND`, `RAPPORT_WEBHOOK_TIMEOUT_MS`; the webhook secret is the signing secret
 * (`RAPPORT_SIGNING_SECRET`, else the `<data>/automation-secret` file). Unusable numbers fall back to the defaults.
 */
export function channelBaselineFromEnv(env: NodeJS.ProcessEnv, signingSecret: string): ChannelBaseline {
  const num = (name: string, ok: (n: number) => boolean): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) && ok(n) ? n : undefined;
  };
  const smtpUrl = env['RAPPORT_SMTP_URL'] || null;
  const from = env['RAPPORT_SMTP_FROM'] || undefined;
  const maxConnections = num('RAPPORT_SMTP_MAX_CONNECTIONS', (n) => Number.isInteger(n) && n >= 1 && n <= 50);
  const ratePerSecond = num('RAPPORT_SMTP_RATE_PER_SECOND', (n) => Number.isInteger(n) && n >= 0);
  const timeoutMs = num('RAPPORT_WEBHOOK_TIMEOUT_MS', (n) => Number.isInteger(n) && n >= 100);
  return {
    values: {
      email: { smtpUrl, from: from ?? DEFAULT_SMTP_FROM, maxConnections: maxConnections ?? DEFAULT_SMTP_MAX_CONNECTIONS, ratePerSecond: ratePerSecond ?? 0 },
      webhooks: { timeoutMs: timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS, secret: signingSecret },
    },
    sources: {
      'email.smtpUrl': smtpUrl ? 'env' : 'default',
      'email.from': from ? 'env' : 'default',
      'email.maxConnections': maxConnections !== undefined ? 'env' : 'default',
      'email.ratePerSecond': ratePerSecond !== undefined ? 'env' : 'default',
      'webhooks.timeoutMs': timeoutMs !== undefined ? 'env' : 'default',
      'webhooks.secret': env['RAPPORT_SIGNING_SECRET'] ? 'env' : 'file',
    },
  };
}

/** An SMTP URL with its password replaced by {@link MASK} (unparseable URLs are hidden entirely). */
export function maskSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = MASK;
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(set, but not a valid URL)';
  }
}

/** Removes the password of `url` (and its URL-encoded form) from a message. */
export function redactPassword(message: string, url: string | null): string {
  if (!url) return message;
  try {
    const pw = new URL(url).password;
    if (!pw) return message;
    let out = message.split(pw).join(MASK);
    const decoded = decodeURIComponent(pw);
    if (decoded) out = out.split(decoded).join(MASK);
    return out;
  } catch {
    return message;
  }
}

/** What clients see: effective values with secrets masked, where each comes from, and the baseline. */
export interface ChannelSettingsView {
  readonly email: { readonly enabled: boolean; readonly smtpUrl: string | null; readonly from: string; readonly maxConnections: number; readonly ratePerSecond: number };
  readonly webhooks: { readonly signed: boolean; readonly timeoutMs: number; readonly secret: string };
  readonly publicUrl: string;
  /** Per field: `settings` (saved from the dashboard), `env`, `file` (`<data>/automation-secret`) or `default`. */
  readonly sources: Readonly<Record<ChannelField, SettingSource>>;
  /** The values without the dashboard's overrides (masked), i.e. what a reset goes back to. */
  readonly configured: { readonly email: ChannelSettingsView['email']; readonly webhooks: ChannelSettingsView['webhooks'] };
  readonly updatedAt: number | null;
  readonly editable: true;
  readonly note: string;
}

/** Result of {@link ChannelSettings.update} and {@link ChannelSettings.draft}. */
export type ChannelUpdateResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly string[] };

/** The channel settings service: effective values (cached), the masked view, validated updates. */
export interface ChannelSettings {
  /** The effective configuration; re-read from the store at most every `refreshMs` (and at once after {@link update}). */
  current(): Promise<EffectiveChannels>;
  /** The masked view for the API. */
  view(): Promise<ChannelSettingsView>;
  /**
   * Applies a patch (`{ email?: {...}, webhooks?: {...} }`; `null` resets a field) on top of the saved overrides,
   * validates the result and saves it; nothing is saved when any field is wrong.
   */
  update(patch: unknown): Promise<ChannelUpdateResult<ChannelSettingsView>>;
  /** The effective configuration a patch would give, validated but not saved (for a test e-mail before saving). */
  draft(patch: unknown): Promise<ChannelUpdateResult<EffectiveChannels>>;
  /** Calls `listener` after every saved change in this process. */
  onChange(listener: (c: EffectiveChannels) => void): () => void;
}

/** Dependencies of {@link createChannelSettings}. */
export interface ChannelSettingsDeps {
  readonly store: SettingsStore;
  readonly baseline: ChannelBaseline;
  readonly publicUrl: string;
  readonly now: () => number;
  /** How long a read of the store is reused (default 2 s), so other processes' changes arrive within that. */
  readonly refreshMs?: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: EffectiveChannels, o: ChannelOverrides): EffectiveChannels {
  return {
    email: { ...base.email, ...definedOnly(o.email ?? {}) },
    webhooks: { ...base.webhooks, ...definedOnly(o.webhooks ?? {}) },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `smtp://user:****@host` submitted back (the masked value the form showed): keeps the password in effect, but
 * only for the same user and host (a masked password cannot be carried to another server).
 */
function unmaskSmtpUrl(submitted: string, current: string | null): { url: string } | { error: string } {
  let u: URL;
  try {
    u = new URL(submitted.trim());
  } catch {
    return { url: submitted };
  }
  if (u.password !== MASK) return { url: submitted };
  const c = current ? new URL(current) : null;
  if (!c || !c.password || c.hostname !== u.hostname || c.username !== u.username) {
    return { error: `email.smtpUrl: the password is masked (${MASK}); type the password for ${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.hostname}` };
  }
  u.password = c.password;
  return { url: u.toString() };
}

/** Creates the channel settings service over a {@link SettingsStore}. */
export function createChannelSettings(deps: ChannelSettingsDeps): ChannelSettings {
  const refreshMs = deps.refreshMs ?? 2_000;
  const listeners = new Set<(c: EffectiveChannels) => void>();
  let cache: { at: number; overrides: ChannelOverrides; updatedAt: number | null; effective: EffectiveChannels } | null = null;

  async function load(): Promise<NonNullable<typeof cache>> {
    const now = deps.now();
    if (cache && now - cache.at < refreshMs && now >= cache.at) return cache;
    const s = await deps.store.get(CHANNEL_SETTINGS_KEY);
    // A stored value that no longer validates (older schema) is ignored rather than breaking e-mail.
    const parsed = s ? channelOverridesSchema.safeParse(s.value) : undefined;
    const overrides: ChannelOverrides = parsed?.success ? parsed.data : {};
    cache = { at: now, overrides, updatedAt: s?.updatedAt ?? null, effective: merge(deps.baseline.values, overrides) };
    return cache;
  }

  const maskedOf = (c: EffectiveChannels) => ({
    email: { enabled: c.email.smtpUrl !== null, smtpUrl: c.email.smtpUrl ? maskSmtpUrl(c.email.smtpUrl) : null, from: c.email.from, maxConnections: c.email.maxConnections, ratePerSecond: c.email.ratePerSecond },
    webhooks: { signed: c.webhooks.secret.length >= 16, timeoutMs: c.webhooks.timeoutMs, secret: MASK },
  });

  function viewOf(state: NonNullable<typeof cache>): ChannelSettingsView {
    const sources = { ...deps.baseline.sources };
    for (const f of CHANNEL_FIELDS) {
      const [group, key] = f.split('.') as ['email' | 'webhooks', string];
      const o = state.overrides[group] as Record<string, unknown> | undefined;
      if (o?.[key] !== undefined) sources[f] = 'settings';
    }
    return {
      ...maskedOf(state.effective),
      publicUrl: deps.publicUrl,
      sources,
      configured: maskedOf(deps.baseline.values),
      updatedAt: state.updatedAt,
      editable: true,
      note: 'Values saved here override the environment (RAPPORT_SMTP_URL, RAPPORT_SMTP_FROM, RAPPORT_SIGNING_SECRET, ...) and apply to the next message without a restart; reset a field to go back to the environment.',
    };
  }

  /** The overrides after a patch, validated. */
  async function patched(patch: unknown): Promise<ChannelUpdateResult<ChannelOverrides>> {
    if (!isRecord(patch)) return { ok: false, errors: ['body must be { "email": { "smtpUrl": "smtp://...", "from": "..." }, "webhooks": { "timeoutMs": 10000 } } (null resets a field)'] };
    const state = await load();
    const next: Record<string, Record<string, unknown>> = {
      email: { ...(state.overrides.email ?? {}) },
      webhooks: { ...(state.overrides.webhooks ?? {}) },
    };
    const errors: string[] = [];
    for (const [group, fields] of Object.entries(patch)) {
      if (group !== 'email' && group !== 'webhooks') {
        errors.push(`${group}: unknown section (allowed: email, webhooks)`);
        continue;
      }
      if (!isRecord(fields)) {
        errors.push(`${group}: must be an object`);
        continue;
      }
      const target = next[group] as Record<string, unknown>;
      for (const [k, v] of Object.entries(fields)) {
        if (v === null) delete target[k];
        else if (group === 'email' && k === 'smtpUrl' && typeof v === 'string') {
          const r = unmaskSmtpUrl(v, state.effective.email.smtpUrl);
          if ('error' in r) errors.push(r.error);
          else target[k] = r.url;
        }
        else if (group === 'webhooks' && k === 'secret' && v === MASK) continue;
        else target[k] = v;
      }
    }
    if (errors.length > 0) return { ok: false, errors };
    const parsed = channelOverridesSchema.safeParse(next);
    if (!parsed.success) {
      const allowed: Record<string, string> = {
        email: 'smtpUrl, from, maxConnections, ratePerSecond',
        webhooks: 'timeoutMs, secret',
      };
      return {
        ok: false,
        errors: parsed.error.issues.map((i) => {
          const path = i.path.join('.');
          if (i.code === 'unrecognized_keys') return `${path}: unknown field ${i.keys.map((k) => `'${k}'`).join(', ')} (allowed: ${allowed[path] ?? ''})`;
          return `${path}: ${i.message}`;
        }),
      };
    }
    const email = definedOnly(parsed.data.email ?? {});
    const webhooks = definedOnly(parsed.data.webhooks ?? {});
    return { ok: true, value: { ...(Object.keys(email).length ? { email } : {}), ...(Object.keys(webhooks).length ? { webhooks } : {}) } };
  }

  return {
    async current() {
      return (await load()).effective;
    },
    async view() {
      return viewOf(await load());
    },
    async update(patch) {
      const r = await patched(patch);
      if (!r.ok) return r;
      const at = deps.now();
      await deps.store.put(CHANNEL_SETTINGS_KEY, r.value, at);
      cache = { at, overrides: r.value, updatedAt: at, effective: merge(deps.baseline.values, r.value) };
      for (const l of listeners) l(cache.effective);
      return { ok: true, value: viewOf(cache) };
    },
    async draft(patch) {
      const r = await patched(patch);
      return r.ok ? { ok: true, value: merge(deps.baseline.values, r.value) } : r;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
