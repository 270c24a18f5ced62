import type { z } from 'zod';
import { ConfigError } from '../domain/errors';
import { readYamlFile, type RapportConfig } from './config';

/**
 * Validates one top-level section of rapport.config.yaml (e.g. `costs:`, `value:`) with a zod schema.
 * A wrong value fails start-up with the file:line:column of the offending key and what is allowed.
 */
export function parseConfigSection<T extends z.ZodType>(config: Pick<RapportConfig, 'file' | 'configFile'>, key: string, schema: T): z.output<T> {
  const raw = config.file[key];
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = [key, ...(issue?.path ?? [])].map(String);
  const pos = config.configFile ? readYamlFile(config.configFile).locate(path) : undefined;
  throw new ConfigError(`${path.join('.')}: ${issue?.message ?? 'invalid value'}`, {
    ...(config.configFile ? { file: config.configFile } : {}),
    ...(pos ?? {}),
  });
}
