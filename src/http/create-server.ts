import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { RapportError, ValidationError } from '../domain/errors';
import { parseBody } from '../ingest/parse-body';
import { installErrorHandler } from './error-handler';

declare module 'fastify' {
  interface FastifyRequest {
    /** UTF-8 size of the (decompressed) request body, set by the body parser. */
    bodyBytes?: number;
  }
}

/** Settings of the HTTP server factory. */
export interface CreateServerOptions {
  logger: Logger;
  /** Largest request body (after decompression), bytes. */
  maxRequestBytes: number;
  /** Proxies whose `X-Forwarded-For` gives the client address (`request.ip`); see RapportConfig.trustProxy. */
  trustProxy?: boolean | number | string[];
}

function hopsTrusted(n: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < n;
}

/**
 * Creates the Fastify server: JSON error handler, body parsing of application/json and text/plain
 * (and any other type: Segment clients are not always careful) with our own `invalid_json` /
 * `payload_too_large` codes, and gzip/deflate request bodies.
 */
export function createServer(opts: CreateServerOptions): FastifyInstance {
  const server = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.maxRequestBytes,
    // Per-request log lines cost more than the request itself at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A hop count as proxy-addr's trust function: the first n addresses from the socket's side are proxies.
    trustProxy: typeof opts.trustProxy === 'number' ? hopsTrusted(opts.trustProxy) : (opts.trustProxy ?? false),
  }) as unknown as FastifyInstance;
  installErrorHandler(server, { maxRequestBytes: opts.maxRequestBytes });

  server.addHook('preParsing', async (request, _reply, payload) => {
    const enc = String(request.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (enc === 'identity') return payload;
    if (enc !== 'gzip' && enc !== 'deflate') {
      throw new RapportError('unsupported_media_type', `Content-Encoding '${enc}' is not supported; use gzip, deflate or none`);
    }
    const decoded = payload.pipe(enc === 'gzip' ? createGunzip() : createInflate()) as unknown as Readable & { receivedEncodedLength: number };
    decoded.receivedEncodedLength = 0;
    payload.on('data', (c: Buffer) => {
      decoded.receivedEncodedLength += c.length;
    });
    payload.on('error', (e) => decoded.destroy(e));
    return decoded;
  });

  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.bodyBytes = Buffer.byteLength(text, 'utf8');
    const r = parseBody(text);
    if (r.kind === 'ok') done(null, r.value);
    else done(new ValidationError(r.kind === 'reject' ? r.message : 'invalid body', undefined, 'invalid_json'), undefined);
  });
  return server;
}
