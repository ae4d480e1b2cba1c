// Test harness: a signer on its own database and stream, with a managed trust domain seeded
// through the event log exactly as the registry would write it.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { uuidv7 } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext } from '@trustplane/eventstore';
import type { ApiScope } from '@trustplane/events';
import {
  API_TOKEN,
  apiTokenDecider,
  CLUSTER,
  clusterDecider,
  DEPLOYMENT,
  deploymentDecider,
  JOIN_TOKEN,
  joinTokenDecider,
  mintJoinToken,
  mintToken,
  newClusterKeyId,
  newJoinTokenId,
  TRUST_DOMAIN,
  trustDomainDecider,
} from '@trustplane/registry-domain';
import type { ApiTokenAuthority } from '@trustplane/signer-api';
import { newResourceId } from '@trustplane/spiffe';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  testNatsEnv,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import type { Logger } from 'pino';
import { loadSignerConfig } from '../config.js';
import { startSigner, type SignerServer, type StartSignerOptions } from '../server.js';

/** A trust domain seeded for the signer. */
export interface SeededTrustDomain {
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly trustDomain: string;
  readonly deploymentId: string;
}

/** A signer for one test file. */
export interface SignerHarness {
  readonly env: Record<string, string>;
  readonly nc: NatsConnection;
  readonly log: EventLog;
  readonly db: TestDatabase;
  readonly stream: TestStream;
  readonly keyDir: string;
  signer: SignerServer;
  /** Seeds a managed trust domain; waits for its bundle unless `wait` is false. */
  seed(trustDomain: string, options?: { wait?: boolean }): Promise<SeededTrustDomain>;
  restart(extraEnv?: Record<string, string>): Promise<void>;
  request<T>(operation: string, body: unknown): Promise<T>;
  /** An API token of `tenant` in the log, as the authority requests carry (default scope admin). */
  authority(tenant: string, scopes?: readonly ApiScope[]): Promise<ApiTokenAuthority>;
  /** Appends an active cluster with an Ed25519 attestation key; resolves once the signer knows the key. */
  seedCluster(seeded: SeededTrustDomain, name: string): Promise<{ clusterId: string; key: KeyObject }>;
  /** Appends a join token of the cluster, as the registry issues one; resolves once the signer knows it. */
  joinToken(seeded: SeededTrustDomain, clusterId: string, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'system', id: 'test' }, correlationId: id, causationId: id, now: new Date() };
}

/**
 * Appends an API token of `tenant` to the log, as the registry does when one is created, and
 * returns the authority a registry request on its behalf carries. `at` sets the creation time
 * (a token with `ttlDays` created long enough ago has expired).
 */
export async function seedApiToken(
  log: EventLog,
  tenant: string,
  scopes: readonly ApiScope[] = ['admin'],
  options: { ttlDays?: number; at?: Date } = {},
): Promise<ApiTokenAuthority> {
  const tokenId = newResourceId('apiToken');
  const minted = mintToken(tokenId);
  await handleCommand(
    log,
    apiTokenDecider,
    { tenant, aggregateType: API_TOKEN, aggregateId: tokenId },
    { kind: 'create', name: 'test', scopes, ttlDays: options.ttlDays, salt: minted.salt, hash: minted.hash, authority: { kind: 'host' } },
    { ...context(), ...(options.at === undefined ? {} : { now: options.at }) },
  );
  return { kind: 'api-token', tenant, tokenId, scopes: [...scopes] };
}

/** Appends a managed trust domain and its deployment, as the registry would (no waiting). */
export async function seedTrustDomain(log: EventLog, trustDomain: string): Promise<SeededTrustDomain> {
  const tenant = newResourceId('organization');
  const trustDomainId = newResourceId('trustDomain');
  const deploymentId = newResourceId('deployment');
  await handleCommand(log, trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: trustDomainId }, { kind: 'create', name: trustDomain, description: '', trustDomainKind: 'managed' }, context());
  await handleCommand(log, deploymentDecider, { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId }, { kind: 'create', trustDomainId, name: 'default', region: '', managed: true }, context());
  return { tenant, trustDomainId, trustDomain, deploymentId };
}

