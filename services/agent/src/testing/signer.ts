/**
 * Test support (not exported from the package): a real signer process on its own database and
 * event stream (started by @trustplane/testkit), with a managed trust domain, a cluster and its
 * key seeded through the event log as the registry writes them, for in-process tests of the
 * agent core's parts.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { spkiOf } from '@trustplane/crypto';
import { uuidv7 } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext } from '@trustplane/eventstore';
import {
  API_TOKEN,
  apiTokenDecider,
  mintToken,
  CLUSTER,
  DEPLOYMENT,
  ENTRY,
  JOIN_TOKEN,
  TRUST_DOMAIN,
  clusterDecider,
  deploymentDecider,
  entryDecider,
  joinTokenDecider,
  mintJoinToken,
  newJoinTokenId,
  trustDomainDecider,
} from '@trustplane/registry-domain';
import { bundleX509AuthoritiesPem, newResourceId, type SpiffeBundleDocument } from '@trustplane/spiffe';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import pino from 'pino';
import type { AttestationSettings } from '../core/attestation.js';

/** A signer process with one trust domain and one cluster, for one test file. */
export interface TestSigner {
  readonly trustDomain: string;
  readonly trustDomainId: string;
  readonly clusterId: string;
  readonly clusterKey: KeyObject;
  /** `127.0.0.1:<port>` of the agent API. */
  readonly serverAddress: string;
  /** The trust domain's CA certificates (PEM), as `tpctl trust-domain bundle` prints them. */
  readonly bundlePem: string;
  /** A silent logger for the parts under test. */
  readonly logger: pino.Logger;
  /** The process's output so far. */
  output(): string;
  /** Attestation settings of node `nodeName` with a fresh join token. */
  joinTokenSettings(nodeName: string): Promise<AttestationSettings>;
  /** The SPIFFE ID of node `nodeName`'s agent. */
  agentId(nodeName: string): string;
  /** Registers an entry under `parentId`; returns its ID. */
  createEntry(path: string, parentId: string, selectors: string[], x509SvidTtlSeconds?: number): Promise<string>;
  deleteEntry(id: string): Promise<void>;
  /** Taints the active CA keyset (the signer replaces it at once). */
  taintActiveCa(): Promise<void>;
  /**
   * Holds the signer's read model back (its projection checkpoint row locked, as a stalled
   * projection would) until `release` is called: events are appended but not applied.
   */
  holdReadModel(): Promise<{ release(): Promise<void> }>;
  close(): Promise<void>;
}

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'system', id: 'agent-test' }, correlationId: id, causationId: id, now: new Date() };
}

