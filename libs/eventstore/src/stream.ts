import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { allEventsSubject } from '@trustplane/events';
import { EventStoreError } from './errors.js';

/** Where the event log lives. */
export interface EventStreamSettings {
  /** JetStream stream name, e.g. `TP_EVENTS`. */
  readonly streamName: string;
  /** First subject token, `tp` in production. */
  readonly subjectPrefix: string;
  /** Stream replicas: 1 locally, 3 in a cluster. */
  readonly replicas: number;
  /** Window in which a repeated `Nats-Msg-Id` is stored once. */
  readonly duplicateWindowMs: number;
}

/** The stream configuration the event log requires; nothing here may ever be relaxed. */
export function eventStreamConfig(
  settings: EventStreamSettings,
): Partial<StreamConfig> & { name: string } {
  return {
    name: settings.streamName,
    subjects: [allEventsSubject(settings.subjectPrefix)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    max_msgs_per_subject: -1,
    duplicate_window: settings.duplicateWindowMs * 1_000_000,
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
  };
}

/**
 * Opens the event stream as a service does: creates it when it does not exist yet, and otherwise
 * only checks it. A stream whose settings differ from {@link eventStreamConfig} is refused with
 * the settings named: changing an existing stream is an operator's job
 * ({@link provisionEventStream} with admin credentials), and services have no right to it (a
 * service that could update the stream could shorten its max_age and erase history).
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  settings: EventStreamSettings,
): Promise<StreamInfo> {
  const wanted = eventStreamConfig(settings);
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(settings.streamName);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    info = await jsm.streams.add(wanted);
  }
  const differences = differingSettings(info.config, wanted);
  if (differences.length > 0) {
    throw new EventStoreError(
      'STREAM_MISCONFIGURED',
      `stream ${settings.streamName} differs from the event log's settings: ${differences.join('; ')}. ` +
        'Update it with admin credentials (node tools/provision-stream.mjs), not from a service.',
    );
  }
  return info;
}

/**
 * Creates the event stream or brings an existing one to {@link eventStreamConfig}: an operator
 * operation, run with the admin NATS user (the local stack's tools and the tests do). NATS
 * itself refuses to clear deny_delete / deny_purge on an existing stream.
 */
export async function provisionEventStream(
  jsm: JetStreamManager,
  settings: EventStreamSettings,
): Promise<StreamInfo> {
  const wanted = eventStreamConfig(settings);
  try {
    const current = await jsm.streams.info(settings.streamName);
    if (differingSettings(current.config, wanted).length === 0) return current;
    return await jsm.streams.update(settings.streamName, { ...current.config, ...wanted });
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    return jsm.streams.add(wanted);
  }
}

/** Each setting of `wanted` that `current` does not have, as `name: current (wanted …)`. */
function differingSettings(current: StreamConfig, wanted: Partial<StreamConfig>): string[] {
  return (Object.keys(wanted) as (keyof StreamConfig)[])
    .filter((key) => JSON.stringify(current[key]) !== JSON.stringify(wanted[key]))
    .map((key) => `${key} is ${JSON.stringify(current[key])} (the event log needs ${JSON.stringify(wanted[key])})`);
}

function isStreamNotFound(error: unknown): boolean {
  const code = (error as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
  return code === 10059 || (error instanceof Error && /stream not found/i.test(error.message));
}
