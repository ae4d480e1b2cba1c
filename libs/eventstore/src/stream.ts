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
 * Creates the event stream, or updates it to the required configuration. Idempotent;
 * safe to run at every start-up. Refuses to run against a stream that allows deletes.
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  settings: EventStreamSettings,
): Promise<StreamInfo> {
  const wanted = eventStreamConfig(settings);
  let info: StreamInfo;
  try {
    const current = await jsm.streams.info(settings.streamName);
    info = needsUpdate(current.config, wanted)
      ? await jsm.streams.update(settings.streamName, { ...current.config, ...wanted })
      : current;
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    info = await jsm.streams.add(wanted);
  }
  if (!info.config.deny_delete || !info.config.deny_purge) {
    throw new EventStoreError(
      'STREAM_MISCONFIGURED',
      `stream ${settings.streamName} allows deleting or purging messages`,
    );
  }
  return info;
}

function needsUpdate(current: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  return (Object.keys(wanted) as (keyof StreamConfig)[]).some(
    (key) => JSON.stringify(current[key]) !== JSON.stringify(wanted[key]),
  );
}

function isStreamNotFound(error: unknown): boolean {
  const code = (error as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
  return code === 10059 || (error instanceof Error && /stream not found/i.test(error.message));
}
