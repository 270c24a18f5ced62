/** Loads the CDNOW fixtures (test/fixtures/cdnow, see SOURCE.md and PROVENANCE.md there). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CustomerSummary } from '../../src/value/index';

/** Directory of the CDNOW fixtures. */
export const CDNOW_DIR = join(import.meta.dirname, '..', 'fixtures', 'cdnow');

/** Rows of cdnow_customers_summary_with_transactions.csv (ID, x, t_x, T, zbar). */
export function cdnowSummaries(): (CustomerSummary & { id: string })[] {
  const text = readFileSync(join(CDNOW_DIR, 'cdnow_customers_summary_with_transactions.csv'), 'utf8');
  return text
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((line) => {
      const [id, x, tx, T, zbar] = line.split(',');
      return { id: id!, x: Number(x), tx: Number(tx), T: Number(T), monetary: Number(zbar) };
    });
}

/** Reads a fixture file as text. */
export function cdnowText(name: string): string {
  return readFileSync(join(CDNOW_DIR, name), 'utf8');
}
