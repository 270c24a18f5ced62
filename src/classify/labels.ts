import { parse } from 'csv-parse/sync';
import { ValidationError } from '../domain/errors';

/** Column / key names of a labels file. */
export interface LabelColumns {
  readonly id: string;
  readonly label: string;
}

/** Parsed labels: customer id -> self-reported type. */
export interface LabelSet {
  readonly labels: Map<string, string>;
  /** Rows skipped because the id or label was empty. */
  readonly skipped: number;
  /** Ids that appeared more than once (the last label wins). */
  readonly duplicates: number;
}

/**
 * Parses a labels file: CSV with a header (`customer_id,label` by default) or NDJSON
 * (`{"customer_id": "...", "label": "..."}` per line). Format by file name, else by content.
 */
export function parseLabels(text: string, fileName: string, columns: LabelColumns = { id: 'customer_id', label: 'label' }): LabelSet {
  const ndjson = /\.(nd)?jsonl?$/i.test(fileName) || (!/\.csv$/i.test(fileName) && text.trimStart().startsWith('{'));
  const records: Record<string, unknown>[] = [];
  if (ndjson) {
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const v = JSON.parse(line) as unknown;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        records.push(v as Record<string, unknown>);
      } catch (err) {
        throw new ValidationError(`${fileName}:${i + 1}:1: not a JSON object (${(err as Error).message}); write one {"${columns.id}": ..., "${columns.label}": ...} per line`, undefined, 'invalid_labels');
      }
    });
  } else {
    let rows: Record<string, string>[];
    try {
      rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
    } catch (err) {
      throw new ValidationError(`${fileName}: not valid CSV: ${(err as Error).message}`, undefined, 'invalid_labels');
    }
    const header = rows[0] ? Object.keys(rows[0]) : [];
    for (const col of [columns.id, columns.label]) {
      if (rows.length > 0 && !header.includes(col)) {
        throw new ValidationError(`${fileName}:1:1: no column '${col}' (columns: ${header.join(', ')}); pass --id-column / --label-column`, undefined, 'invalid_labels');
      }
    }
    records.push(...rows);
  }
  const labels = new Map<string, string>();
  let skipped = 0;
  let duplicates = 0;
  for (const r of records) {
    const id = r[columns.id];
    const label = r[columns.label];
    if (id === undefined || id === null || String(id) === '' || label === undefined || label === null || String(label).trim() === '') {
      skipped++;
      continue;
    }
    if (labels.has(String(id))) duplicates++;
    labels.set(String(id), String(label).trim().toLowerCase().replace(/[\s-]+/g, '_'));
  }
  return { labels, skipped, duplicates };
}