/** Starts a signer with its own database, stream, custody directory and (disk) key store. */
export async function startSignerHarness(
  label: string,
  extraEnv: Record<string, string> = {},
  logger?: Logger,
  options: Omit<StartSignerOptions, 'logger'> = {},
): Promise<SignerHarness> {
  const startOptions: StartSignerOptions = { ...options, ...(logger === undefined ? {} : { logger }) };
  const nc = await connectTestNats();
  const db = await createTestDatabase(label);
  const stream = testStreamSettings(label);
  const work = mkdtempSync(join(tmpdir(), 'tps-'));
  const env: Record<string, string> = {
    ...testNatsEnv('signer'),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_SIGNER_PORT: '0',
    TP_LOG_LEVEL: 'silent',
    TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
    TP_SIGNER_KEY_MANAGER: 'disk',
    TP_SIGNER_KEY_DIR: join(work, 'keys'),
    TP_SIGNER_KEK_PATH: join(work, 'kek'),
    TP_SIGNER_TICK_MS: '100',
    // Any free port: test files run in parallel.
    TP_SIGNER_AGENT_PORT: '0',
    TP_SIGNER_AGENT_HOST: '127.0.0.1',
    ...extraEnv,
  };
  const log = await EventLog.open(nc, stream);
  const harness: SignerHarness = {
    env,
    nc,
    log,
    db,
    stream,
    keyDir: join(work, 'keys'),
    signer: await startSigner(loadSignerConfig(env), startOptions),
    async seed(trustDomain, seedOptions = {}) {
      const seeded = await seedTrustDomain(log, trustDomain);
      if (seedOptions.wait !== false) {
        await eventually(async () => (await harness.signer.ca.bundle(seeded.tenant, seeded.trustDomainId)) !== undefined, 20_000, `bundle of ${trustDomain}`);
      }
      return seeded;
    },
    async restart(more = {}) {
      await harness.signer.close();
      harness.signer = await startSigner(loadSignerConfig({ ...env, ...more }), startOptions);
    },
    async request<T>(operation: string, body: unknown): Promise<T> {
      const reply = await nc.request(`${stream.subjectPrefix}.cmd.signer.${operation}`, JSON.stringify(body), { timeout: 10_000 });
      return JSON.parse(new TextDecoder().decode(reply.data)) as T;
    },
    authority(tenant, scopes) {
      return seedApiToken(log, tenant, scopes);
    },
    async seedCluster(seeded, name) {
      const clusterId = newResourceId('cluster');
      const keyPair = generateKeyPairSync('ed25519');
      const publicKey = keyPair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      await handleCommand(
        log,
        clusterDecider,
        { tenant: seeded.tenant, aggregateType: CLUSTER, aggregateId: clusterId },
        { kind: 'create', trustDomainId: seeded.trustDomainId, name, platform: 'linux', description: '', key: { keyId: newClusterKeyId(), publicKey } },
        context(),
      );
      await eventually(async () => (await db.pool.query('SELECT 1 FROM signer.cluster_keys WHERE cluster_id = $1', [clusterId])).rowCount === 1, 10_000, 'cluster key projected');
      return { clusterId, key: keyPair.privateKey };
    },
    async joinToken(seeded, clusterId, ttlSeconds = 600) {
      const id = newJoinTokenId();
      const minted = mintJoinToken(id);
      await handleCommand(
        log,
        joinTokenDecider,
        { tenant: seeded.tenant, aggregateType: JOIN_TOKEN, aggregateId: id },
        { kind: 'create', trustDomainId: seeded.trustDomainId, clusterId, salt: minted.salt, hash: minted.hash, ttlSeconds },
        context(),
      );
      await eventually(async () => (await db.pool.query('SELECT 1 FROM signer.join_tokens WHERE id = $1', [id])).rowCount === 1, 10_000, 'join token projected');
      return minted.token;
    },
    async close() {
      await harness.signer.close();
      await deleteTestStream(nc, stream.streamName);
      await nc.close();
      await db.drop();
    },
  };
  return harness;
}
