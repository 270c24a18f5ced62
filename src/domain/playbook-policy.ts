import type { Cap, Channel, ContactPolicy } from './contact-policy';

/**
 * Contact-policy decisions (pure): quiet hours and send time in the customer's time zone,
 * frequency caps and the selling share. The automation engine calls these with data from its store.
 */

/** One past contact, as counted for caps. */
export interface ContactRecord {
  readonly channel: Channel;
  readonly at: number;
  readonly promotional: boolean;
}

/** Why a send may not happen now. */
export type PolicyBlock = { readonly reason: string; readonly retryAt: number | null };

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local hour and minute of `ms` in time zone `tz` (UTC when unknown or invalid). */
export function localHourMinute(ms: number, tz: string | undefined): { hour: number; minute: number } {
  const zone = tz && isValidTimeZone(tz) ? tz : 'UTC';
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return { hour: hour % 24, minute };
}

const validZones = new Map<string, boolean>();
/** True when `tz` is an IANA time zone this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  let v = validZones.get(tz);
  if (v === undefined) {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: tz });
      v = true;
    } catch {
      v = false;
    }
    validZones.set(tz, v);
  }
  return v;
}

function hm(s: string): number {
  const [h, m] = s.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Earliest time >= `ms` whose local time is `minuteOfDay` (0..1439), to the minute. */
export function nextLocalTime(ms: number, tz: string | undefined, minuteOfDay: number): number {
  const { hour, minute } = localHourMinute(ms, tz);
  const nowMin = hour * 60 + minute;
  let delta = (minuteOfDay - nowMin + 1440) % 1440;
  const base = ms - (ms % 60_000);
  if (delta === 0) return ms;
  // DST shifts can move the local clock by an hour; re-check and correct once.
  let t = base + delta * 60_000;
  const got = localHourMinute(t, tz);
  const diff = minuteOfDay - (got.hour * 60 + got.minute);
  if (diff !== 0 && Math.abs(diff) <= 120) t += diff * 60_000;
  if (t < ms) t += 86_400_000;
  return t;
}

/** True when local time of `ms` falls in the quiet range [start, end) (ranges may wrap midnight). */
export function inQuietHours(ms: number, tz: string | undefined, quiet: { start: string; end: string } | undefined): boolean {
  if (!quiet) return false;
  const { hour, minute } = localHourMinute(ms, tz);
  const t = hour * 60 + minute;
  const s = hm(quiet.start);
  const e = hm(quiet.end);
  if (s === e) return false;
  return s < e ? t >= s && t < e : t >= s || t < e;
}

/** `ms` if outside quiet hours, else the end of the quiet range. */
export function afterQuietHours(ms: number, tz: string | undefined, quiet: { start: string; end: string } | undefined): number {
  if (!quiet || !inQuietHours(ms, tz, quiet)) return ms;
  return nextLocalTime(ms, tz, hm(quiet.end));
}

/**
 * When a marketing send that becomes due at `ms` should go: immediately, at a fixed local hour,
 * or at the customer's best engagement hour (indicator best_send_hour, -1 when unknown -> fallback),
 * and never in quiet hours. A send already in its target hour goes now.
 */
export function chooseSendTime(ms: number, tz: string | undefined, policy: ContactPolicy, bestSendHour: number | undefined): number {
  let t = ms;
  if (policy.send_time.strategy !== 'immediate') {
    const hour =
      policy.send_time.strategy === 'best_hour' && bestSendHour !== undefined && bestSendHour >= 0 && bestSendHour <= 23
        ? Math.floor(bestSendHour)
        : policy.send_time.fallback_hour;
    if (localHourMinute(ms, tz).hour !== hour) t = nextLocalTime(ms, tz, hour * 60);
  }
  return afterQuietHours(t, tz, policy.quiet_hours);
}

function capCheck(cap: Cap | undefined, relevant: readonly ContactRecord[], now: number, label: string): PolicyBlock | null {
  if (!cap) return null;
  const inWindow = relevant.filter((c) => c.at > now - cap.per && c.at <= now);
  if (inWindow.length < cap.max) return null;
  if (cap.max === 0) return { reason: `cap_${label}`, retryAt: null };
  // The cap frees up when the oldest contact that still counts leaves the window.
  const sorted = inWindow.map((c) => c.at).sort((a, b) => a - b);
  const oldest = sorted[inWindow.length - cap.max] ?? sorted[0] ?? now;
  return { reason: `cap_${label}`, retryAt: oldest + cap.per + 1 };
}

/** Channels that reach the customer and so count for caps and the `overall` cap. */
export const CUSTOMER_FACING: ReadonlySet<Channel> = new Set<Channel>(['email', 'in_app', 'webhook']);

/**
 * Checks a marketing send against the policy: channel allowed, per-channel cap, overall cap, and the
 * selling share (a promotional message may not push promotional messages above
 * `max_selling_share` of all messages in the overall window). Returns null when allowed.
 */
export function checkContactPolicy(
  policy: ContactPolicy,
  channel: Channel,
  promotional: boolean,
  now: number,
  history: readonly ContactRecord[],
): PolicyBlock | null {
  if (!policy.channels.includes(channel)) return { reason: `channel_not_allowed_${channel}`, retryAt: null };
  const own = history.filter((c) => c.channel === channel);
  const b1 = capCheck(policy.caps[channel], own, now, channel);
  if (b1) return b1;
  const all = history.filter((c) => CUSTOMER_FACING.has(c.channel));
  const b2 = capCheck(policy.caps.overall, all, now, 'overall');
  if (b2) return b2;
  if (promotional && policy.max_selling_share < 1) {
    const window = policy.caps.overall?.per ?? 30 * 86_400_000;
    const recent = all.filter((c) => c.at > now - window && c.at <= now);
    const promo = recent.filter((c) => c.promotional).length;
    if ((promo + 1) / (recent.length + 1) > policy.max_selling_share + 1e-9) {
      const oldestPromo = recent.filter((c) => c.promotional).map((c) => c.at).sort((a, b) => a - b)[0];
      return { reason: 'selling_share', retryAt: oldestPromo !== undefined ? oldestPromo + window + 1 : null };
    }
  }
  return null;
}

/** Longest cap window in a policy (how far back contact history matters). */
export function historyWindow(policy: ContactPolicy): number {
  let w = 30 * 86_400_000;
  for (const c of Object.values(policy.caps)) if (c && c.per > w) w = c.per;
  return w;
}

/** A type policy with a playbook's overrides applied (caps merge per channel). */
export function mergePolicy(base: ContactPolicy, override: Partial<ContactPolicy> | undefined): ContactPolicy {
  if (!override) return base;
  return {
    ...base,
    ...override,
    caps: { ...base.caps, ...(override.caps ?? {}) },
    send_time: override.send_time ?? base.send_time,
  };
}
