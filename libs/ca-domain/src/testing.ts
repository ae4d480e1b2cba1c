// Given/when helpers for decider unit tests (not exported from the package index).
import assert from 'node:assert/strict';
import {
  toEnvelope,
  type Decider,
  type Decision,
  type EnvelopeOf,
  type EventDefinition,
  type EventDraft,
} from '@trustplane/events';

/** The instant decider tests start at. */
export const T0 = new Date('2026-03-01T00:00:00.000Z');

/** T0 plus a number of seconds. */
export function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

export const HOUR = 3600;
export const DAY = 24 * HOUR;

/**
 * One aggregate instance driven through its decider: `decide` at a given instant, and when
 * accepted, every event is enveloped (occurredAt = that instant) and folded into the state.
 */
export class AggregateRun<S, C, E extends EventDefinition<string, number, unknown>> {
  state: S;
  readonly events: EnvelopeOf<E>[] = [];

  constructor(
    readonly decider: Decider<S, C, E>,
    readonly aggregateId: string,
  ) {
    this.state = decider.initialState();
  }

  /** Decides `command` at `now` and applies what was accepted. */
  send(command: C, now: Date): Decision<E> {
    const decision = this.decider.decide(command, this.state, { now });
    if (decision.ok) for (const draft of decision.events) this.fold(draft, now);
    return decision;
  }

  /** Like send, but the command must be accepted; returns the drafted events. */
  must(command: C, now: Date): readonly EventDraft<E>[] {
    const decision = this.send(command, now);
    assert.ok(
      decision.ok,
      decision.ok ? '' : `refused: ${decision.error.code} ${decision.error.message}`,
    );
    return decision.events;
  }

  /** Folds a drafted event as if loaded from the log. */
  fold(draft: EventDraft<E>, now: Date): void {
    const envelope = toEnvelope<E>(
      draft,
      {
        tenant: 't-0000000001',
        aggregateType: this.decider.aggregateType,
        aggregateId: this.aggregateId,
        occurredAt: now.toISOString(),
        actor: { kind: 'system', id: 'test' },
        causationId: 'c',
        correlationId: 'c',
      },
      `e${this.events.length}`,
    );
    this.events.push(envelope);
    this.state = this.decider.evolve(this.state, envelope);
  }
}

/** The error code of a rejected decision (undefined when accepted). */
export function rejectedWith<E extends EventDefinition<string, number, unknown>>(
  decision: Decision<E>,
): string | undefined {
  return decision.ok ? undefined : decision.error.code;
}
