// Given/when helpers for decider unit tests (not exported from the package index).
import { toEnvelope, type Decider, type Decision, type EnvelopeOf, type EventDefinition, type EventDraft } from '@trustplane/events';

/** The fixed instant decider tests decide at. */
export const TEST_NOW = new Date('2026-03-01T10:00:00.000Z');

/** Folds drafted events into a decider's state, as if loaded from the log. */
export function given<S, C, E extends EventDefinition<string, number, unknown>>(
  decider: Decider<S, C, E>,
  ...drafts: EventDraft<E>[]
): S {
  return drafts.reduce<S>(
    (state, draft, index) =>
      decider.evolve(
        state,
        toEnvelope<E>(
          draft,
          {
            tenant: 't-0000000001',
            aggregateType: decider.aggregateType,
            aggregateId: 'x-0000000001',
            occurredAt: TEST_NOW.toISOString(),
            actor: { kind: 'system', id: 'test' },
            causationId: 'c',
            correlationId: 'c',
          },
          `e${index}`,
        ) as EnvelopeOf<E>,
      ),
    decider.initialState(),
  );
}

/** Decides a command at TEST_NOW. */
export function when<S, C, E extends EventDefinition<string, number, unknown>>(decider: Decider<S, C, E>, state: S, command: C): Decision<E> {
  return decider.decide(command, state, { now: TEST_NOW });
}

/** The error code of a rejected decision (undefined when accepted). */
export function rejectedWith<E extends EventDefinition<string, number, unknown>>(decision: Decision<E>): string | undefined {
  return decision.ok ? undefined : decision.error.code;
}
