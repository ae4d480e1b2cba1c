import { Inject, Injectable } from '@nestjs/common';
import type { AggregateRef, Decider, DomainEvent, EventDefinition } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext, type CommandResult } from '@trustplane/eventstore';
import { EVENT_LOG, ProjectionHost } from '@trustplane/platform';

/** Runs a command against an aggregate and waits until the read models show its effect. */
@Injectable()
export class CommandBus {
  constructor(
    @Inject(EVENT_LOG) readonly log: EventLog,
    private readonly projections: ProjectionHost,
  ) {}

  async run<S, C, E extends DomainEvent & EventDefinition<string, number, unknown>>(
    decider: Decider<S, C, E>,
    ref: AggregateRef,
    command: C,
    context: CommandContext,
  ): Promise<CommandResult<S, E>> {
    const result = await handleCommand(this.log, decider, ref, command, context);
    if (result.events.length > 0) await this.projections.waitForAll(result.version);
    return result;
  }

  /** Loads an aggregate's current state (for cross-aggregate checks). */
  async state<S, C, E extends DomainEvent & EventDefinition<string, number, unknown>>(decider: Decider<S, C, E>, ref: AggregateRef): Promise<S> {
    const loaded = await this.log.load(ref, {
      initialState: () => decider.initialState(),
      evolve: (state, event) => decider.evolve(state, event as never),
    });
    return loaded.state;
  }
}
