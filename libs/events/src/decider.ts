import type { EnvelopeOf, EventDefinition, EventDraft } from './envelope.js';

/** The class of a refused command; adapters map it to HTTP / gRPC statuses. */
export type DomainErrorKind = 'invalid' | 'conflict' | 'not_found' | 'forbidden';

/** The HTTP status of each kind of refusal (REST answers and the signer's NATS contract). */
export const DOMAIN_ERROR_HTTP_STATUS = {
  invalid: 400,
  conflict: 409,
  not_found: 404,
  forbidden: 403,
} as const satisfies Record<DomainErrorKind, number>;

/** A business rule refused a command. `code` is stable; `kind` gives the status class. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    /** Stable machine-readable code, e.g. `TRUST_DOMAIN_NAME_TAKEN`. */
    readonly code: string,
    message: string,
    /** Which class of failure this is; adapters map it to HTTP / gRPC statuses. */
    readonly kind: DomainErrorKind = 'invalid',
    /** Extra structured detail (field errors, blocking resources). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** The outcome of `decide`: events to append, or the reason the command was refused. */
export type Decision<E extends EventDefinition<string, number, unknown>> =
  | { readonly ok: true; readonly events: readonly EventDraft<E>[] }
  | { readonly ok: false; readonly error: DomainError };

/** Accepts a command with the events it produces (none is a valid, idempotent outcome). */
export function accept<E extends EventDefinition<string, number, unknown>>(
  ...events: EventDraft<E>[]
): Decision<E> {
  return { ok: true, events };
}

/** Refuses a command. */
export function reject<E extends EventDefinition<string, number, unknown>>(
  error: DomainError,
): Decision<E> {
  return { ok: false, error };
}

/** What a decider knows about the moment a command is decided. */
export interface DecisionContext {
  /** The injected clock's reading. */
  readonly now: Date;
}

/**
 * A pure aggregate: `decide(command, state)` → events | error and `evolve(state, event)` → state.
 * No I/O: the command handler in `@trustplane/eventstore` loads, decides and appends.
 */
export interface Decider<State, Command, E extends EventDefinition<string, number, unknown>> {
  /** Aggregate type as it appears in subjects, e.g. `organization`. */
  readonly aggregateType: string;
  /** State before the first event. */
  initialState(): State;
  /** Folds one stored event into the state. */
  evolve(state: State, event: EnvelopeOf<E>): State;
  /** Decides what a command means in the current state. */
  decide(command: Command, state: State, context: DecisionContext): Decision<E>;
}

/** Exhaustiveness guard for switches over unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
