/** Stable codes of event store failures. */
export type EventStoreErrorCode =
  | 'CONCURRENCY_CONFLICT'
  | 'APPEND_FAILED'
  | 'LOAD_FAILED'
  | 'STREAM_MISCONFIGURED'
  | 'PROJECTION_FAILED'
  | 'LOG_UNAVAILABLE';

/** Base class of every event store error. */
export class EventStoreError extends Error {
  override readonly name: string = 'EventStoreError';
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The event log cannot be reached right now (the NATS connection is known to be down): raised at
 * once instead of after the JetStream request timeout. The caller may retry later.
 */
export class EventLogUnavailableError extends EventStoreError {
  override readonly name = 'EventLogUnavailableError';
  constructor(message: string) {
    super('LOG_UNAVAILABLE', message);
  }
}

/** The aggregate changed since it was loaded: reload, decide again, retry. */
export class ConcurrencyError extends EventStoreError {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly subject: string,
    readonly expectedVersion: number,
    options?: { cause?: unknown },
  ) {
    super(
      'CONCURRENCY_CONFLICT',
      `${subject} is no longer at version ${expectedVersion}`,
      options,
    );
  }
}

/** JetStream API error code for a failed `Nats-Expected-Last-Subject-Sequence` check. */
export const JS_WRONG_LAST_SEQUENCE = 10071;
/** JetStream API error code for "no message found" on a direct get. */
export const JS_NO_MESSAGE_FOUND = 10037;

/** Reads the JetStream API error code from an error thrown by `@nats-io/jetstream`, if any. */
export function jetStreamErrorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return code;
  const apiError = (error as { api_error?: { err_code?: unknown } }).api_error;
  return typeof apiError?.err_code === 'number' ? apiError.err_code : undefined;
}
