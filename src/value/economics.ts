import { z } from 'zod';
import type { TypeAggregate } from '../ports/value-queries';

/** Unit costs of serving a relationship: per service contact and per measure sent on each channel. */
export const unitCostsSchema = z.strictObject({
  support_contact: z.number().min(0).default(6),
  email: z.number().min(0).default(0.01),
  webhook: z.number().min(0).default(0.001),
  task: z.number().min(0).default(15),
  in_app: z.number().min(0).default(0.001),
});

/** Validated unit costs (currency per contact / measure). */
export type UnitCosts = z.output<typeof unitCostsSchema>;

/** Default unit costs, used when `costs:` is not configured. */
export const DEFAULT_UNIT_COSTS: UnitCosts = { support_contact: 6, email: 0.01, webhook: 0.001, task: 15, in_app: 0.001 };

/** Worth and cost of one relationship type. */
export interface TypeEconomics {
  readonly type: string;
  readonly customers: number;
  readonly share: number;
  readonly revenue: number;
  readonly revenue365d: number;
  readonly clv: number;
  readonly costToServe: number;
  /** Revenue minus cost to serve. */
  readonly margin: number;
  readonly revenuePerCustomer: number;
  readonly clvPerCustomer: number;
  readonly costPerCustomer: number;
  readonly marginPerCustomer: number;
  readonly costBreakdown: Record<string, number>;
}

/**
 * "Which relationships do we have, what are they worth, what do they cost" (seed 002): applies unit
 * costs to service contacts and measures sent. Emails counted by automation replace delivered-email
 * events when both exist, so an email is never costed twice.
 */
export function relationshipEconomics(rows: readonly TypeAggregate[], costs: UnitCosts): TypeEconomics[] {
  const total = rows.reduce((a, r) => a + r.customers, 0);
  return rows.map((r) => {
    const emails = Math.max(r.measures['email'] ?? 0, r.emailsDelivered);
    const breakdown: Record<string, number> = {
      service: r.supportContacts * costs.support_contact,
      email: emails * costs.email,
      webhook: (r.measures['webhook'] ?? 0) * costs.webhook,
      task: (r.measures['task'] ?? 0) * costs.task,
      in_app: (r.measures['in_app'] ?? 0) * costs.in_app,
    };
    const cost = Object.values(breakdown).reduce((a, b) => a + b, 0);
    const per = (v: number) => (r.customers ? v / r.customers : 0);
    return {
      type: r.type,
      customers: r.customers,
      share: total ? r.customers / total : 0,
      revenue: r.revenue,
      revenue365d: r.revenue365d,
      clv: r.clv12m,
      costToServe: cost,
      margin: r.revenue - cost,
      revenuePerCustomer: per(r.revenue),
      clvPerCustomer: per(r.clv12m),
      costPerCustomer: per(cost),
      marginPerCustomer: per(r.revenue - cost),
      costBreakdown: breakdown,
    };
  });
}
