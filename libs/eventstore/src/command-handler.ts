import {
  DomainError,
  toEnvelope,
  uuidv7,
  type Actor,
  type AggregateRef,
  type Decider,
  type DomainEnvelope,
  type DomainEvent,
  type EnvelopeOf,
  type EventDefinition,
} from '@trustplane/events';
import { ConcurrencyError } from './errors.js';
import type { EventLog, LoadedAggregate } from './event-log.js';

/** Who is acting, why, and when: the metadata every resulting event carries. */
export interface CommandContext {
  readonly actor: Actor;
  /** Id shared by everything caused by one request. */
  readonly correlationId: string;
  /** Id of the request or event that caused this command. */
  readonly causationId: string;
  /** W3C traceparent of the request, if traced. */
  readonly traceparent?: string;
  /** The injected clock's reading when the command arrived. */
  readonly now: Date;
}

/** The outcome of a handled command. */
export interface CommandResult<State, E extends EventDefinition<string, number, unknown>> {
  /** State after the new events. */
  readonly state: State;
  /** Aggregate version after the append (unchanged when no events were produced). */
  readonly version: number;
  /** The stored envelopes (empty when the command changed nothing). */
  readonly events: readonly EnvelopeOf<E>[];
}

/** Options of the command handler. */
export interface CommandHandlerOptions {
  /** How many times to load-decide-append before giving up on conflicts. */
  readonly maxAttempts?: number;
}

/**
 * Loads the aggregate, runs the pure `decide`, appends the events with optimistic
 * concurrency, and on a conflict reloads and decides again (bounded). A refused command
 * throws its DomainError and appends nothing.
 */
export async function handleCommand<
  State,
  Command,
  E extends DomainEvent & EventDefinition<string, number, unknown>,
>(
  log: EventLog,
  decider: Decider<State, Command, E>,
  ref: AggregateRef,
  command: Command,
  context: CommandContext,
  options: CommandHandlerOptions = {},
): Promise<CommandResult<State, E>> {
  const maxAttempts = options.maxAttempts ?? 5;
  const fold = {
    initialState: () => decider.initialState(),
    evolve: (state: State, event: DomainEnvelope) => decider.evolve(state, event as EnvelopeOf<E>),
  };
  let loaded: LoadedAggregate<State> | undefined;
  for (let attempt = 1; ; attempt++) {
    loaded = loaded === undefined ? await log.load(ref, fold) : await log.refresh(ref, fold, loaded);
    const decision = decider.decide(command, loaded.state, { now: context.now });
    if (!decision.ok) throw decision.error;
    if (decision.events.length === 0) {
      return { state: loaded.state, version: loaded.version, events: [] };
    }
    const envelopes = decision.events.map(
      (draft) =>
        toEnvelope<E>(
          draft,
          {
            tenant: ref.tenant,
            aggregateType: ref.aggregateType,
            aggregateId: ref.aggregateId,
            occurredAt: context.now.toISOString(),
            actor: context.actor,
            causationId: context.causationId,
            correlationId: context.correlationId,
            ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
          },
          uuidv7(context.now.getTime()),
        ) as EnvelopeOf<E>,
    );
    try {
      const appended = await log.append(ref, loaded.version, envelopes as unknown as DomainEnvelope[]);
      let state = loaded.state;
      for (const envelope of envelopes) state = decider.evolve(state, envelope);
      return { state, version: appended.version, events: envelopes };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= maxAttempts) throw error;
    }
  }
}

export { DomainError };
