import { ok, reject, type StepResult } from '../domain/result';

/**
 * Parses a request body (JSON sent as application/json or text/plain).
 * Invalid JSON is a `reject` with code `invalid_json`; an empty body too.
 */
export function parseBody(text: string): StepResult<unknown> {
  if (text.length === 0) return reject('invalid_json', 'request body is empty; expected a JSON object');
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (err) {
    return reject('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}
