import type { IndicatorReadModel, IndicatorRow } from '../ports/indicator-read-model';

/** An {@link IndicatorReadModel} over rows held in memory (tests, simulations, small imports). */
export function createInMemoryIndicatorReadModel(rows: readonly IndicatorRow[]): IndicatorReadModel {
  const sorted = [...rows].sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  const byId = new Map(sorted.map((r) => [r.customerId, r]));
  return {
    async *iterate() {
      for (const r of sorted) yield r;
    },
    async get(ids) {
      const out = new Map<string, IndicatorRow>();
      for (const id of ids) {
        const r = byId.get(id);
        if (r) out.set(id, r);
      }
      return out;
    },
  };
}
