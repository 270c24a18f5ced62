import { z } from 'zod';
import { ConfigError } from '../domain/errors';
import { DEFAULT_MAX_AGE_MS, DEFAULT_PARTITIONS, DEFAULT_STREAM_NAME, DEFAULT_SUBJECT_PREFIX } from '../adapters/nats/event-stream';
import type { RapportConfig } from './config';
import { parseConfigSection } from './config-section';

/** Schema of the `scale:` section of rapport.config.yaml (scaled-out roles). */
export const scaleSectionSchema = z.strictObject({
  /** Number of stream partitions (= NATS subjects); fixed for the life of a deployment. */
  partitions: z.number().int().min(1).max(1024).default(DEFAULT_PARTITIONS),
  /** JetStream stream name. */
  stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default(DEFAULT_STREAM_NAME),
  /** Subject prefix; partition p is `<subjectPrefix>.<p>`. */
  subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens of letters, digits, _ and -').default(DEFAULT_SUBJECT_PREFIX),
  /** Copies of the stream in a NATS cluster (3 in production; 1 on a single server). */
  replicas: z.number().int().min(1).max(5).default(1),
  /** How long the stream keeps events: cover the longest worker outage to ride out (hours). */
  maxAgeHours: z.number().positive().max(24 * 365).default(DEFAULT_MAX_AGE_MS / 3_600_000),
});

/** Validated scale-out settings. */
export interface ScaleConfig {
  partitions: number;
  stream: string;
  subjectPrefix: string;
  replicas: number;
  maxAgeHours: number;
  /** NATS server URL(s), comma-separated; null when not given. */
  natsUrl: string | null;
}

/** Inputs of {@link loadScaleConfig}. */
export interface LoadScaleConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** `--nats-url`; wins over env `NATS_URL`. */
  natsUrl?: string;
}

/**
 * Reads the `scale:` section, then env `RAPPORT_PARTITIONS` (overrides `partitions`) and `NATS_URL`
 * (overridden by `--nats-url`). Throws {@link ConfigError} on a bad value.
 */
export function loadScaleConfig(config: Pick<RapportConfig, 'file' | 'configFile'>, opts: LoadScaleConfigOptions = {}): ScaleConfig {
  const env = opts.env ?? process.env;
  const section = parseConfigSection(config, 'scale', scaleSectionSchema);
  let partitions = section.partitions;
  const fromEnv = env.RAPPORT_PARTITIONS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!/^\d+$/.test(fromEnv.trim()) || n < 1 || n > 1024) {
      throw new ConfigError(`RAPPORT_PARTITIONS: '${fromEnv}' is not allowed; use an integer from 1 to 1024`);
    }
    partitions = n;
  }
  const url = opts.natsUrl ?? env.NATS_URL;
  return {
    partitions,
    stream: section.stream,
    subjectPrefix: section.subjectPrefix,
    replicas: section.replicas,
    maxAgeHours: section.maxAgeHours,
    natsUrl: url && url.trim() !== '' ? url.trim() : null,
  };
}
