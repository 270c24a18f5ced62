/**
 * Named errors with stable codes. HTTP status for each code lives in one table,
 * {@link HTTP_STATUS_BY_CODE}, so routes never pick statuses ad hoc.
 */

/** Base class: every error Rapport raises on purpose has a stable `code`. */
export class RapportError extends Error {
  readonly code: string;
  /** Extra machine-readable detail (e.g. per-event problems, file positions). */
  readonly details: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Input that does not match what the API or CLI expects. */
export class ValidationError extends RapportError {
  constructor(message: string, details?: unknown, code = 'invalid_input') {
    super(code, message, details);
  }
}

/** A configuration file or environment value is wrong; names where and what is allowed. */
export class ConfigError extends RapportError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, pos?: { file?: string; line?: number; column?: number }, code = 'invalid_config') {
    const where = pos?.file ? `${pos.file}${pos.line ? `:${pos.line}` : ''}${pos.column ? `:${pos.column}` : ''}: ` : '';
    super(code, `${where}${message}`, pos);
    this.file = pos?.file;
    this.line = pos?.line;
    this.column = pos?.column;
  }
}

/** Missing or wrong credentials. */
export class AuthError extends RapportError {
  constructor(message: string, code = 'unauthorized') {
    super(code, message);
  }
}

/** Caller may not do this. */
export class ForbiddenError extends RapportError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** Something addressed by id does not exist. */
export class NotFoundError extends RapportError {
  constructor(what: string, id: string) {
    super('not_found', `${what} '${id}' not found`);
  }
}

/** The server is at capacity; the caller should retry after `retryAfterSeconds`. */
export class OverloadedError extends RapportError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1, code = 'overloaded') {
    super(code, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Too many failed sign-ins for an account or from a client address; retry after `retryAfterSeconds` (429). */
export class TooManyAttemptsError extends OverloadedError {
  constructor(message: string, retryAfterSeconds: number) {
    super(message, retryAfterSeconds, 'too_many_attempts');
  }
}

/** A dependency (database, stream) is down; retry later. */
export class UnavailableError extends RapportError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 2) {
    super('unavailable', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A worker no longer holds the lease of a partition it was writing (another worker took it over). */
export class LeaseLostError extends RapportError {
  constructor(message: string) {
    super('lease_lost', message);
  }
}

/** HTTP status per error code. Codes not listed map to 500. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_json: 400,
  invalid_input: 400,
  invalid_event: 400,
  too_many_events: 400,
  missing_id: 400,
  invalid_mapping: 400,
  unreadable_file: 400,
  invalid_config: 400,
  invalid_lens: 400,
  invalid_playbook: 400,
  unknown_lens: 404,
  unsupported_media_type: 415,
  payload_too_large: 413,
  event_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  engine_busy: 409,
  overloaded: 429,
  too_many_attempts: 429,
  unavailable: 503,
  internal: 500,
};

/** HTTP status for an error code (500 when unknown). */
export function httpStatusFor(code: string): number {
  return HTTP_STATUS_BY_CODE[code] ?? 500;
}
