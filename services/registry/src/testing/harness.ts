// Test harness: a registry on its own database and stream, plus helpers to call it.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEvents, type DomainEnvelope } from '@trustplane/events';
import { EventLog } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import type { Logger } from 'pino';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  testNatsEnv,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import { bootstrapOrganization, bootstrapToken } from '../bootstrap.js';
import { loadRegistryConfig } from '../config.js';
import { startRegistry, type RegistryServer } from '../server.js';

/** A running registry for one test file. */
export interface RegistryHarness {
  readonly server: RegistryServer;
  readonly url: string;
  /** The environment the registry runs with (also what host-local tpctl commands need). */
  readonly env: Record<string, string>;
  readonly log: EventLog;
  readonly nc: NatsConnection;
  readonly db: TestDatabase;
  readonly stream: TestStream;
  /** Creates an organization and an admin token for it (host-local bootstrap). */
  organization(name: string, scopes?: string[]): Promise<{ id: string; token: string }>;
  /** Every event stored after stream sequence `after`, in log order. */
  eventsAfter(after: number): Promise<DomainEnvelope[]>;
  close(): Promise<void>;
}

/** A JSON response. */
export interface ApiResponse {
  readonly status: number;
  readonly type: string;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** Starts a registry with its own database and stream (optionally with a clock or a logger of the test's). */
export async function startRegistryHarness(
  label: string,
  extraEnv: Record<string, string> = {},
  options: { clock?: Clock; logger?: Logger } = {},
): Promise<RegistryHarness> {
  const nc = await connectTestNats();
  const db = await createTestDatabase(label);
  const stream = testStreamSettings(label);
  const env: Record<string, string> = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: '0',
    TP_LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  const server = await startRegistry(loadRegistryConfig(env), options);
  const log = await EventLog.open(nc, stream);
  return {
    server,
    url: server.url,
    env,
    log,
    nc,
    db,
    stream,
    async organization(name, scopes = ['admin']) {
      const org = await bootstrapOrganization(env, name);
      const token = await bootstrapToken(env, { organizationId: org.id, name: 'test', scopes });
      await waitForToken(server.url, token.token);
      return { id: org.id, token: token.token };
    },
    async eventsAfter(after) {
      const jsm = await jetstreamManager(nc);
      const events: DomainEnvelope[] = [];
      for (let seq = after + 1; seq <= (await log.lastSequence()); seq++) {
        const message = await jsm.streams.getMessage(stream.streamName, { seq });
        if (message !== null) events.push(...decodeEvents(message.data));
      }
      return events;
    },
    async close() {
      await server.close();
      await deleteTestStream(nc, stream.streamName);
      await nc.close();
      await db.drop();
    },
  };
}

/** Waits until the registry has projected a freshly bootstrapped token. */
export async function waitForToken(url: string, token: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await fetch(`${url}/api/v1/organization`, { headers: { authorization: `Bearer ${token}` } });
    if (response.status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('token was never accepted');
}

/** Calls the API with an optional token. */
export async function call(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, json };
}
