import type { CustomerFilter, FilteredCustomer, FilteredPage, PopulationSample } from '../../ports/dashboard-queries';
import { toSummary, type SummaryRow } from './customer-summary';

// Rows of the dashboard's filtered customer list, as both backends select them.

/** A row of the filtered list as both adapters select it. */
export interface FilteredRow extends SummaryRow {
  clv: number | null;
  p_alive: number | null;
  probability: number | null;
}

/** A filtered row as the port returns it. */
export function toFilteredCustomer(r: FilteredRow): FilteredCustomer {
  return { ...toSummary(r), clv12m: r.clv, pAlive: r.p_alive, probability: r.probability };
}

/**
 * The page from a window's matching rows (`limit + 1` asked): a full page continues after its last row;
 * a short one after the window's end, unless the window reached the end of the table.
 */
export async function windowPage(
  rows: FilteredRow[],
  q: Pick<CustomerFilter, 'limit' | 'window'>,
  windowEnd: () => Promise<{ last: string | null; n: number } | undefined>,
): Promise<FilteredPage> {
  let nextAfter: string | null = null;
  let exhausted = false;
  if (rows.length > q.limit) {
    rows.length = q.limit;
    nextAfter = rows[rows.length - 1]!.id;
  } else {
    const end = await windowEnd();
    if (end && end.n === q.window && end.last) nextAfter = end.last;
    else exhausted = true;
  }
  return { customers: rows.map(toFilteredCustomer), nextAfter, exhausted };
}

/** Parses stored indicator and trait JSON into a sample row. */
export function toSampleRow(r: { indicators: string; traits: string }): PopulationSample['rows'][number] {
  return { indicators: JSON.parse(r.indicators) as Record<string, number>, traits: JSON.parse(r.traits) as Record<string, unknown> };
}
