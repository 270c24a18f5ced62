/**
 * Streams simulated messages to a Rapport (or any Segment-compatible) server: POST
 * `<url>/v1/batch` with `{ batch: [...] }` and Basic auth `base64(writeKey + ':')`, retrying on
 * 429/503 (honouring Retry-After) and on network errors. Optional pacing: `rate` caps events per
 * second; `speed` replays simulated time in accelerated real time (seconds per simulated day).
 */
import { RapportError } from '../domain/errors';
import type { SegmentMessage } from './types';

const DAY = 86_400_000;
/** Request body limit (the Segment API allows 500 KB per batch). */
const MAX_BODY = 480_000;
/** Waits shorter than this are skipped (sent slightly early) so pacing doesn't make tiny batches. */
const MIN_SLEEP = 50;

/** What to send and how fast. */
export interface StreamOptions {
  /** Server base URL, e.g. http://127.0.0.1:4100 */
  url: string;
  writeKey: string;
  messages: Iterable<SegmentMessage>;
  /** Maximum events per second (default unlimited). */
  rate?: number;
  /** Events per request (default 100, at most 2,500). */
  batchSize?: number;
  /** Accelerated time: real seconds per simulated day (default: as fast as possible). */
  speed?: number;
  /** Retries per batch before giving up (default 8). */
  maxRetries?: number;
  /** Called after every accepted batch. */
  onProgress?: (progress: StreamProgress) => void;
  /** Stops streaming between batches when aborted. */
  signal?: AbortSignal;
}

/** Counters reported while and after streaming. */
export interface StreamProgress {
  sent: number;
  batches: number;
  retries: number;
  /** Timestamp (ms) of the last message sent, or null before the first. */
  simulatedTime: number | null;
}

/** Effects streaming needs; tests and the demo pass their own. */
export interface StreamDeps {
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Wall clock in ms (pacing only). */
  now?: () => number;
}

/** The server refused a batch for good (or kept refusing past the retries). */
export class StreamError extends RapportError {
  readonly status: number | null;
  constructor(message: string, status: number | null) {
    super('stream_failed', message, { status });
    this.status = status;
  }
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds; null when absent or invalid. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (!header) return null;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends all messages in batches; resolves with the final counters. */
export async function streamToServer(opts: StreamOptions, deps: StreamDeps = {}): Promise<StreamProgress> {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? (() => Date.now());
  const batchSize = Math.min(2500, Math.max(1, Math.floor(opts.batchSize ?? 100)));
  const maxRetries = opts.maxRetries ?? 8;
  const endpoint = `${opts.url.replace(/\/+$/, '')}/v1/batch`;
  const auth = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`;
  const progress: StreamProgress = { sent: 0, batches: 0, retries: 0, simulatedTime: null };
  const wallStart = now();
  let simStart: number | null = null;
  let batch: SegmentMessage[] = [];

  const send = async (): Promise<void> => {
    if (!batch.length) return;
    const items = batch;
    batch = [];
    await post(items);
    opts.onProgress?.({ ...progress });
  };

  const post = async (items: SegmentMessage[]): Promise<void> => {
    const body = JSON.stringify({ batch: items });
    // Keep under the 500 KB request limit of the Segment API by splitting large batches.
    if (body.length > MAX_BODY && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      await post(items.slice(0, half));
      await post(items.slice(half));
      return;
    }
    for (let attempt = 0; ; attempt++) {
      let status: number | null = null;
      let wait: number | null = null;
      try {
        const res = await doFetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body,
          signal: opts.signal,
        });
        status = res.status;
        if (res.ok) {
          await res.arrayBuffer().catch(() => undefined);
          break;
        }
        wait = retryAfterMs(res.headers.get('retry-after'), now());
        await res.arrayBuffer().catch(() => undefined);
        if (status !== 429 && status !== 503) throw new StreamError(`server answered ${status} to a batch of ${items.length}`, status);
      } catch (err) {
        if (err instanceof StreamError || opts.signal?.aborted) throw err;
        // network error: retry like a 503
      }
      if (attempt >= maxRetries) throw new StreamError(`gave up after ${maxRetries} retries (last status ${status ?? 'network error'})`, status);
      progress.retries++;
      await sleep(wait ?? Math.min(30_000, 250 * 2 ** attempt));
    }
    progress.sent += items.length;
    progress.batches++;
    progress.simulatedTime = Date.parse((items[items.length - 1] as SegmentMessage).timestamp);
  };

  for (const m of opts.messages) {
    if (opts.signal?.aborted) break;
    const t = Date.parse(m.timestamp);
    simStart ??= t;
    // Pacing: wait until the wall clock catches up with the message (speed) or the rate allows it.
    let due = wallStart;
    if (opts.speed && opts.speed > 0) due = Math.max(due, wallStart + ((t - simStart) / DAY) * opts.speed * 1000);
    if (opts.rate && opts.rate > 0) due = Math.max(due, wallStart + ((progress.sent + batch.length) / opts.rate) * 1000);
    const delay = due - now();
    if (delay > MIN_SLEEP) {
      await send(); // don't hold back what is already due
      await sleep(delay);
    }
    batch.push(m);
    if (batch.length >= batchSize) await send();
  }
  if (!opts.signal?.aborted) await send();
  return progress;
}
