import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, RapportError } from '../domain/errors';
import type { StoredEvent } from '../domain/event';
import type { Clock } from '../ports/clock';
import type { AppendOutcome } from '../ports/event-log';
import type { KeyStore } from '../ports/key-store';
import { authenticate } from '../ingest/authenticate';
import { prepareRequest, type IngestKind, type IngestLimits, type Rejection } from '../ingest/prepare-request';

/**
 * Where accepted events go: the embedded group-commit writer (`IngestWriter`) or, in the scaled-out
 * ingest role, the JetStream sink. Resolves with one outcome per event once every event is durable;
 * rejects with `OverloadedError` (429) or `UnavailableError` (503) to make the client retry.
 */
export interface EventSubmitter {
  submit(events: readonly StoredEvent[]): Promise<AppendOutcome[]>;
}

/** What the tracking routes need. */
export interface SegmentRouteDeps {
  keyStore: KeyStore;
  writer: EventSubmitter;
  clock: Clock;
  limits: IngestLimits;
  /** Makes a messageId for events without one (default: random UUID). */
  newMessageId?: () => string;
  /** Told about every authenticated, parsed request (metrics). */
  observer?: SegmentRouteObserver;
}

/** Metrics hook of the tracking routes. */
export interface SegmentRouteObserver {
  /** Events in a request that passed authentication and parsing, and those rejected by validation. */
  request(r: { received: number; rejected: readonly Rejection[] }): void;
}

/** Answer of a tracking call. `success` is what Segment clients look at. */
export interface IngestResponse {
  success: true;
  /** Events newly appended to the log. */
  accepted: number;
  /** Events dropped as repeats of a messageId seen in the dedupe window (not an error). */
  duplicates: number;
  rejected: Rejection[];
}

/** Endpoint path segments and what they accept (long and short forms; `import` = batch, like Segment). */
export const SEGMENT_ROUTES: ReadonlyArray<[string, IngestKind]> = [
  ['identify', 'identify'], ['i', 'identify'],
  ['track', 'track'], ['t', 'track'],
  ['page', 'page'], ['p', 'page'],
  ['screen', 'screen'], ['s', 'screen'],
  ['group', 'group'], ['g', 'group'],
  ['alias', 'alias'], ['a', 'alias'],
  ['batch', 'batch'], ['b', 'batch'], ['import', 'batch'],
];

/**
 * Registers `POST /v1/<type>` for the Segment HTTP Tracking API. A 200 means every accepted event
 * is committed; per-event rejections are listed in the answer (a single-event call whose event is
 * rejected answers with the rejection's status instead).
 */
export function registerSegmentRoutes(server: FastifyInstance, deps: SegmentRouteDeps): void {
  const newMessageId = deps.newMessageId ?? randomUUID;
  for (const [path, kind] of SEGMENT_ROUTES) {
    server.post(`/v1/${path}`, async (request: FastifyRequest, reply: FastifyReply) => {
      const receivedAt = deps.clock.now();
      const auth = await authenticate(request.headers.authorization, request.body, deps.keyStore);
      if (auth.kind !== 'ok') throw new AuthError(auth.kind === 'reject' ? auth.message : 'unauthorized');
      const prepared = prepareRequest(kind, request.body, {
        receivedAt,
        sourceId: auth.value.id,
        newMessageId,
        limits: deps.limits,
        bodyBytes: request.bodyBytes ?? 0,
      });
      if (prepared.kind !== 'ok') {
        throw new RapportError(prepared.kind === 'reject' ? prepared.code : 'invalid_input', prepared.kind === 'reject' ? prepared.message : 'dropped');
      }
      const { events, rejected } = prepared.value;
      deps.observer?.request({ received: events.length + rejected.length, rejected });
      if (kind !== 'batch' && rejected.length > 0) {
        const r = rejected[0] as Rejection;
        throw new RapportError(r.code, r.message, { rejected });
      }
      const outcomes = await deps.writer.submit(events);
      const body: IngestResponse = { success: true, ...count(outcomes), rejected };
      return reply.code(200).send(body);
    });
  }
}

function count(outcomes: readonly AppendOutcome[]): { accepted: number; duplicates: number } {
  let accepted = 0;
  for (const o of outcomes) if ('seq' in o) accepted++;
  return { accepted, duplicates: outcomes.length - accepted };
}
