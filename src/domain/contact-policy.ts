import { z } from 'zod';

/**
 * Contact policy: how a customer of a given relationship type may be contacted. Each lens type
 * carries one (`policy:` in the lens YAML); playbooks may override parts. Over-contacting is a
 * failure, not a feature, so caps are hard limits.
 */

/** Channels Rapport can act through. */
export const CHANNELS = ['email', 'webhook', 'task', 'in_app'] as const;
/** A channel name. */
export type Channel = (typeof CHANNELS)[number];

/** Durations like `30d`, `12h`, `45m`, `2w`, parsed to milliseconds. */
export const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d|w)$/, "a duration such as '30d', '12h', '45m' or '2w'")
  .transform((s) => parseDuration(s));

/** Parses `30d` / `12h` / `45m` / `10s` / `2w` / `500ms` into milliseconds; NaN when malformed. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(s.trim());
  if (!m) return Number.NaN;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

/** A frequency cap: at most `max` messages per rolling `per` window. */
export const capSchema = z.strictObject({
  max: z.number().int().min(0),
  per: durationSchema,
});
/** A parsed frequency cap (`per` in ms). */
export type Cap = z.output<typeof capSchema>;

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time 'HH:MM' (24 h)");

/** The contact policy schema (as written in YAML). */
export const contactPolicySchema = z.strictObject({
  /** Channels allowed for marketing measures to this type. */
  channels: z.array(z.enum(CHANNELS)).default(['email', 'in_app']),
  /** Caps per channel and `overall` (all marketing channels together). */
  caps: z.partialRecord(z.enum([...CHANNELS, 'overall']), capSchema).default({}),
  /** No marketing sends in this local time range (customer's time zone). */
  quiet_hours: z.strictObject({ start: clockTime, end: clockTime }).optional(),
  /** Send-time choice: the customer's best engagement hour, or a fixed hour. */
  send_time: z
    .strictObject({
      strategy: z.enum(['best_hour', 'fixed', 'immediate']).default('best_hour'),
      fallback_hour: z.number().int().min(0).max(23).default(10),
    })
    .default({ strategy: 'best_hour', fallback_hour: 10 }),
  /** Template variant (tone/design) used for this type. */
  tone: z.string().min(1).default('neutral'),
  /** At most this share of messages in the cap window may be selling (promotional). */
  max_selling_share: z.number().min(0).max(1).default(1),
  /** What to do with such a customer, in words (shown to people). */
  treatment: z.string().default(''),
});

/** A validated contact policy. */
export type ContactPolicy = z.output<typeof contactPolicySchema>;

/** The policy used when a type states none: cautious defaults. */
export const DEFAULT_CONTACT_POLICY: ContactPolicy = {
  channels: ['email', 'in_app'],
  caps: { overall: { max: 4, per: 30 * 86_400_000 }, email: { max: 4, per: 30 * 86_400_000 } },
  quiet_hours: { start: '21:00', end: '08:00' },
  send_time: { strategy: 'best_hour', fallback_hour: 10 },
  tone: 'neutral',
  max_selling_share: 1,
  treatment: '',
};
