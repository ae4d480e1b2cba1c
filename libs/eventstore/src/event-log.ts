import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  aggregateSubject,
  decodeEvents,
  encodeEvents,
  type AggregateRef,
  type DomainEnvelope,
} from '@trustplane/events';
import {
  ConcurrencyError,
  EventLogUnavailableError,
  EventStoreError,
  jetStreamErrorCode,
  JS_NO_MESSAGE_FOUND,
  JS_WRONG_LAST_SEQUENCE,
} from './errors.js';
import { ensureEventStream, type EventStreamSettings } from './stream.js';

/** One event read back from the log with its stream sequence. */
export interface StoredEvent {
  readonly event: DomainEnvelope;
  /** Stream sequence; the aggregate's version after this event. */
  readonly sequence: number;
}

/** What `append` stored. */
export interface AppendResult {
  /** The aggregate's version (stream sequence of its last event) after the append. */
  readonly version: number;
  /**
   * Stream sequence of each appended event, in order: the same for all of them, since the events
   * of one append are stored as one message.
   */
  readonly sequences: readonly number[];
  /** True when the append had been stored before (a re-sent append). */
  readonly duplicate: boolean;
}

/** The stream's fill and its limits (0 = none), as JetStream reports them. */
export interface StreamState {
  readonly lastSequence: number;
  readonly messages: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly maxMessages: number;
}

/** Receives the outcome of every append (for readiness and metrics). */
export interface AppendObserver {
  /** The events were stored (or found stored). */
  appended?(events: number): void;
  /** The append failed for a reason other than a concurrency conflict. */
  appendFailed?(error: unknown): void;
}

/** How to fold an aggregate's events. */
export interface Fold<State> {
  initialState(): State;
  evolve(state: State, event: DomainEnvelope): State;
}

/** A folded aggregate and the version it is at (0 when it has no events). */
export interface LoadedAggregate<State> {
  readonly state: State;
  readonly version: number;
}

/**
 * The append-only event log on one JetStream stream. An aggregate's version is the stream
 * sequence of its last event; appends are guarded by `Nats-Expected-Last-Subject-Sequence`
 * and deduplicated by `Nats-Msg-Id` (the event id).
 */
export class EventLog {
  private observer: AppendObserver | undefined;
  /** False while the NATS connection is known to be down (appends and reads fail at once). */
  private connected = true;

