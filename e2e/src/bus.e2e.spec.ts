// The bus as a trust boundary, with the real service processes: a service refuses a NATS server
// that lets anyone in (unless told otherwise, and then says so), and events published straight
// onto the stream where their writer may not put them are refused by the projections: a forged
// API token gives no access, a forged join token attests no agent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  encodeEvent,
  toEnvelope,
  uuidv7,
  type AggregateRef,
  type DomainEventDraft,
  type EventEnvelope,
} from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext } from '@trustplane/eventstore';
import {
  AGENT,
  CLUSTER,
  DEPLOYMENT,
  JOIN_TOKEN,
  TRUST_DOMAIN,
  agentIdFor,
  clusterDecider,
  deploymentDecider,
  joinTokenDecider,
  mintJoinToken,
  mintToken,
  newJoinTokenId,
  trustDomainDecider,
} from '@trustplane/registry-domain';
import {
  bundleX509AuthoritiesPem,
  newResourceId,
  type SpiffeBundleDocument,
} from '@trustplane/spiffe';
import {
  connectTestNats,
  connectTestNatsAs,
  createTestDatabase,
  deleteTestStream,
  eventually,
  exitCodeOf,
  freePort,
  startAgentProcess,
  startPrivateNats,
  startServiceProcess,
  testServiceEnv,
  testStreamSettings,
  tpctl,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

const work = mkdtempSync(join(tmpdir(), 'tp-bus-'));
let admin: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;

function context(): CommandContext {
  const id = uuidv7();
  return {
    actor: { kind: 'system', id: 'e2e-bus' },
    correlationId: id,
    causationId: id,
    now: new Date(),
  };
}

/** An envelope as a forger writes it, published on `subject` by `nc` (bypassing EventLog). */
async function forge(
  nc: NatsConnection,
  subject: string,
  ref: AggregateRef,
  draft: DomainEventDraft,
): Promise<number> {
  const meta = {
    ...ref,
    occurredAt: new Date().toISOString(),
    actor: { kind: 'system', id: 'forger' },
    causationId: 'x',
    correlationId: 'x',
  } as const;
  const envelope = toEnvelope(draft, meta, uuidv7()) as EventEnvelope;
  return (await jetstream(nc).publish(subject, encodeEvent(envelope))).seq;
}

/** Starts a service expected to refuse to start; returns why it did (stops it if it did start). */
async function refusalToStart(
  name: string,
  env: Record<string, string>,
  port: number,
): Promise<string> {
  let running: Awaited<ReturnType<typeof startServiceProcess>>;
  try {
    running = await startServiceProcess(name, env, port);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  await running.stop();
  return assert.fail(`${name} started against ${env['NATS_URL']}`);
}

async function refusedEvents(serviceUrl: string, reason: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('tp_projection_events_refused_total{') &&
        line.includes(`reason="${reason}"`),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

before(async () => {
  admin = await connectTestNats();
  db = await createTestDatabase('e2e_bus');
  stream = testStreamSettings('e2e_bus');
  log = await EventLog.open(admin, stream);
});

after(async () => {
  await deleteTestStream(admin, stream.streamName);
  await admin.close();
  await db.drop();
});

test('a service refuses a NATS server that accepts anonymous connections; with TP_NATS_ALLOW_ANONYMOUS=true it starts and /readyz says so', async () => {
  const anonymous = await startPrivateNats({ anonymous: true });
  const anonymousDb = await createTestDatabase('e2e_bus_anon');
  try {
    const env = {
      NATS_URL: anonymous.url,
      DATABASE_URL: anonymousDb.url,
      TP_LOG_LEVEL: 'warn',
      TP_EVENT_STREAM: 'TP_ANON',
      TP_SUBJECT_PREFIX: 'tpanon',
    };
    // Credentials do not help: the server would let anyone else in as well.
    const attempts: Record<string, string>[] = [
      {},
      { TP_NATS_USER: 'tp-registry', TP_NATS_PASSWORD: 'whatever' },
    ];
    for (const credentials of attempts) {
      const port = await freePort();
      assert.match(
        await refusalToStart(
          'registry',
          { ...env, ...credentials, TP_REGISTRY_PORT: String(port) },
          port,
        ),
        /NATS_ANONYMOUS_ACCEPTED/,
      );
    }
    const signerPort = await freePort();
    const signerEnv = {
      ...env,
      TP_SIGNER_PORT: String(signerPort),
      TP_SIGNER_CUSTODY_DIR: join(work, 'anon-c'),
      TP_SIGNER_KEY_DIR: join(work, 'anon-k'),
      TP_SIGNER_KEK_PATH: join(work, 'anon-kek'),
    };
    assert.match(await refusalToStart('signer', signerEnv, signerPort), /NATS_ANONYMOUS_ACCEPTED/);

    const port = await freePort();
    const registry = await startServiceProcess(
      'registry',
      { ...env, TP_NATS_ALLOW_ANONYMOUS: 'true', TP_REGISTRY_PORT: String(port) },
      port,
    );
    try {
      const readyz = (await (await fetch(`${registry.url}/readyz`)).json()) as {
        status: string;
        warnings?: string[];
      };
      assert.equal(readyz.status, 'ready');
      assert.match(
        readyz.warnings?.join('\n') ?? '',
        /accepts anonymous connections \(TP_NATS_ALLOW_ANONYMOUS=true\)/,
      );
      assert.match(registry.output(), /accepts anonymous connections/, 'a warning is logged');
    } finally {
      await registry.stop();
    }
  } finally {
    await anonymousDb.drop();
    await anonymous.stop();
  }
});

test('forged API tokens published straight onto the stream give no access: refused, counted, never projected', async () => {
  const port = await freePort();
  const common = testServiceEnv('registry', db, stream);
  const registry = await startServiceProcess(
    'registry',
    { ...common, TP_REGISTRY_PORT: String(port) },
    port,
  );
  const cli = { ...common, TPCTL_SERVER: registry.url };
  const works = async (token: string): Promise<boolean> =>
    (
      await fetch(`${registry.url}/api/v1/organization`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status === 200;
  const issue = async (org: string): Promise<string> => {
    const result = await tpctl(
      [
        'token',
        'create',
        '--org',
        org,
        '--scopes',
        'admin',
        '--name',
        'genuine',
        '--output',
        'json',
      ],
      cli,
    );
    assert.equal(result.code, 0, result.stderr);
    const { token } = JSON.parse(result.stdout) as { token: string };
    await eventually(() => works(token), 10_000, 'the genuine token is projected');
    return token;
  };
  try {
    const orgs: string[] = [];
    for (const name of ['Victim A', 'Victim B']) {
      const created = await tpctl(['org', 'create', '--name', name, '--output', 'json'], cli);
      assert.equal(created.code, 0, created.stderr);
      orgs.push((JSON.parse(created.stdout) as { id: string }).id);
    }
    const [orgA = '', orgB = ''] = orgs;
    await issue(orgB);

    const forged = (id: string) => {
      const minted = mintToken(id);
      const draft: DomainEventDraft = {
        type: 'apitoken.created',
        schemaVersion: 1,
        data: {
          name: 'forged',
          scopes: ['admin'],
          salt: minted.salt,
          hash: minted.hash,
          expiresAt: null,
        },
      };
      return {
        token: minted.token,
        ref: { tenant: orgB, aggregateType: 'apitoken', aggregateId: id },
        draft,
      };
    };
    // As the admin: B's token on A's subject (the envelope's tenant used to win).
    const onOtherTenant = forged(newResourceId('apiToken'));
    await forge(
      admin,
      log.subjectOf({ ...onOtherTenant.ref, tenant: orgA }),
      onOtherTenant.ref,
      onOtherTenant.draft,
    );
    // As the signer, on a subject it may publish (a ca aggregate of B): a token is not a CA event.
    const signer = await connectTestNatsAs('signer');
    const onCaSubject = forged(newResourceId('apiToken'));
    await forge(
      signer,
      log.subjectOf({ ...onCaSubject.ref, aggregateType: 'ca' }),
      onCaSubject.ref,
      onCaSubject.draft,
    );
    await signer.close();

    // A genuine token issued afterwards works, so the projection has passed the forged events.
    await issue(orgB);
    assert.equal(
      await works(onOtherTenant.token),
      false,
      'token forged onto another tenant subject',
    );
    assert.equal(await works(onCaSubject.token), false, 'token forged onto a ca subject');
    assert.ok((await refusedEvents(registry.url, 'SUBJECT_TENANT_MISMATCH')) >= 1);
    assert.ok((await refusedEvents(registry.url, 'SUBJECT_AGGREGATE_MISMATCH')) >= 1);
    assert.match(registry.output(), /event refused/);
    const dead = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM registry.projection_dead_letters WHERE error LIKE 'EventRefusedError%'`,
    );
    assert.ok(Number(dead.rows[0]?.n) >= 2, 'dead-lettered with the reason');
  } finally {
    await registry.stop();
  }
});

test('a forged join token attests no agent: refused by NATS for other users, by the signer off its subject (a genuine one attests)', async () => {
  const tenant = newResourceId('organization');
  const trustDomainId = newResourceId('trustDomain');
  const clusterId = newResourceId('cluster');
  const trustDomain = 'bus.example';
  const [signerPort, agentPort] = [await freePort(), await freePort()];
  const signerEnv = {
    ...testServiceEnv('signer', db, stream),
    TP_SIGNER_PORT: String(signerPort),
    TP_SIGNER_AGENT_PORT: String(agentPort),
    TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
    TP_SIGNER_KEY_DIR: join(work, 'keys'),
    TP_SIGNER_KEK_PATH: join(work, 'kek'),
    TP_SIGNER_TICK_MS: '200',
  };
  const signer = await startServiceProcess('signer', signerEnv, signerPort);
  try {
    await handleCommand(
      log,
      trustDomainDecider,
      { tenant, aggregateType: TRUST_DOMAIN, aggregateId: trustDomainId },
      { kind: 'create', name: trustDomain, description: '', trustDomainKind: 'managed' },
      context(),
    );
    const deployment = {
      tenant,
      aggregateType: DEPLOYMENT,
      aggregateId: newResourceId('deployment'),
    };
    await handleCommand(
      log,
      deploymentDecider,
      deployment,
      { kind: 'create', trustDomainId, name: 'default', region: '', managed: true },
      context(),
    );
    await handleCommand(
      log,
      clusterDecider,
      { tenant, aggregateType: CLUSTER, aggregateId: clusterId },
      { kind: 'create', trustDomainId, name: 'edge', platform: 'linux', description: '' },
      context(),
    );
    // The published bundle, read from the log as a consumer of bundle.updated would.
    const publishedBundle = async (): Promise<SpiffeBundleDocument | undefined> =>
      (
        await log.load<SpiffeBundleDocument | undefined>(
          { tenant, aggregateType: 'bundle', aggregateId: trustDomainId },
          {
            initialState: () => undefined,
            evolve: (state, event) => (event.type === 'bundle.updated' ? event.data.document : state),
          },
        )
      ).state;
    await eventually(async () => (await publishedBundle()) !== undefined, 20_000, 'bundle published');
    const bundlePath = join(work, 'bundle.pem');
    writeFileSync(
      bundlePath,
      bundleX509AuthoritiesPem((await publishedBundle()) as SpiffeBundleDocument),
    );
    const attest = async (node: string, token: string, waitReady: boolean) =>
      startAgentProcess(
        {
          TP_LOG_LEVEL: 'info',
          TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentPort}`,
          TP_AGENT_TRUST_DOMAIN_ID: trustDomainId,
          TP_AGENT_TRUST_DOMAIN: trustDomain,
          TP_AGENT_NODE_NAME: node,
          TP_AGENT_JOIN_TOKEN: token,
          TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
          TP_AGENT_DATA_DIR: join(work, node),
        },
        { healthPort: await freePort(), socketPath: join(work, `${node}.sock`), waitReady },
      );
    const agentEvents = async (node: string): Promise<string[]> =>
      (
        await log.readAggregate({
          tenant,
          aggregateType: AGENT,
          aggregateId: agentIdFor(clusterId, node),
        })
      ).map((e) => e.event.type);
    const joinTokenDraft = (minted: { salt: string; hash: string }): DomainEventDraft => ({
      type: 'jointoken.created',
      schemaVersion: 1,
      data: {
        trustDomainId,
        clusterId,
        hash: minted.hash,
        salt: minted.salt,
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      },
    });

    // Forged by the admin onto another tenant's subject, the envelope naming this tenant.
    const forgedId = newJoinTokenId();
    const forgedToken = mintJoinToken(forgedId);
    const forgedRef = { tenant, aggregateType: JOIN_TOKEN, aggregateId: forgedId };
    await forge(
      admin,
      log.subjectOf({ ...forgedRef, tenant: newResourceId('organization') }),
      forgedRef,
      joinTokenDraft(forgedToken),
    );
    // Forged where it belongs, by a user that is neither the registry nor the signer: NATS refuses it.
    const readerId = newJoinTokenId();
    const readerToken = mintJoinToken(readerId);
    const readerRef = { tenant, aggregateType: JOIN_TOKEN, aggregateId: readerId };
    const reader = await connectTestNatsAs('reader');
    await assert.rejects(
      forge(reader, log.subjectOf(readerRef), readerRef, joinTokenDraft(readerToken)),
      /permissions violation/i,
    );
    await reader.close();
    // The same event written where it belongs (through the log, as the registry would), after it.
    const genuineId = newJoinTokenId();
    const genuine = mintJoinToken(genuineId);
    await handleCommand(
      log,
      joinTokenDecider,
      { tenant, aggregateType: JOIN_TOKEN, aggregateId: genuineId },
      {
        kind: 'create',
        trustDomainId,
        clusterId,
        salt: genuine.salt,
        hash: genuine.hash,
        ttlSeconds: 600,
      },
      context(),
    );
    const agent = await attest('node-genuine', genuine.token, true);
    await agent.stop();
    assert.deepEqual(await agentEvents('node-genuine'), ['agent.attested']);

    // The signer has read past the forged tokens by now: it refuses to attest with them.
    for (const [node, token] of [
      ['node-forged', forgedToken.token],
      ['node-reader', readerToken.token],
    ] as const) {
      const refused = await attest(node, token, false);
      try {
        assert.equal(await exitCodeOf(refused.process, 15_000), 1, refused.output());
      } finally {
        await refused.stop();
      }
      assert.deepEqual(await agentEvents(node), []);
    }
    assert.ok((await refusedEvents(signer.url, 'SUBJECT_TENANT_MISMATCH')) >= 1, 'counted');
  } finally {
    assert.equal(await signer.stop(), 0, signer.output());
  }
});
