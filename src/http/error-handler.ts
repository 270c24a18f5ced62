import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusFor, OverloadedError, RapportError, UnavailableError } from '../domain/errors';

/** The JSON body of every error response. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** Fastify's own error codes mapped onto ours, so clients see one vocabulary. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_input',
  FST_ERR_VALIDATION: 'invalid_input',
  // zlib: a Content-Encoding: gzip body that is not gzip.
  Z_DATA_ERROR: 'invalid_input',
  Z_BUF_ERROR: 'invalid_input',
};

/** Converts any error into `{ code, message }` with the status from HTTP_STATUS_BY_CODE. */
export function errorBody(err: unknown, maxRequestBytes?: number): { status: number; body: ErrorBody; retryAfter?: number } {
  if (err instanceof RapportError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    const retryAfter = err instanceof OverloadedError || err instanceof UnavailableError ? err.retryAfterSeconds : undefined;
    return { status: httpStatusFor(err.code), body, ...(retryAfter !== undefined ? { retryAfter } : {}) };
  }
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) {
    const message =
      mapped === 'payload_too_large' && maxRequestBytes
        ? `request body is larger than ${maxRequestBytes} bytes`
        : (fe.message ?? mapped);
    return { status: httpStatusFor(mapped), body: { code: mapped, message } };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { code: 'invalid_input', message: fe.message ?? 'bad request' } };
  }
  return { status: 500, body: { code: 'internal', message: 'internal error' } };
}

/** Installs the JSON error handler and a JSON 404 on a server. */
export function installErrorHandler(server: FastifyInstance, opts: { maxRequestBytes?: number } = {}): void {
  server.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, retryAfter } = errorBody(err, opts.maxRequestBytes);
    if (status >= 500) request.log.error({ err }, 'request failed');
    if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
    return reply.code(status).send(body);
  });
  server.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return reply.code(404).send({ code: 'not_found', message: `no route ${request.method} ${request.url}` });
  });
}
