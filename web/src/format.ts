/** Readable numbers for people: 1.2k, 3.4M, 12 %, €1,234. */

const nf0 = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

/** 1234 -> "1,234"; 1234567 -> "1.2M". */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return `${nf1.format(n / 1e9)}B`;
  if (a >= 1e6) return `${nf1.format(n / 1e6)}M`;
  if (a >= 1e4) return `${nf1.format(n / 1e3)}k`;
  if (a >= 100) return nf0.format(n);
  return nf2.format(n);
}

/** 0.123 -> "12.3 %". */
export function pct(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return `${(n * 100).toFixed(digits)} %`;
}

/** Money without a currency symbol (the data has none): 1234.5 -> "1,235". */
export function money(n: number | null | undefined): string {
  return num(n);
}

/** ISO or epoch -> "2026-03-02 12:00". */
export function when(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

/** "valued_heavy_user" -> "valued heavy user". */
export function label(s: string | null | undefined): string {
  return s ? s.replace(/_/g, ' ') : '—';
}
