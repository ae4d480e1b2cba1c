/** Outcome of a parse or validation: the value, or a typed error. Never throws for bad input. */
export type Result<T, E> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Wraps a successful value. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps a failure. */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/** Any error object produced by this package: a stable `code` plus a human `message`. */
export interface CodedError {
  /** Stable, machine-readable code; assert on this, never on the message. */
  readonly code: string;
  /** Human-readable explanation naming the rule that failed. */
  readonly message: string;
}

/**
 * Thrown by {@link unwrap}: carries the typed error(s). For boot-time config and tests, where bad
 * input is a programming or operator error rather than a request to reject.
 */
export class SpiffeValidationError<E extends CodedError = CodedError> extends Error {
  override readonly name = 'SpiffeValidationError';
  /** The stable code of the first error. */
  readonly code: E['code'];
  /** The first (for single-error results, the only) typed error. */
  readonly detail: E;

  constructor(
    /** Every typed error of the failed result; never empty. */
    readonly errors: readonly [E, ...E[]],
  ) {
    super(errors.map((e) => e.message).join('; '));
    this.detail = errors[0];
    this.code = errors[0].code;
  }
}

/**
 * Returns the value of a successful result, or throws {@link SpiffeValidationError}. Accepts both
 * single-error results (the parsers) and error-list results (entry validation).
 */
export function unwrap<T, E extends CodedError>(result: Result<T, E | readonly E[]>): T {
  if (result.ok) return result.value;
  const errors: readonly E[] = isErrorList(result.error) ? result.error : [result.error];
  const [first, ...rest] = errors;
  if (first === undefined) throw new Error('unwrap: failed result without errors');
  throw new SpiffeValidationError<E>([first, ...rest]);
}

function isErrorList<E extends CodedError>(e: E | readonly E[]): e is readonly E[] {
  return Array.isArray(e);
}
