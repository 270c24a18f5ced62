import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../domain/errors';
import type { SettingsStore } from '../ports/settings-store';
import { unitCostsSchema, type UnitCosts } from '../value/economics';

/** Settings key of the unit cost overrides. */
export const COSTS_SETTING = 'unit_costs';

/** Partial unit costs: only the keys an admin changed are stored (no defaults filled in: the configuration supplies them). */
const costOverridesSchema = z.strictObject(Object.fromEntries(Object.keys(unitCostsSchema.shape).map((k) => [k, z.number().min(0).optional()])) as Record<keyof UnitCosts, z.ZodOptional<z.ZodNumber>>);

/**
 * The unit costs in effect: the configured ones (rapport.config.yaml `costs:` or the defaults)
 * overridden by those saved from the dashboard. A stored value that no longer validates is ignored.
 */
export async function effectiveUnitCosts(store: SettingsStore, configured: UnitCosts): Promise<{ costs: UnitCosts; overrides: Partial<UnitCosts>; updatedAt: number | null }> {
  const s = await store.get(COSTS_SETTING);
  const parsed = s ? costOverridesSchema.safeParse(s.value) : undefined;
  const overrides: Partial<UnitCosts> = parsed?.success ? Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) : {};
  return { costs: { ...configured, ...overrides }, overrides, updatedAt: s?.updatedAt ?? null };
}

/** Dependencies of {@link registerCostSettingsRoutes}. */
export interface CostSettingsDeps {
  readonly store: SettingsStore;
  /** Unit costs from the configuration file (or the defaults). */
  readonly configured: UnitCosts;
  readonly now: () => number;
}

/**
 * `GET /api/settings/costs` -> `{ costs, configured, overrides, updatedAt }`; `PUT /api/settings/costs { costs }`
 * (admin; a partial object: the keys given override the configuration, `null` resets one; `{}` resets all).
 * The economics route reads the effective costs on every request, so a change shows at once.
 */
export function registerCostSettingsRoutes(server: FastifyInstance, deps: CostSettingsDeps): void {
  const view = async () => ({ ...(await effectiveUnitCosts(deps.store, deps.configured)), configured: deps.configured });
  server.get('/api/settings/costs', view);
  server.put('/api/settings/costs', async (request) => {
    const body = (request.body ?? {}) as { costs?: unknown };
    const raw = body.costs;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError('body must be { "costs": { "email": 0.02, ... } } (null resets a cost to the configured value)');
    const current = (await effectiveUnitCosts(deps.store, deps.configured)).overrides;
    const next: Record<string, unknown> = { ...current };
    for (const [k, v] of Object.entries(raw)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    const parsed = costOverridesSchema.safeParse(next);
    if (!parsed.success) {
      throw new ValidationError(parsed.error.issues.map((i) => `${i.path.join('.') || 'costs'}: ${i.message}`).join('; ') + ` (allowed: ${Object.keys(deps.configured).join(', ')}; numbers >= 0)`);
    }
    await deps.store.put(COSTS_SETTING, parsed.data, deps.now());
    return view();
  });
}

/** What the channel settings show: effective values, never a password. */
export interface ChannelSettingsView {
  readonly email: { readonly enabled: boolean; readonly smtpUrl: string | null; readonly from: string };
  readonly publicUrl: string;
  readonly webhooks: { readonly signed: boolean };
  readonly editable: false;
  readonly note: string;
}

/** An SMTP URL with its password replaced by `****` (unparseable URLs are hidden entirely). */
export function maskSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(set, but not a valid URL)';
  }
}

/** `GET /api/settings/channels`: the effective channel configuration, read-only (it comes from the environment). */
export function registerChannelSettingsRoutes(server: FastifyInstance, deps: { env: NodeJS.ProcessEnv; publicUrl: string; signingSecret: string }): void {
  server.get('/api/settings/channels', async (): Promise<ChannelSettingsView> => {
    const smtp = deps.env['RAPPORT_SMTP_URL'];
    return {
      email: { enabled: Boolean(smtp), smtpUrl: smtp ? maskSmtpUrl(smtp) : null, from: deps.env['RAPPORT_SMTP_FROM'] ?? 'Rapport <no-reply@localhost>' },
      publicUrl: deps.publicUrl,
      webhooks: { signed: deps.signingSecret.length >= 16 },
      editable: false,
      note: 'Channels are configured in the environment (RAPPORT_SMTP_URL, RAPPORT_SMTP_FROM, RAPPORT_PUBLIC_URL, RAPPORT_SIGNING_SECRET); changes apply after a restart.',
    };
  });
}
