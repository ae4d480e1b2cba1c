// Node attestation against a real signer process: join token (once), cluster-key assertion, a
// signer that does not match the bootstrap bundle, renewal of the agent SVID with a new key, and
// the resume decision for a persisted identity.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { certificatesPem } from '@trustplane/spiffe';
import { startTestSigner, type TestSigner } from '../testing/signer.js';
import { attestNode, pastHalfLife, renewAgentSvid, resumable } from './attestation.js';
import { agentApiClient, serverIdentityCheck } from './signer-connection.js';

let signer: TestSigner;

before(async () => {
  signer = await startTestSigner('agent_attest', 'attest.example');
});

after(async () => {
  await signer.close();
});

function codeOf(error: unknown): number | undefined {
  return (error as Partial<ServiceError>).code;
}

test('a join token attests the node once: an SVID for spiffe://<td>/agent/<cluster>/<node> with the key generated here', async () => {
  const settings = await signer.joinTokenSettings('node-a');
  const state = await attestNode(settings, Date.now());
  assert.equal(state.spiffeId, signer.agentId('node-a'));
  assert.equal(state.trustDomain, 'attest.example');
  const leaf = new X509Certificate(state.chain[0] ?? Buffer.alloc(0));
  assert.equal(leaf.subjectAltName, `URI:${signer.agentId('node-a')}`);
  assert.ok(leaf.publicKey.equals(createPublicKey(state.key)), 'the SVID certifies the key generated on the node');
  assert.ok(state.x509Authorities.some((ca) => leaf.verify(new X509Certificate(ca).publicKey)));
  assert.equal(resumable(state, signer.trustDomainId, Date.now()), true);
  assert.equal(resumable(state, 'td-otherother', Date.now()), false, 'another trust domain is not resumed');
  assert.equal(resumable(state, signer.trustDomainId, new Date(leaf.validTo).getTime()), false, 'an expiring SVID is not resumed');
  assert.equal(pastHalfLife(state.chain[0] ?? Buffer.alloc(0), Date.now()), false);

  const again = await attestNode({ ...settings, nodeName: 'node-b' }, Date.now()).catch((e: unknown) => e);
  assert.equal(codeOf(again), status.PERMISSION_DENIED, String(again));
});

test('cluster-key attestation: a signed statement of the cluster key', async () => {
  const { joinToken: _unused, ...base } = await signer.joinTokenSettings('node-ck');
  const state = await attestNode({ ...base, clusterKey: { clusterId: signer.clusterId, privateKey: signer.clusterKey } }, Date.now());
  assert.equal(state.spiffeId, signer.agentId('node-ck'));
});

test('neither a token nor a key: INVALID_ARGUMENT before anything is sent', async () => {
  const { joinToken: _unused, ...base } = await signer.joinTokenSettings('node-none');
  assert.equal(codeOf(await attestNode(base, Date.now()).catch((e: unknown) => e)), status.INVALID_ARGUMENT);
});

test('a bootstrap bundle of another CA: the signer is refused and the token stays unused', async () => {
  const foreign = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=not-the-signer', '-days', '1'], { encoding: 'utf8' });
  assert.equal(foreign.status, 0, foreign.stderr);
  const settings = await signer.joinTokenSettings('node-mitm');
  const refused = await attestNode({ ...settings, bootstrapBundlePem: foreign.stdout }, Date.now()).catch((e: unknown) => e);
  assert.equal(codeOf(refused), status.UNAVAILABLE, String(refused));
  const honest = await attestNode(settings, Date.now());
  assert.equal(honest.spiffeId, signer.agentId('node-mitm'), 'the token was never presented to the impostor');
});

test('renewal over the mutual-TLS session: a new SVID for a new key, same SPIFFE ID', async () => {
  const state = await attestNode(await signer.joinTokenSettings('node-r'), Date.now());
  const client = agentApiClient(
    { serverAddress: signer.serverAddress, trustDomainId: signer.trustDomainId, trustDomain: signer.trustDomain },
    credentials.createSsl(
      Buffer.from(certificatesPem(state.x509Authorities)),
      Buffer.from(state.key.export({ type: 'pkcs8', format: 'pem' }).toString()),
      Buffer.from(certificatesPem(state.chain)),
      { checkServerIdentity: serverIdentityCheck(signer.trustDomain) },
    ),
  );
  try {
    // Right after attesting, the signer may not know the agent yet (read model lag): retry briefly.
    let renewed: Awaited<ReturnType<typeof renewAgentSvid>> | undefined;
    for (let attempt = 0; renewed === undefined; attempt++) {
      renewed = await renewAgentSvid(client).catch((e: unknown) => {
        if (codeOf(e) !== status.PERMISSION_DENIED || attempt >= 40) throw e;
        return new Promise<undefined>((r) => setTimeout(() => r(undefined), 250));
      });
    }
    const leaf = new X509Certificate(renewed.chain[0] ?? Buffer.alloc(0));
    assert.equal(leaf.subjectAltName, `URI:${signer.agentId('node-r')}`);
    assert.ok(leaf.publicKey.equals(createPublicKey(renewed.key)));
    assert.ok(!leaf.publicKey.equals(createPublicKey(state.key)), 'a new key');
  } finally {
    client.close();
  }
});
