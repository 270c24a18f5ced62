import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * Prometheus metrics of a role. Each role makes one registry, registers its own counters and
 * histograms on it (`prom-client` metric constructors take `registers: [registry]`) and serves it
 * with {@link registerMetricsRoute}.
 */

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Label added to every metric (e.g. `{ role: 'ingest' }`). */
  defaultLabels?: Record<string, string>;
  /** Collect the process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean;
}

/** A fresh registry (never the global one, so several roles can run in one process and in tests). */
export function createMetricsRegistry(opts: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'rapport_' });
  return registry;
}

/** `GET /metrics`: the registry in the Prometheus text format. */
export function registerMetricsRoute(server: FastifyInstance, registry: Registry): void {
  server.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.code(200).header('Content-Type', registry.contentType).send(body);
  });
}
