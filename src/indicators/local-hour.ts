/**
 * Local hour of day of an epoch-ms time in an IANA time zone, fast enough for the hot path:
 * the zone's UTC offset is computed with Intl once per (zone, UTC day) when it does not change within
 * that day, else once per (zone, UTC hour), and cached.
 * Approximation: the offset at the start of a UTC hour is used for the whole hour, which only
 * matters for zones that switch daylight-saving time at a half hour (e.g. Australia/Lord_Howe).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Entries per zone before its cache is cleared (bounded memory). */
const MAX_CACHED_HOURS = 100_000;

interface ZoneCache {
  readonly format: Intl.DateTimeFormat | null;
  readonly offsets: Map<number, number>;
  /**
   * Per UTC day: the offset when it is the same at the start of this day and of the next (no change
   * within the day: every hour of it has that offset), else null (look it up per hour).
   */
  readonly days: Map<number, number | null>;
}

const zones = new Map<string, ZoneCache>();

function zoneCache(zone: string): ZoneCache {
  let c = zones.get(zone);
  if (c === undefined) {
    let format: Intl.DateTimeFormat | null = null;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch {
      format = null; // unknown zone: UTC
    }
    c = { format, offsets: new Map(), days: new Map() };
    if (zones.size > 1_000) zones.clear();
    zones.set(zone, c);
  }
  return c;
}

function offsetAt(format: Intl.DateTimeFormat, utcHourStart: number): number {
  const parts = format.formatToParts(new Date(utcHourStart));
  let y = 1970;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  for (const p of parts) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') mo = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') mi = Number(p.value);
  }
  return Date.UTC(y, mo - 1, d, h, mi) - utcHourStart;
}

/**
 * The zone's offset for the whole UTC day `day`, or null when it changes within the day. Offsets change
 * at most once a day (daylight-saving switches), so equal offsets at both ends mean none in between:
 * two Intl calls per zone and day instead of one per hour.
 */
function dayOffset(c: ZoneCache, format: Intl.DateTimeFormat, day: number): number | null {
  const known = c.days.get(day);
  if (known !== undefined) return known;
  const start = offsetAt(format, day * DAY_MS);
  const v = start === offsetAt(format, (day + 1) * DAY_MS) ? start : null;
  if (c.days.size >= MAX_CACHED_HOURS) c.days.clear();
  c.days.set(day, v);
  return v;
}

/** Hour of day 0..23 of `t` (epoch ms) in `zone` (IANA name); UTC when the zone is null or unknown. */
export function localHour(t: number, zone: string | null): number {
  let offset = 0;
  if (zone !== null && zone !== 'UTC') {
    const c = zoneCache(zone);
    if (c.format !== null) {
      const hourIndex = Math.floor(t / HOUR_MS);
      const day = dayOffset(c, c.format, Math.floor(t / DAY_MS));
      const cached = day ?? c.offsets.get(hourIndex);
      if (cached !== undefined) offset = cached;
      else {
        offset = offsetAt(c.format, hourIndex * HOUR_MS);
        if (c.offsets.size >= MAX_CACHED_HOURS) c.offsets.clear();
        c.offsets.set(hourIndex, offset);
      }
    }
  }
  const local = (((t + offset) % DAY_MS) + DAY_MS) % DAY_MS;
  return Math.floor(local / HOUR_MS);
}
