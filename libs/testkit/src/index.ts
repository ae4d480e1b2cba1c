import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { BusUserName } from '@trustplane/bus';
import pg from 'pg';
import { testNatsEnv } from './nats.js';

/**
 * Admin connection to the local stack's Postgres server (`DATABASE_ADMIN_URL`; else the server
 * of `DATABASE_URL`, database `postgres`); test databases are created next to it.
 */
export const TEST_DATABASE_URL = process.env['DATABASE_ADMIN_URL'] ?? adminDatabaseUrl(process.env['DATABASE_URL']);

function adminDatabaseUrl(servicesUrl: string | undefined): string {
  const url = new URL(servicesUrl ?? 'postgres://postgres@127.0.0.1:5432/trustplane');
  url.pathname = '/postgres';
  return url.toString();
}

/** A short random lowercase token, unique per call, usable in names of every kind. */
export function uniqueToken(): string {
  return randomBytes(5).toString('hex');
}

/** A database created for one test file and dropped afterwards. */
export interface TestDatabase {
  readonly name: string;
  /** Connection URL to the new database (as the admin user). */
  readonly url: string;
  /** A pool on the new database. */
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

/** Creates an empty database `tp_test_<label>_<random>`. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `tp_test_${label.replace(/[^a-z0-9_]/g, '_')}_${uniqueToken()}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(TEST_DATABASE_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Replaces the database name in a Postgres URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A stream name and subject prefix that no other test run uses. */
export interface TestStream {
  readonly streamName: string;
  readonly subjectPrefix: string;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
}

/** Fresh stream settings for one test. */
export function testStreamSettings(label: string): TestStream {
  const token = uniqueToken();
  return {
    streamName: `TPT_${label.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}_${token}`,
    subjectPrefix: `tpt${token}`,
    replicas: 1,
    duplicateWindowMs: 120_000,
  };
}

/**
 * The environment of a service under test on its own database and stream: the shared NATS
 * server as the service's own user, TP_EVENT_STREAM / TP_SUBJECT_PREFIX of `stream`.
 */
export function testServiceEnv(
  service: BusUserName,
  db: Pick<TestDatabase, 'url'>,
  stream: Pick<TestStream, 'streamName' | 'subjectPrefix'>,
  logLevel = 'warn',
): Record<string, string> {
  return {
    ...testNatsEnv(service),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_LOG_LEVEL: logLevel,
  };
}

/**
 * The environment of an auth service under test: testServiceEnv plus its port and an in-memory
 * KeyManager for the credential signing key; `extra` adds or overrides settings (TTL, log level).
 */
export function testAuthEnv(
  db: Pick<TestDatabase, 'url'>,
  stream: Pick<TestStream, 'streamName' | 'subjectPrefix'>,
  port: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...testServiceEnv('auth', db, stream), TP_AUTH_PORT: String(port), TP_AUTH_KEY_MANAGER: 'memory', ...extra };
}

export { repoRoot } from './paths.js';

/** Deletes a test stream (test clean-up, with an admin connection). */
export async function deleteTestStream(nc: NatsConnection, streamName: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(streamName).catch(() => undefined);
}

/** Polls `check` until it returns true or the timeout passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
export {
  findKnownPrivateKeys,
  findPrivateKeyMaterial,
  scanForPrivateKeys,
  unsealDiskKeyStore,
  type KnownPrivateKey,
  type PrivateKeyScanScope,
} from './secrets-scan.js';
export * from './processes.js';
export * from './nats.js';
export { requirePrerequisite, skipOrFailUnderCi, skipUnlessCi, underCi } from './prerequisites.js';
export * from './postgres.js';
