import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../domain/errors';
import { maskSmtpUrl, redactPassword, type ChannelSettings, type ChannelSettingsView } from '../automation/channel-settings';
import type { SettingsStore } from '../ports/settings-store';
import { unitCostsSchema, type UnitCosts } from '../value/economics';

export { maskSmtpUrl } from '../automation/channel-settings';

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

/** What a test e-mail gave: the SMTP server's final reply, or exactly how it failed (see `src/adapters/smtp/smtp-test-send.ts`). */
export type TestEmailOutcome =
  | { readonly ok: true; readonly response: string; readonly messageId: string; readonly accepted: readonly string[]; readonly rejected: readonly string[] }
  | { readonly ok: false; readonly error: { readonly message: string; readonly code: string | null; readonly responseCode: number | null; readonly command: string | null; readonly response: string | null } };

/** Sends one test e-mail over its own connection. */
export type TestEmailSender = (o: { url: string; from: string; to: string; subject: string; text: string }) => Promise<TestEmailOutcome>;

/** Dependencies of {@link registerChannelSettingsRoutes}. */
export interface ChannelSettingsRoutesDeps {
  readonly settings: ChannelSettings;
  readonly sendTestEmail: TestEmailSender;
  readonly now: () => number;
}

const testEmailBody = z.object({ to: z.email('must be an e-mail address like you@example.com').max(320), email: z.record(z.string(), z.unknown()).optional() });

/**
 * Channel configuration, editable at run time:
 * - `GET /api/settings/channels` (any role): effective values with secrets masked, where each comes from, the configured baseline;
 * - `PUT /api/settings/channels { email?: {...}, webhooks?: {...} }` (admin; `null` resets a field): validated, saved in the
 *   settings store, used by the next message (a new SMTP pool; the old one closes after its sends);
 * - `POST /api/settings/channels/test-email { to, email? }` (admin): sends a test e-mail with the saved settings (or with
 *   the unsaved `email` fields given) and reports the SMTP server's answer or the precise error.
 */
export function registerChannelSettingsRoutes(server: FastifyInstance, deps: ChannelSettingsRoutesDeps): void {
  server.get('/api/settings/channels', async (): Promise<ChannelSettingsView> => deps.settings.view());

  server.put('/api/settings/channels', async (request) => {
    const r = await deps.settings.update(request.body ?? null);
    if (!r.ok) throw new ValidationError(r.errors.join('; '), { errors: r.errors });
    return r.value;
  });

  server.post('/api/settings/channels/test-email', async (request) => {
    const b = testEmailBody.safeParse(request.body ?? {});
    if (!b.success) throw new ValidationError(b.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') + ' (body: { "to": "you@example.com", "email"?: { "smtpUrl": "...", "from": "..." } })');
    const draft = await deps.settings.draft(b.data.email ? { email: b.data.email } : {});
    if (!draft.ok) throw new ValidationError(draft.errors.join('; '), { errors: draft.errors });
    const { smtpUrl, from } = draft.value.email;
    if (!smtpUrl) throw new ValidationError('no SMTP URL configured: save one under Settings → Channels (or set RAPPORT_SMTP_URL) first');
    const at = new Date(deps.now()).toISOString();
    const host = new URL(smtpUrl).host;
    const outcome = await deps.sendTestEmail({
      url: smtpUrl,
      from,
      to: b.data.to,
      subject: 'Rapport test e-mail',
      text: `This is a test e-mail from Rapport's Settings page, sent at ${at} through ${host}.\n\nIf you can read it, e-mail from playbooks will arrive too.`,
    });
    // Server replies and errors could echo the credentials back: never return them.
    const clean = (t: string | null) => (t === null ? null : redactPassword(t, smtpUrl));
    return {
      to: b.data.to,
      from,
      smtpUrl: maskSmtpUrl(smtpUrl),
      ...(outcome.ok
        ? { ok: true, response: clean(outcome.response), messageId: outcome.messageId, accepted: outcome.accepted, rejected: outcome.rejected }
        : { ok: false, error: { ...outcome.error, message: clean(outcome.error.message), response: clean(outcome.error.response), command: clean(outcome.error.command) } }),
    };
  });
}
