// Every failure tpctl reports carries a stable string code, printed as `Error: <detail> (<code>)`.

/** Codes of failures detected by tpctl itself (the server's codes come from problem+json). */
export type CliErrorCode =
  /** A flag or argument has an invalid value. */
  | 'INVALID_ARGUMENT'
  /** The config file cannot be read or parsed, or holds unknown keys. */
  | 'CONFIG_INVALID'
  /** A document file given to a command cannot be read, parsed, or is not shaped as expected. */
  | 'DOCUMENT_INVALID'
  /** The server could not be reached. */
  | 'SERVER_UNREACHABLE'
  /** The server answered something that is not the API's JSON. */
  | 'BAD_RESPONSE'
  /** A host-local bootstrap command is not available in this build. */
  | 'BOOTSTRAP_UNAVAILABLE'
  /** A host-local bootstrap command failed. */
  | 'BOOTSTRAP_FAILED';

/** A failure detected on the CLI side. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    /** Stable code. */
    readonly code: CliErrorCode,
    /** Human detail, one line. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

/**
 * The server answered 202: the change is committed but not yet visible, so the command cannot
 * show the resource as usual. Not a failure: tpctl prints the answer (which carries a shown-once
 * secret when the request created one) and exits 0.
 */
export class AcceptedAnswer extends Error {
  override readonly name = 'AcceptedAnswer';
  constructor(readonly answer: Readonly<Record<string, unknown>>) {
    super('accepted');
  }
}

/** How tpctl prints a 202 answer in table mode: what was committed, where it will show, and any secret. */
export function renderAccepted(answer: Readonly<Record<string, unknown>>): string {
  const { id, location, status: _status, detail: _detail, ...rest } = answer;
  const lines = [`Accepted: ${String(id)} is committed and will be visible shortly${typeof location === 'string' ? ` (${location})` : ''}.`];
  for (const [key, value] of Object.entries(rest)) lines.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if ('token' in rest || 'clusterKey' in rest) lines.push('', 'Store the secret above now: it is shown only once and cannot be retrieved again.');
  return lines.join('\n') + '\n';
}

/** One field-level validation problem (`errors[]` of a VALIDATION_FAILED problem). */
export interface FieldProblem {
  /** The offending field (JSON path). */
  field: string;
  /** Stable code of the problem. */
  code: string;
  /** Human message. */
  message: string;
}

/** An RFC 9457 problem answered by the REST API. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** Stable code from the problem document (`HTTP_<status>` when it has none). */
    readonly code: string,
    /** The problem's `detail` (or `title`). */
    readonly detail: string,
    /** Field problems of a VALIDATION_FAILED answer. */
    readonly errors: FieldProblem[] = [],
    /** The whole problem document as received, or null when the body was not JSON. */
    readonly problem: Record<string, unknown> | null = null,
    /** The `Retry-After` header (seconds), when the server sent one. */
    readonly retryAfter?: string,
  ) {
    super(`${detail} (${code})`);
  }
}

/**
 * The text printed on stderr for a failure: `Error: <detail> (<code>)`, then one indented line
 * per field problem. Unknown throwables are rendered with code INTERNAL.
 */
export function renderError(error: unknown): string {
  if (error instanceof ApiError) {
    const lines = [`Error: ${error.detail} (${error.code})`];
    for (const problem of error.errors) {
      // Messages usually start with the field already; name it only when they do not.
      const text = problem.message.startsWith(problem.field)
        ? problem.message
        : `${problem.field}: ${problem.message}`;
      lines.push(`  ${text} (${problem.code})`);
    }
    return lines.join('\n') + '\n';
  }
  if (error instanceof CliError) return `Error: ${error.detail} (${error.code})\n`;
  const message = error instanceof Error ? error.message : String(error);
  return `Error: ${message} (INTERNAL)\n`;
}
