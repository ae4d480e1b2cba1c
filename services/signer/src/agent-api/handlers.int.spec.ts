// Each agent API handler called in process — no TLS, no gRPC — with the dependencies the server
// gives it (a real signer on real NATS and Postgres): AttestAgent, the edge's authorization of a
// caller, RenewAgentSvid, BatchSignX509Svids and MintJwtSvid, each with what it refuses and the
// code it refuses with, and what a refusal leaves in the log (nothing).
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { buildCsr, keyObjectSigner, spkiOf } from '@trustplane/crypto';
import { accept, DomainError, uuidv7, type Decider, type EntryCreated } from '@trustplane/events';
import { handleCommand } from '@trustplane/eventstore';
import type { agentApi } from '@trustplane/proto';
import { AGENT, agentDecider, agentIdFor, ENTRY } from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import { eventually } from '@trustplane/testkit';
import { startSignerHarness, type SeededTrustDomain, type SignerHarness } from '../testing/harness.js';
import { READ_YOUR_WRITES_TIMEOUT_MS } from './agent-svid.js';
import { attestAgent } from './attest.js';
import { AgentApiError } from './attestation.js';
import { batchSignX509Svids, MAX_BATCH } from './batch-sign.js';
import type { AgentApiEdge, AuthorizedAgent } from './edge.js';
import { mintJwtSvid } from './mint-jwt.js';
import { renewAgentSvid } from './renew.js';
import { peerCertificateOf, type PeerCertificate } from './trust.js';

const TD = 'handlers.example';

let harness: SignerHarness;
let seeded: SeededTrustDomain;
let clusterId: string;

/** The code a handler refused with (AgentApiError, DomainError or a coded crypto error). */
async function refusal(work: Promise<unknown>): Promise<{ code: string; status?: status }> {
  try {
    await work;
  } catch (error) {
    if (error instanceof AgentApiError) return { code: error.code, status: error.status };
    if (error instanceof DomainError) return { code: error.code };
    if (error instanceof Error && 'code' in error && typeof error.code === 'string') return { code: error.code };
    throw error;
  }
  throw new Error('the handler did not refuse');
}

function keyPair(): { privateKey: KeyObject; publicKey: Buffer } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: pair.privateKey, publicKey: spkiOf(pair.publicKey) };
}

async function csrOf(key: { privateKey: KeyObject; publicKey: Buffer }, dnsNames: string[] = []): Promise<Buffer> {
  return buildCsr({ publicKey: key.publicKey, dnsNames }, keyObjectSigner(key.privateKey));
}

function edge(): AgentApiEdge {
  return harness.signer.agentApi.edge;
}

/** Attests `nodeName` in process; its response and the facts of its SVID. */
async function attested(nodeName: string): Promise<{ response: agentApi.AttestAgentResponse; peer: PeerCertificate }> {
  const key = keyPair();
  const request: agentApi.AttestAgentRequest = {
    trustDomainId: seeded.trustDomainId,
    nodeName,
    publicKey: key.publicKey,
    csr: await csrOf(key),
    joinToken: await harness.joinToken(seeded, clusterId),
  };
  const response = await attestAgent(harness.signer.agentApi.deps, seeded.trustDomainId, request);
  const peer = peerCertificateOf(response.svidChain[0] ?? Buffer.alloc(0));
  assert.ok(peer !== undefined);
  return { response, peer };
}

/**
 * Appends an entry as it stands, without the registry's checks: the registry refuses reserved
 * SPIFFE IDs, and the signer must refuse them too when the log holds one.
 */
