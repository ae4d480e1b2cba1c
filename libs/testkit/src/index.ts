import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';

/** Where the local stack (infra/local) put NATS and Postgres. */
export const TEST_NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
/** Admin connection to the Postgres server; test databases are created next to it. */
export const TEST_DATABASE_URL =
  process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

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

const ADMIN_USER = process.env['TP_NATS_ADMIN_USER'];
const ADMIN_PASSWORD = process.env['TP_NATS_ADMIN_PASSWORD'];

/** Connects to the test NATS server (as the admin user when the local stack has auth). */
export async function connectTestNats(): Promise<NatsConnection> {
  return connect({
    servers: TEST_NATS_URL.replace(/^nats:\/\//, ''),
    name: 'trustplane-test',
    ...(ADMIN_USER === undefined ? {} : { user: ADMIN_USER, pass: ADMIN_PASSWORD ?? '' }),
  });
}

/** The NATS settings a service under test should use (the service user when auth is on). */
export function testNatsEnv(): Record<string, string> {
  const env: Record<string, string> = { NATS_URL: TEST_NATS_URL };
  const user = process.env['TP_NATS_USER'];
  const password = process.env['TP_NATS_PASSWORD'];
  if (user !== undefined) env['TP_NATS_USER'] = user;
  if (password !== undefined) env['TP_NATS_PASSWORD'] = password;
  return env;
}

export { repoRoot } from './paths.js';

/** Deletes a test stream (test clean-up; the local server has no auth). */
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
export { requirePrerequisite, skipOrFailUnderCi, skipUnlessCi, underCi } from './prerequisites.js';