/** Starts a signer process and seeds `trustDomain` with a managed deployment and cluster `edge`. */
export async function startTestSigner(label: string, trustDomain: string): Promise<TestSigner> {
  const nc: NatsConnection = await connectTestNats();
  const db: TestDatabase = await createTestDatabase(label);
  const stream: TestStream = testStreamSettings(label);
  const log = await EventLog.open(nc, stream);
  const work = mkdtempSync(join(tmpdir(), 'tp-agent-signer-'));
  const [port, agentPort] = [await freePort(), await freePort()];
  const signer: RunningService = await startServiceProcess(
    'signer',
    {
      ...testNatsEnv(),
      DATABASE_URL: db.url,
      TP_EVENT_STREAM: stream.streamName,
      TP_SUBJECT_PREFIX: stream.subjectPrefix,
      TP_LOG_LEVEL: 'warn',
      TP_SIGNER_PORT: String(port),
      TP_SIGNER_AGENT_PORT: String(agentPort),
      TP_SIGNER_AGENT_HOST: '127.0.0.1',
      TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
      TP_SIGNER_KEY_DIR: join(work, 'keys'),
      TP_SIGNER_KEK_PATH: join(work, 'kek'),
      TP_SIGNER_TICK_MS: '200',
    },
    port,
  );
  const tenant = newResourceId('organization');
  const trustDomainId = newResourceId('trustDomain');
  const deploymentId = newResourceId('deployment');
  const clusterId = newResourceId('cluster');
  const clusterKey = generateKeyPairSync('ed25519');
  const request = async <T>(operation: string, body: unknown): Promise<T> => {
    const reply = await nc.request(`${stream.subjectPrefix}.cmd.signer.${operation}`, JSON.stringify(body), { timeout: 15_000 });
    return JSON.parse(new TextDecoder().decode(reply.data)) as T;
  };
  await handleCommand(log, trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: trustDomainId }, { kind: 'create', name: trustDomain, description: '', trustDomainKind: 'managed' }, context());
  await handleCommand(log, deploymentDecider, { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId }, { kind: 'create', trustDomainId, name: 'default', region: '', managed: true }, context());
  await handleCommand(
    log,
    clusterDecider,
    { tenant, aggregateType: CLUSTER, aggregateId: clusterId },
    { kind: 'create', trustDomainId, name: 'edge', platform: 'linux', description: '', key: { keyId: 'ck-agenttest1', publicKey: spkiOf(clusterKey.publicKey).toString('base64') } },
    context(),
  );
  // An operator's API token of the organization: keyset requests carry it as their authority.
  const tokenId = newResourceId('apiToken');
  const token = mintToken(tokenId);
  await handleCommand(
    log,
    apiTokenDecider,
    { tenant, aggregateType: API_TOKEN, aggregateId: tokenId },
    { kind: 'create', name: 'agent-test', scopes: ['admin'], ttlDays: undefined, salt: token.salt, hash: token.hash, authority: { kind: 'host' } },
    context(),
  );
  const authority = { kind: 'api-token', tenant, tokenId, scopes: ['admin'] };
  // The published bundle, read from the log as any consumer of bundle.updated would (the signer's
  // bundle request needs an operator's authority, which this agent-side harness does not have).
  const publishedBundle = async (): Promise<SpiffeBundleDocument | undefined> =>
    (
      await log.load<SpiffeBundleDocument | undefined>(
        { tenant, aggregateType: 'bundle', aggregateId: trustDomainId },
        { initialState: () => undefined, evolve: (state, event) => (event.type === 'bundle.updated' ? event.data.document : state) },
      )
    ).state;
  await eventually(async () => (await publishedBundle()) !== undefined, 20_000, 'bundle published');
  const published = { document: (await publishedBundle()) as SpiffeBundleDocument };
  return {
    trustDomain,
    trustDomainId,
    clusterId,
    clusterKey: clusterKey.privateKey,
    serverAddress: `127.0.0.1:${agentPort}`,
    bundlePem: bundleX509AuthoritiesPem(published.document),
    logger: pino({ level: 'silent' }),
    output: () => signer.output(),
    agentId: (nodeName) => `spiffe://${trustDomain}/agent/edge/${nodeName}`,
    async joinTokenSettings(nodeName) {
      const id = newJoinTokenId();
      const minted = mintJoinToken(id);
      await handleCommand(log, joinTokenDecider, { tenant, aggregateType: JOIN_TOKEN, aggregateId: id }, { kind: 'create', trustDomainId, clusterId, salt: minted.salt, hash: minted.hash, ttlSeconds: 600 }, context());
      await eventually(async () => (await db.pool.query('SELECT 1 FROM signer.join_tokens WHERE id = $1', [id])).rowCount === 1, 10_000, 'join token projected');
      return { serverAddress: `127.0.0.1:${agentPort}`, trustDomainId, trustDomain, nodeName, joinToken: minted.token, bootstrapBundlePem: bundleX509AuthoritiesPem(published.document) };
    },
    async createEntry(path, parentId, selectors, x509SvidTtlSeconds) {
      const id = newResourceId('entry');
      await handleCommand(
        log,
        entryDecider,
        { tenant, aggregateType: ENTRY, aggregateId: id },
        { kind: 'create', trustDomainId, trustDomainName: trustDomain, input: { spiffeId: `spiffe://${trustDomain}${path}`, parentId, selectors, ...(x509SvidTtlSeconds === undefined ? {} : { x509SvidTtlSeconds }) } },
        context(),
      );
      return id;
    },
    async deleteEntry(id) {
      await handleCommand(log, entryDecider, { tenant, aggregateType: ENTRY, aggregateId: id }, { kind: 'delete' }, context());
    },
    async taintActiveCa() {
      const list = await request<{ keysets: { id: string; state: string }[] }>('keyset', { authority, op: 'list', deploymentId });
      const active = list.keysets.find((k) => k.state === 'active');
      if (active === undefined) throw new Error('no active keyset');
      const tainted = await request<{ ok: boolean }>('keyset', { authority, op: 'taint', deploymentId, keysetId: active.id });
      if (!tainted.ok) throw new Error(`taint refused: ${JSON.stringify(tainted)}`);
    },
    async holdReadModel() {
      const hold = await db.pool.connect();
      await hold.query('BEGIN');
      await hold.query("SELECT * FROM signer.projection_checkpoints WHERE projection = 'signer.model' FOR UPDATE");
      return {
        async release() {
          await hold.query('ROLLBACK').finally(() => hold.release());
        },
      };
    },
    async close() {
      await signer.stop();
      await deleteTestStream(nc, stream.streamName);
      await nc.close();
      await db.drop();
    },
  };
}
