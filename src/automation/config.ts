import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CHANNELS } from '../domain/contact-policy';
import { ConfigError } from '../domain/errors';
import type { AutomationConfig } from './types';

/** Sender used when neither the dashboard's settings nor `RAPPORT_SMTP_FROM` name one. */
export const DEFAULT_SMTP_FROM = 'Rapport <no-reply@localhost>';

const limits = z.strictObject({ concurrency: z.number().int().min(1), ratePerSecond: z.number().min(0) });

/** Schema of the automation configuration (defaults filled in). */
export const automationConfigSchema = z.object({
  publicUrl: z.url().transform((u) => u.replace(/\/+$/, '')),
  signingSecret: z.string().min(16, 'the signing secret must have at least 16 characters'),
  from: z.string().min(3).default(DEFAULT_SMTP_FROM),
  templateDirs: z.array(z.string()).default(['templates']),
  consentRequired: z.array(z.enum(CHANNELS)).default([]),
  trackingTtlMs: z.number().int().positive().default(90 * 86_400_000),
  batchSize: z.number().int().min(1).max(10_000).default(500),
  leaseMs: z.number().int().min(1_000).default(60_000),
  commitIntervalMs: z.number().int().min(0).max(10_000).default(20),
  maxAttempts: z.number().int().min(1).default(6),
  retryBaseMs: z.number().int().min(1).default(30_000),
  limits: z.partialRecord(z.enum(CHANNELS), limits).default({}),
  pollMs: z.number().int().min(10).default(1_000),
  verifyWriteKey: z.custom<(key: string) => Promise<boolean>>((v) => typeof v === 'function').optional(),
});

/** Input accepted by {@link parseAutomationConfig}. */
export type AutomationConfigInput = z.input<typeof automationConfigSchema>;

/** Validates the configuration; throws ConfigError naming the field. */
export function parseAutomationConfig(input: AutomationConfigInput): AutomationConfig {
  const r = automationConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`automation config ${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
  }
  return r.data as AutomationConfig;
}

/**
 * The signing secret: `RAPPORT_SIGNING_SECRET` when set, else `<data>/automation-secret`,
 * generated (32 random bytes, mode 0600) on first use so links stay valid across restarts.
 */
export function loadOrCreateSigningSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.RAPPORT_SIGNING_SECRET;
  if (fromEnv) return fromEnv;
  const file = join(dataDir, 'automation-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/** Configuration from the environment: RAPPORT_PUBLIC_URL, RAPPORT_SMTP_FROM, RAPPORT_TEMPLATES_DIR, signing secret. */
export function automationConfigFromEnv(dataDir: string, env: NodeJS.ProcessEnv = process.env): AutomationConfigInput {
  return {
    publicUrl: env.RAPPORT_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT ?? 4100}`,
    signingSecret: loadOrCreateSigningSecret(dataDir, env),
    from: env.RAPPORT_SMTP_FROM ?? DEFAULT_SMTP_FROM,
    templateDirs: [env.RAPPORT_TEMPLATES_DIR ?? 'templates'],
  };
}
