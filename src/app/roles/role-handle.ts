/**
 * The common shape of a running scaled-out role (`rapport start --role ingest|worker|dispatcher`).
 */

/** A started role: where it listens (health, readiness, metrics; ingest also serves the Segment API) and how to stop it. */
export interface RoleHandle {
  /** Base URL of the role's HTTP server, e.g. `http://127.0.0.1:4100`, when it listens. */
  readonly url?: string;
  /** Stops taking work, drains what is in flight, closes connections. Safe to call twice. */
  stop(): Promise<void>;
}
