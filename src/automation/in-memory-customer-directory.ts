import type { CustomerDirectory, CustomerView } from './types';

/** A customer directory held in memory (tests, dry runs from a file, benchmarks). */
export interface InMemoryCustomerDirectory extends CustomerDirectory {
  /** Adds or replaces a customer. */
  put(view: CustomerView): void;
  /** Changes part of a customer (types, indicators, traits merge). */
  update(customerId: string, patch: Partial<Omit<CustomerView, 'customerId'>>): void;
  size(): number;
}

/** Creates an in-memory directory from initial views. */
export function createInMemoryCustomerDirectory(views: Iterable<CustomerView> = []): InMemoryCustomerDirectory {
  const byId = new Map<string, CustomerView>();
  for (const v of views) byId.set(v.customerId, v);
  return {
    async get(id) {
      return byId.get(id) ?? null;
    },
    async *iterate() {
      for (const v of [...byId.values()]) yield v;
    },
    put(v) {
      byId.set(v.customerId, v);
    },
    update(id, patch) {
      const cur = byId.get(id);
      if (!cur) return;
      byId.set(id, {
        ...cur,
        ...patch,
        traits: { ...cur.traits, ...(patch.traits ?? {}) },
        indicators: { ...cur.indicators, ...(patch.indicators ?? {}) },
        types: { ...cur.types, ...(patch.types ?? {}) },
        policies: { ...cur.policies, ...(patch.policies ?? {}) },
      });
    },
    size() {
      return byId.size;
    },
  };
}