async function entry(spiffePath: string, parentId: string, dnsNames: string[] = []): Promise<string> {
  const id = newResourceId('entry');
  const created: EntryCreated = {
    type: 'entry.created',
    schemaVersion: 1,
    data: { trustDomainId: seeded.trustDomainId, spiffeId: `spiffe://${TD}${spiffePath}`, parentId, selectors: ['unix:uid:1'], x509SvidTtl: null, jwtSvidTtl: null, dnsNames, federatesWith: [], admin: false, downstream: false, hint: null, expiresAt: null, revision: 1 },
  };
  const raw: Decider<object, object, EntryCreated> = { aggregateType: ENTRY, initialState: () => ({}), evolve: (state) => state, decide: () => accept(created) };
  await handleCommand(harness.log, raw, { tenant: seeded.tenant, aggregateType: ENTRY, aggregateId: id }, {}, {
    actor: { kind: 'system', id: 'test' },
    correlationId: uuidv7(),
    causationId: uuidv7(),
    now: new Date(),
  });
  await eventually(async () => (await harness.db.pool.query('SELECT 1 FROM signer.entries WHERE id = $1', [id])).rowCount === 1, 10_000, 'entry projected');
  return id;
}

before(async () => {
  harness = await startSignerHarness('agent_handlers');
  seeded = await harness.seed(TD);
  ({ clusterId } = await harness.seedCluster(seeded, 'edge'));
});
after(async () => harness.close());

describe('AttestAgent', () => {
  it('gives the node its agent SVID and the bundle; the read model knows the agent when it answers', async () => {
    const { response, peer } = await attested('node-a');
    assert.equal(response.spiffeId, `spiffe://${TD}/agent/edge/node-a`);
    assert.equal(response.clusterId, clusterId);
    assert.ok(response.bundle.length >= 1);
    assert.equal(new X509Certificate(response.svidChain[0] ?? Buffer.alloc(0)).checkIssued(new X509Certificate(response.bundle[0] ?? Buffer.alloc(0))), true);
    const row = await harness.db.pool.query('SELECT serial_number FROM signer.agents WHERE spiffe_id = $1', [response.spiffeId]);
    assert.equal(row.rows[0]?.serial_number, peer.serialNumber, 'known to the read model when the answer is given');
  });

  it('refuses a trust domain other than the SNI, a bad node name, a key that is not the CSR’s and no evidence, writing nothing', async () => {
    const key = keyPair();
    const base: agentApi.AttestAgentRequest = { trustDomainId: seeded.trustDomainId, nodeName: 'node-r', publicKey: key.publicKey, csr: await csrOf(key), joinToken: await harness.joinToken(seeded, clusterId) };
    const before = await harness.log.lastSequence();
    const deps = harness.signer.agentApi.deps;
    assert.deepEqual(await refusal(attestAgent(deps, newResourceId('trustDomain'), base)), { code: 'TRUST_DOMAIN_MISMATCH', status: status.INVALID_ARGUMENT });
    assert.equal((await refusal(attestAgent(deps, seeded.trustDomainId, { ...base, nodeName: 'Node_R' }))).code, 'NODE_NAME_INVALID');
    assert.equal((await refusal(attestAgent(deps, seeded.trustDomainId, { ...base, publicKey: keyPair().publicKey }))).code, 'PUBLIC_KEY_MISMATCH');
    const { joinToken: _unused, ...noEvidence } = base;
    assert.equal((await refusal(attestAgent(deps, seeded.trustDomainId, noEvidence))).code, 'ATTESTATION_REQUIRED');
    assert.equal((await refusal(attestAgent(deps, seeded.trustDomainId, { ...base, joinToken: `tpjt_jt-0000000000_${'A'.repeat(43)}` }))).code, 'JOIN_TOKEN_INVALID');
    assert.equal(await harness.log.lastSequence(), before, 'nothing appended');
  });
});

