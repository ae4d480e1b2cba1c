// The session with a real signer process: both streams open with the agent SVID, entries are
// pushed on change (created, deleted), the bundle arrives, and a session with an SVID the signer
// does not know is refused and retried.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import type { agentApi } from '@trustplane/proto';
import { eventually } from '@trustplane/testkit';
import { createTestTrustDomain } from '../testing/fixtures.js';
import { startTestSigner, type TestSigner } from '../testing/signer.js';
import { attestNode } from './attestation.js';
import { EntrySync } from './entry-sync.js';
import type { AgentState } from './state-store.js';

let signer: TestSigner;

before(async () => {
  signer = await startTestSigner('agent_sync', 'sync.example');
});

after(async () => {
  await signer.close();
});

/** An EntrySync for `state`, recording what it delivers. */
function recordingSync(state: AgentState): { sync: EntrySync; entries: agentApi.SyncEntriesResponse[]; bundles: agentApi.StreamBundlesResponse[]; connects: number[] } {
  const entries: agentApi.SyncEntriesResponse[] = [];
  const bundles: agentApi.StreamBundlesResponse[] = [];
  const connects: number[] = [];
  const sync = new EntrySync(
    { serverAddress: signer.serverAddress, trustDomainId: signer.trustDomainId, trustDomain: signer.trustDomain },
    () => state,
    { onEntries: (m) => entries.push(m), onBundles: (m) => bundles.push(m), onConnected: () => connects.push(Date.now()) },
    signer.logger,
  );
  return { sync, entries, bundles, connects };
}

test('entries are pushed on every change; the bundle stream carries the CA; stop closes both', async () => {
  const state = await attestNode(await signer.joinTokenSettings('node-s'), Date.now());
  const { sync, entries, bundles, connects } = recordingSync(state);
  sync.freshlyAttested(10_000);
  sync.connect();
  try {
    await eventually(() => sync.connected, 15_000, 'both streams open');
    assert.equal(connects.length, 1);
    assert.ok(sync.client !== undefined, 'a client for unary calls while connected');
    assert.deepEqual(entries.at(-1)?.entries, [], 'no entries yet');
    assert.ok((bundles.at(-1)?.bundle?.x509Authorities.length ?? 0) >= 1, 'the trust domain bundle');

    const id = await signer.createEntry('/sync/api', signer.agentId('node-s'), ['unix:uid:1000']);
    await signer.createEntry('/sync/other-node', signer.agentId('node-elsewhere'), ['unix:uid:1000']);
    await eventually(() => entries.at(-1)?.entries.length === 1, 10_000, 'entry pushed');
    assert.equal(entries.at(-1)?.entries[0]?.spiffeId, 'spiffe://sync.example/sync/api', 'only the entries of this node');
    await signer.deleteEntry(id);
    await eventually(() => entries.at(-1)?.entries.length === 0, 10_000, 'deletion pushed');
  } finally {
    sync.stop();
  }
  assert.equal(sync.connected, false);
  assert.equal(sync.client, undefined);
});

test('an agent SVID of another CA is refused: never connected, retried, counted', async () => {
  const state = await attestNode(await signer.joinTokenSettings('node-x'), Date.now());
  // The same SPIFFE ID, issued by a CA the trust domain does not know.
  const forged = await (await createTestTrustDomain('sync.example')).mintSvid(signer.agentId('node-x'));
  const { sync, connects } = recordingSync({
    ...state,
    chain: forged.chain,
    key: createPrivateKey({ key: forged.privateKey, format: 'der', type: 'pkcs8' }),
  });
  sync.connect();
  try {
    await eventually(() => sync.reconnects >= 1, 15_000, 'the refusal noticed');
    assert.equal(sync.connected, false);
    assert.equal(connects.length, 0);
  } finally {
    sync.stop();
  }
});
