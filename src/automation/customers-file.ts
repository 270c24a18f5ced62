import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { contactPolicySchema } from '../domain/contact-policy';
import { ConfigError } from '../domain/errors';
import { createInMemoryCustomerDirectory, type InMemoryCustomerDirectory } from './in-memory-customer-directory';

const viewSchema = z.object({
  customerId: z.string().min(1),
  userId: z.string().min(1),
  email: z.string().optional(),
  timezone: z.string().optional(),
  traits: z.record(z.string(), z.unknown()).default({}),
  indicators: z.record(z.string(), z.number()).default({}),
  types: z.record(z.string(), z.string()).default({}),
  policies: z.record(z.string(), contactPolicySchema).default({}),
});

/**
 * Reads customer views from a JSON-lines file (one CustomerView per line; policies as in lens YAML).
 * Used by `rapport playbooks dry-run --customers FILE` and tests; errors name file:line.
 */
export function loadCustomersFile(file: string): InMemoryCustomerDirectory {
  const dir = createInMemoryCustomerDirectory();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw new ConfigError('not valid JSON', { file, line: i + 1, column: 1 });
      }
      const r = viewSchema.safeParse(raw);
      if (!r.success) throw new ConfigError(`${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`, { file, line: i + 1, column: 1 });
      const v = r.data;
      dir.put({
        customerId: v.customerId,
        userId: v.userId,
        ...(v.email !== undefined ? { email: v.email } : {}),
        ...(v.timezone !== undefined ? { timezone: v.timezone } : {}),
        traits: v.traits,
        indicators: v.indicators,
        types: v.types,
        policies: v.policies,
      });
    });
  return dir;
}