describe('the edge: authorizing a caller', () => {
  it('maps a current agent SVID to its agent; refuses none, an expired one, an unknown identity and a banned agent', async () => {
    const { response, peer } = await attested('node-e');
    const caller = await edge().authorizePeer(seeded.trustDomainId, peer);
    assert.equal(caller.agent.spiffeId, response.spiffeId);
    assert.equal(caller.td.id, seeded.trustDomainId);
    assert.equal((await refusal(edge().authorizePeer(seeded.trustDomainId, undefined))).code, 'AGENT_CERTIFICATE_REQUIRED');
    assert.equal((await refusal(edge().authorizePeer(seeded.trustDomainId, { ...peer, notAfter: new Date(Date.now() - 1) }))).code, 'AGENT_SVID_EXPIRED');
    assert.equal((await refusal(edge().authorizePeer(seeded.trustDomainId, { ...peer, spiffeId: `spiffe://${TD}/agent/edge/nobody` }))).code, 'AGENT_UNKNOWN');
    assert.equal((await refusal(edge().authorizePeer(seeded.trustDomainId, { ...peer, serialNumber: 'abcdef' }))).code, 'AGENT_SVID_SUPERSEDED');
    await handleCommand(harness.log, agentDecider, { tenant: seeded.tenant, aggregateType: AGENT, aggregateId: agentIdFor(clusterId, 'node-e') }, { kind: 'ban', reason: 'test' }, { actor: { kind: 'system', id: 'test' }, correlationId: uuidv7(), causationId: uuidv7(), now: new Date() });
    const banned = (): Promise<boolean> =>
      edge()
        .authorizePeer(seeded.trustDomainId, peer)
        .then(
          () => false,
          (error: unknown) => error instanceof AgentApiError && error.code === 'AGENT_BANNED',
        );
    await eventually(banned, 10_000, 'the ban applied: the caller is refused AGENT_BANNED');
  });
});

describe('RenewAgentSvid', () => {
  it('issues a new SVID the next call may use at once; the one before stays honoured, the one before that does not', async () => {
    const { peer: firstPeer } = await attested('node-n');
    const deps = harness.signer.agentApi.deps;
    const renew = async (caller: AuthorizedAgent): Promise<PeerCertificate> => {
      const { svidChain } = await renewAgentSvid(deps, caller, { csr: await csrOf(keyPair()) });
      const peer = peerCertificateOf(svidChain[0] ?? Buffer.alloc(0));
      assert.ok(peer !== undefined);
      return peer;
    };
    const secondPeer = await renew(await edge().authorizePeer(seeded.trustDomainId, firstPeer));
    // Read-your-writes: no waiting between the answer and the first call with the new SVID.
    const caller = await edge().authorizePeer(seeded.trustDomainId, secondPeer);
    assert.equal(caller.agent.serialNumber, secondPeer.serialNumber);
    await edge().authorizePeer(seeded.trustDomainId, firstPeer);
    const thirdPeer = await renew(caller);
    await edge().authorizePeer(seeded.trustDomainId, thirdPeer);
    assert.equal((await refusal(edge().authorizePeer(seeded.trustDomainId, firstPeer))).code, 'AGENT_SVID_SUPERSEDED');
    assert.equal((await refusal(renewAgentSvid(deps, caller, { csr: Buffer.alloc(0) }))).code, 'CSR_REQUIRED');
  });

  it('with the read model stalled, answers anyway after its bounded wait (the SVID is committed), logged and counted', async () => {
    const { peer } = await attested('node-stalled');
    const caller = await edge().authorizePeer(seeded.trustDomainId, peer);
    const late = async (): Promise<number> => (await harness.signer.metrics.agentReadModelLate.get()).values.find((v) => v.labels['operation'] === 'renew')?.value ?? 0;
    const before = await late();
    const hold = await harness.db.pool.connect();
    try {
      await hold.query('BEGIN');
      await hold.query("SELECT * FROM signer.projection_checkpoints WHERE projection = 'signer.model' FOR UPDATE");
      const started = Date.now();
      const { svidChain } = await renewAgentSvid(harness.signer.agentApi.deps, caller, { csr: await csrOf(keyPair()) });
      const waited = Date.now() - started;
      assert.ok(svidChain.length >= 1);
      assert.ok(waited >= READ_YOUR_WRITES_TIMEOUT_MS.renew && waited < READ_YOUR_WRITES_TIMEOUT_MS.renew + 3_000, `answered after ${waited} ms`);
      assert.equal(await late(), before + 1);
    } finally {
      await hold.query('ROLLBACK');
      hold.release();
    }
  });
});

