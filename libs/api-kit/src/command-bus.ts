import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AggregateRef, Decider, DomainEnvelope, DomainEvent, EventDefinition } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext, type CommandResult } from '@trustplane/eventstore';
import { quoteIdent } from '@trustplane/eventstore';
import { AcceptedPending, EVENT_LOG, INFRASTRUCTURE_RETRY_AFTER_SECONDS, NATS, PG_POOL, ProjectionHost, RetryableProblemError } from '@trustplane/platform';
import type { Pool } from 'pg';
import { API_KIT_SETTINGS, type ApiKitSettings } from './settings.js';

/** Injection token of {@link CommandBusHooks} (tests only). */
export const COMMAND_BUS_HOOKS = Symbol('COMMAND_BUS_HOOKS');

/** Test seams of the command bus: used to kill a service process at the worst moment. */
export interface CommandBusHooks {
  /** Runs right after events are committed to the log, before anything is answered. */
  afterAppend?(events: readonly DomainEnvelope[]): void;
}

/** What a 202 answer says about a committed write that the read models do not show yet. */
export interface PendingAnswer {
  /** The resource written. */
  readonly id: string;
  /** Where to read it once visible (absent for deletions). */
  readonly location?: string;
  /** More fields of the answer, e.g. a shown-once secret that must not be lost. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * Runs commands against aggregates (load, decide, append) and makes the read models' progress
 * part of the answer: {@link settle} waits a bounded time for the projections and otherwise
 * answers 202 Accepted, because a committed write is never reported as failed. When NATS is
 * known to be disconnected, commands and reads fail at once with 503 instead of waiting for the
 * JetStream timeout.
 */
@Injectable()
export class CommandBus implements OnModuleDestroy {
  private connected = true;
  private watching = true;

  constructor(
    @Inject(EVENT_LOG) readonly log: EventLog,
    private readonly projections: ProjectionHost,
    @Inject(NATS) nc: NatsConnection,
    @Inject(API_KIT_SETTINGS) private readonly config: ApiKitSettings,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Optional() @Inject(COMMAND_BUS_HOOKS) private readonly hooks?: CommandBusHooks,
  ) {
    void this.watch(nc);
  }

  /** Follows the connection's status so that a known outage is answered without waiting. */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (!this.watching) return;
      if (status.type === 'disconnect' || status.type === 'close') this.connected = false;
      else if (status.type === 'reconnect') this.connected = true;
    }
    this.connected = false;
  }

  onModuleDestroy(): void {
    this.watching = false;
  }

  private assertConnected(): void {
    if (!this.connected) {
      throw new RetryableProblemError(503, 'EVENT_LOG_UNAVAILABLE', 'the event log cannot be reached right now (NATS is disconnected); retry', INFRASTRUCTURE_RETRY_AFTER_SECONDS);
    }
  }

  /**
   * Decides and appends. Resolves once the events are committed to the log (or when the command
   * changed nothing); does not wait for the read models — see {@link settle}.
   */
  async run<S, C, E extends DomainEvent & EventDefinition<string, number, unknown>>(
    decider: Decider<S, C, E>,
    ref: AggregateRef,
    command: C,
    context: CommandContext,
  ): Promise<CommandResult<S, E>> {
    this.assertConnected();
    const result = await handleCommand(this.log, decider, ref, command, context);
    if (result.events.length > 0) this.hooks?.afterAppend?.(result.events as readonly DomainEnvelope[]);
    return result;
  }

  /**
   * Waits until every read model has applied `sequence` (the highest version a request
   * produced), at most the service's projectionWaitMs. Past that the write is still committed:
   * throws {@link AcceptedPending} (202 with `Location`), never an error.
   */
  async settle(sequence: number, pending: PendingAnswer): Promise<void> {
    if (sequence <= 0) return;
    try {
      await this.waitForReadModels(sequence);
    } catch {
      throw new AcceptedPending(
        {
          id: pending.id,
          status: 'accepted',
          detail: 'the change is committed; it will be visible shortly',
          ...(pending.location === undefined ? {} : { location: pending.location }),
          ...(pending.extra ?? {}),
        },
        pending.location,
      );
    }
  }

  /**
   * Waits for this process's projection runners, or for the checkpoints in the shared database:
   * replicas share one durable consumer per projection, so the event may be applied by another
   * replica, which this process's runners learn only at their next batch.
   */
  private async waitForReadModels(sequence: number): Promise<void> {
    const deadline = Date.now() + this.config.projectionWaitMs;
    let localDone = false;
    const local = this.projections.waitForAll(sequence, this.config.projectionWaitMs).then(
      () => void (localDone = true),
      () => undefined,
    );
    while (!localDone) {
      if (await this.sharedCheckpointsReach(sequence)) return;
      if (Date.now() >= deadline) throw new Error(`the read models did not reach ${sequence}`);
      await Promise.race([local, new Promise((resolve) => setTimeout(resolve, 25))]);
    }
  }

  private async sharedCheckpointsReach(sequence: number): Promise<boolean> {
    const names = this.projections.runners.map((runner) => runner.name);
    if (names.length === 0) return true;
    const result = await this.pool
      .query<{ reached: string }>(`SELECT count(*) AS reached FROM ${quoteIdent(this.config.schema)}.projection_checkpoints WHERE projection = ANY($1) AND stream_seq >= $2`, [names, sequence])
      .catch(() => ({ rows: [{ reached: '0' }] }));
    return Number(result.rows[0]?.reached) === names.length;
  }

  /** Loads an aggregate's current state from the log (authoritative, unlike the read models). */
  async state<S, C, E extends DomainEvent & EventDefinition<string, number, unknown>>(decider: Decider<S, C, E>, ref: AggregateRef): Promise<S> {
    return (await this.load(decider, ref)).state;
  }

  /** Like {@link state}, with the aggregate's version (0 when it has no events). */
  async load<S, C, E extends DomainEvent & EventDefinition<string, number, unknown>>(decider: Decider<S, C, E>, ref: AggregateRef): Promise<{ state: S; version: number }> {
    this.assertConnected();
    return this.log.load(ref, {
      initialState: () => decider.initialState(),
      evolve: (state, event) => decider.evolve(state, event as never),
    });
  }
}
