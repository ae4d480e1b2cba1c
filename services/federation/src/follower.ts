/**
 * Follows the event log into the in-memory directory: one ordered consumer (no durable state on
 * the server, nothing to acknowledge) per aggregate type the publisher reads, from the first
 * event. A single filter subject each, so NATS 2.9 serves them. Events stored where their
 * envelope says they do not belong, or not of the aggregate's own types, are skipped and counted.
 */
import { jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { aggregateTypeSubject, checkEventProvenance, decodeEvent, type DomainEnvelope } from '@trustplane/events';

/** The aggregate types the publisher reads. */
export const FOLLOWED_AGGREGATES = ['trustdomain', 'bundle', 'federation', 'federatedbundle'] as const;

/** Where the log is and what to report to. */
export interface FollowerOptions {
  readonly stream: string;
  readonly subjectPrefix: string;
  /** Called for every event refused (forged subject, undecodable, wrong payload). */
  readonly onRefused?: (subject: string, reason: string) => void;
}

/** A running follower. */
export interface LogFollower {
  /** True once every consumer has applied the events that were in the log when it started. */
  caughtUp(): boolean;
  /** Stream sequence last applied per aggregate type. */
  positions(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

function refusal(prefix: string, subject: string, event: DomainEnvelope, aggregateType: string): string | undefined {
  const problem = checkEventProvenance(prefix, subject, event);
  if (problem !== undefined) return problem.code;
  if (event.aggregateType !== aggregateType) return 'AGGREGATE_TYPE_UNEXPECTED';
  if (event.type === 'bundle.updated' && event.data.trustDomainId !== event.aggregateId) return 'BUNDLE_TRUST_DOMAIN_MISMATCH';
  return undefined;
}

/** Starts following the log, handing every accepted event to `apply` in log order per aggregate type. */
export async function followLog(nc: NatsConnection, apply: (event: DomainEnvelope) => void, options: FollowerOptions): Promise<LogFollower> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const positions: Record<string, number> = {};
  const targets: Record<string, number> = {};
  const iterators: ConsumerMessages[] = [];
  const loops: Promise<void>[] = [];
  for (const aggregateType of FOLLOWED_AGGREGATES) {
    const subject = aggregateTypeSubject(options.subjectPrefix, aggregateType);
    // What "caught up" means: the last event of this type that was stored before we started.
    const last = await jsm.streams.getMessage(options.stream, { last_by_subj: subject }).catch(() => null);
    targets[aggregateType] = last?.seq ?? 0;
    positions[aggregateType] = 0;
    const consumer = await js.consumers.get(options.stream, { filter_subjects: subject });
    const messages = await consumer.consume({ max_messages: 256 });
    iterators.push(messages);
    loops.push(
      (async () => {
        for await (const message of messages) {
          let event: DomainEnvelope | undefined;
          let reason: string | undefined;
          try {
            event = decodeEvent(message.data);
            reason = refusal(options.subjectPrefix, message.subject, event, aggregateType);
          } catch (error) {
            reason = error instanceof Error ? error.message : 'undecodable';
          }
          if (reason === undefined && event !== undefined) apply(event);
          else options.onRefused?.(message.subject, reason ?? 'unknown');
          positions[aggregateType] = message.seq;
        }
      })(),
    );
  }
  return {
    caughtUp: () => FOLLOWED_AGGREGATES.every((type) => (positions[type] ?? 0) >= (targets[type] ?? 0)),
    positions: () => ({ ...positions }),
    async close() {
      for (const messages of iterators) messages.stop();
      await Promise.allSettled(loops);
    },
  };
}