  private constructor(
    readonly settings: EventStreamSettings,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Follows the connection's status, so that a known outage is answered without waiting. */
  private watch(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.connected = false;
        else if (status.type === 'reconnect') this.connected = true;
      }
      this.connected = false;
    })().catch(() => undefined);
  }

  /** True unless the NATS connection is known to be down. */
  get reachable(): boolean {
    return this.connected;
  }

  private assertReachable(what: string): void {
    if (!this.connected) {
      throw new EventLogUnavailableError(`${what}: the NATS connection is down (reconnecting)`);
    }
  }

  /** Reports the outcome of every append to `observer` (one observer; a later call replaces it). */
  observe(observer: AppendObserver): void {
    this.observer = observer;
  }

  /**
   * Opens the log: creates the stream when it does not exist, refuses (STREAM_MISCONFIGURED,
   * naming the settings) when it exists with other settings; never updates it.
   */
  static async open(nc: NatsConnection, settings: EventStreamSettings): Promise<EventLog> {
    const jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, settings);
    const log = new EventLog(settings, jetstream(nc), jsm);
    log.watch(nc);
    return log;
  }

  /** The subject an aggregate's events are stored on. */
  subjectOf(ref: AggregateRef): string {
    return aggregateSubject(this.settings.subjectPrefix, ref);
  }

  /**
   * Appends the events of one decision to one aggregate if it is still at `expectedVersion`
   * (0 = new aggregate). They are stored as ONE stream message (see `encodeEvents`), with
   * `Nats-Msg-Id` = the first event's id and the expected last subject sequence, so a decision is
   * in the log entirely or not at all: no crash can leave half of it. Throws ConcurrencyError when
   * another writer got there first.
   */
  async append(
    ref: AggregateRef,
    expectedVersion: number,
    events: readonly DomainEnvelope[],
  ): Promise<AppendResult> {
    const subject = this.subjectOf(ref);
    const first = events[0];
    if (first === undefined) return { version: expectedVersion, sequences: [], duplicate: false };
    for (const event of events) assertBelongsTo(event, ref);
    if (!this.connected) {
      const error = new EventLogUnavailableError(`append to ${subject} failed: the NATS connection is down (reconnecting)`);
      this.observer?.appendFailed?.(error);
      throw error;
    }
    try {
      const ack = await this.js.publish(subject, encodeEvents(events), {
        msgID: first.id,
        expect: { lastSubjectSequence: expectedVersion },
      });
      this.observer?.appended?.(events.length);
      return { version: ack.seq, sequences: events.map(() => ack.seq), duplicate: ack.duplicate };
    } catch (error) {
      if (jetStreamErrorCode(error) === JS_WRONG_LAST_SEQUENCE) {
        throw new ConcurrencyError(subject, expectedVersion, { cause: error });
      }
      this.observer?.appendFailed?.(error);
      throw new EventStoreError('APPEND_FAILED', `append to ${subject} failed`, { cause: error });
    }
  }

  /** The aggregate's current version: the sequence of its last event, 0 when it has none. */
  async version(ref: AggregateRef): Promise<number> {
    const last = await this.getOrUndefined({ last_by_subj: this.subjectOf(ref) });
    return last?.seq ?? 0;
  }

  /**
   * Reads the aggregate's events with sequence greater than `afterSequence`, in order. The events
   * of one decision share their message's sequence.
   */
  async readAggregate(ref: AggregateRef, afterSequence = 0): Promise<StoredEvent[]> {
    const subject = this.subjectOf(ref);
    const events: StoredEvent[] = [];
    let next = afterSequence + 1;
    for (;;) {
      const message = await this.getOrUndefined({ next_by_subj: subject, seq: next });
      if (message === undefined) return events;
      for (const event of decodeEvents(message.data)) events.push({ event, sequence: message.seq });
      next = message.seq + 1;
    }
  }

  /** Folds the aggregate's events into its state. */
  async load<State>(ref: AggregateRef, fold: Fold<State>): Promise<LoadedAggregate<State>> {
    return this.refresh(ref, fold, { state: fold.initialState(), version: 0 });
  }

  /**
   * Brings a previously loaded aggregate up to date by folding only newer events. Unchanged, it
   * costs one read (the next event after `known.version` is not there), as a version check would.
   */
  async refresh<State>(
    ref: AggregateRef,
    fold: Fold<State>,
    known: LoadedAggregate<State>,
  ): Promise<LoadedAggregate<State>> {
    const events = await this.readAggregate(ref, known.version);
    if (events.length === 0) return known;
    let state = known.state;
    for (const { event } of events) state = fold.evolve(state, event);
    return { state, version: events.at(-1)?.sequence ?? known.version };
  }

  /** The stream's last sequence (0 when empty). */
  async lastSequence(): Promise<number> {
    return (await this.streamState()).lastSequence;
  }

  /** The stream's fill and limits. */
  async streamState(): Promise<StreamState> {
    this.assertReachable('reading the stream state');
    const info = await this.jsm.streams.info(this.settings.streamName);
    return {
      lastSequence: info.state.last_seq,
      messages: info.state.messages,
      bytes: info.state.bytes,
      maxBytes: Math.max(0, info.config.max_bytes ?? 0),
      maxMessages: Math.max(0, info.config.max_msgs ?? 0),
    };
  }

  private async getOrUndefined(
    query: { last_by_subj: string } | { next_by_subj: string; seq: number },
  ): Promise<StoredMsg | undefined> {
    this.assertReachable(`reading ${JSON.stringify(query)}`);
    try {
      const message = await this.jsm.streams.getMessage(this.settings.streamName, query);
      return message ?? undefined;
    } catch (error) {
      if (jetStreamErrorCode(error) === JS_NO_MESSAGE_FOUND) return undefined;
      if (error instanceof Error && /no message found/i.test(error.message)) return undefined;
      throw new EventStoreError('LOAD_FAILED', `reading ${JSON.stringify(query)} failed`, {
        cause: error,
      });
    }
  }
}

function assertBelongsTo(event: DomainEnvelope, ref: AggregateRef): void {
  if (
    event.tenant !== ref.tenant ||
    event.aggregateType !== ref.aggregateType ||
    event.aggregateId !== ref.aggregateId
  ) {
    throw new EventStoreError(
      'APPEND_FAILED',
      `event ${event.id} belongs to ${event.aggregateType}/${event.aggregateId}, not ${ref.aggregateType}/${ref.aggregateId}`,
    );
  }
}
