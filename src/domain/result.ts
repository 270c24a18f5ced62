/**
 * Results of pipeline steps: expected bad input is a value, not an exception.
 * `ok` carries the value on, `drop` silently discards (e.g. a duplicate), `reject` reports a reason.
 */
export type StepResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'drop'; readonly reason: string }
  | { readonly kind: 'reject'; readonly code: string; readonly message: string };

/** Wraps a value as an `ok` result. */
export function ok<T>(value: T): StepResult<T> {
  return { kind: 'ok', value };
}

/** A result that silently discards the input. */
export function drop<T>(reason: string): StepResult<T> {
  return { kind: 'drop', reason };
}

/** A result that rejects the input with a stable error code. */
export function reject<T>(code: string, message: string): StepResult<T> {
  return { kind: 'reject', code, message };
}