describe('BatchSignX509Svids and MintJwtSvid', () => {
  let caller: AuthorizedAgent;
  let mine: string;
  let clusterWide: string;
  let reserved: string;
  let someoneElses: string;

  before(async () => {
    const { response, peer } = await attested('node-b');
    caller = await edge().authorizePeer(seeded.trustDomainId, peer);
    mine = await entry('/web', response.spiffeId, ['web.internal']);
    clusterWide = await entry('/cache', `spiffe://${TD}/agent/edge`);
    reserved = await entry('/trustplane/server', response.spiffeId);
    someoneElses = await entry('/db', `spiffe://${TD}/agent/edge/someone-else`);
  });

  it('signs each CSR for an entry of the caller (its own or its cluster’s) with the entry’s names; every other one fails on its own', async () => {
    const deps = harness.signer.agentApi.deps;
    const key = keyPair();
    const { results } = await batchSignX509Svids(deps, caller, {
      params: [
        { entryId: mine, csr: await csrOf(key) },
        { entryId: clusterWide, csr: await csrOf(key) },
        { entryId: mine, csr: await csrOf(key, ['other.internal']) },
        { entryId: reserved, csr: await csrOf(key) },
        { entryId: someoneElses, csr: await csrOf(key) },
        { entryId: newResourceId('entry'), csr: await csrOf(key) },
        { entryId: mine, csr: Buffer.from('not a csr') },
      ],
    });
    assert.deepEqual(
      results.map((r) => r.errorCode),
      ['', '', 'CSR_DNS_NAME_NOT_ALLOWED', 'ENTRY_RESERVED', 'ENTRY_NOT_AUTHORIZED', 'ENTRY_NOT_AUTHORIZED', 'CSR_MALFORMED'],
    );
    assert.equal(new X509Certificate(results[0]?.svidChain[0] ?? Buffer.alloc(0)).subjectAltName, `URI:spiffe://${TD}/web, DNS:web.internal`);
    assert.equal(new X509Certificate(results[1]?.svidChain[0] ?? Buffer.alloc(0)).subjectAltName, `URI:spiffe://${TD}/cache`);
    assert.ok(results.slice(2).every((r) => r.svidChain.length === 0));
    assert.equal((await refusal(batchSignX509Svids(deps, caller, { params: [] }))).code, 'BATCH_SIZE_INVALID');
    const tooMany = Array.from({ length: MAX_BATCH + 1 }, () => ({ entryId: mine, csr: Buffer.alloc(1) }));
    assert.equal((await refusal(batchSignX509Svids(deps, caller, { params: tooMany }))).code, 'BATCH_SIZE_INVALID');
  });

  it('mints a JWT-SVID for an entry of the caller with the audiences asked for; refuses other entries, reserved IDs and bad audiences', async () => {
    const deps = harness.signer.agentApi.deps;
    const minted = await mintJwtSvid(deps, caller, { entryId: mine, audience: ['payments', 'billing'] });
    const claims = JSON.parse(Buffer.from(minted.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string; aud: string[]; exp: number };
    assert.equal(claims.sub, `spiffe://${TD}/web`);
    assert.deepEqual(claims.aud, ['payments', 'billing']);
    assert.equal(BigInt(claims.exp), minted.expiresAt);
    assert.deepEqual(await refusal(mintJwtSvid(deps, caller, { entryId: someoneElses, audience: ['x'] })), { code: 'ENTRY_NOT_AUTHORIZED', status: status.PERMISSION_DENIED });
    assert.deepEqual(await refusal(mintJwtSvid(deps, caller, { entryId: reserved, audience: ['x'] })), { code: 'ENTRY_RESERVED', status: status.PERMISSION_DENIED });
    for (const audience of [[], [''], Array.from({ length: 33 }, (_, i) => `a${i}`), ['x'.repeat(1025)]]) {
      assert.equal((await refusal(mintJwtSvid(deps, caller, { entryId: mine, audience }))).code, 'AUDIENCE_INVALID', JSON.stringify(audience).slice(0, 40));
    }
  });
});
