// Fresh agents, as real processes against a real signer process: from attestation to the first
// workload X.509-SVID on the Workload API, one node after another, never refused on the way
// (the signer answers AttestAgent only once its read model knows the agent, so the agent's first
// entry stream is authorized), and within a bound. Then once more with the signer's read model
// held back while the node attests, the moment the refusal used to happen in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workload } from '@trustplane/proto';
import { freePort, startAgentProcess, type RunningAgent } from '@trustplane/testkit';
import { securityMetadata, StreamReader, workloadClient } from '../testing/grpc-client.js';
import { startTestSigner, type TestSigner } from '../testing/signer.js';
import type { AttestationSettings } from './attestation.js';

/** Longest accepted time from the agent's attestation to its workload's first SVID. */
const FIRST_SVID_BOUND_MS = 4_000;
/** What an agent logs when the signer refuses its stream (the symptom this test is about). */
const REFUSED = /PERMISSION_DENIED|no attested agent has this identity/;

let signer: TestSigner;
const work = mkdtempSync(join(tmpdir(), 'tp-fresh-agents-'));
const bundlePath = join(work, 'bundle.pem');
const uid = process.getuid?.() ?? 0;

before(async () => {
  signer = await startTestSigner('fresh_agents', 'fresh.example');
  writeFileSync(bundlePath, signer.bundlePem);
  // One entry for every agent of the cluster, for this test process's uid.
  await signer.createEntry('/fresh/workload', 'spiffe://fresh.example/agent/edge', [`unix:uid:${uid}`]);
});

after(async () => {
  await signer.close();
});

/** Starts a fresh agent for `nodeName` with a new join token (issued now unless given). */
async function startFreshAgent(nodeName: string, issued?: AttestationSettings): Promise<RunningAgent> {
  const settings = issued ?? (await signer.joinTokenSettings(nodeName));
  return startAgentProcess(
    {
      TP_LOG_LEVEL: 'info',
      TP_AGENT_SERVER_ADDRESS: settings.serverAddress,
      TP_AGENT_TRUST_DOMAIN_ID: settings.trustDomainId,
      TP_AGENT_TRUST_DOMAIN: settings.trustDomain,
      TP_AGENT_NODE_NAME: nodeName,
      TP_AGENT_JOIN_TOKEN: settings.joinToken ?? '',
      TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
      TP_AGENT_DATA_DIR: join(work, nodeName),
    },
    { healthPort: await freePort(), socketPath: join(work, `${nodeName}.sock`), waitReady: false },
  );
}

/** Waits for the workload's first X.509-SVID message on the agent's socket; the time it arrived. */
async function firstSvidAt(agent: RunningAgent, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = workloadClient(agent.socketPath);
    const reader = new StreamReader<workload.X509SVIDResponse>(client.fetchX509Svid({}, securityMetadata()));
    try {
      const message = await reader.next(Math.max(1, deadline - Date.now()));
      if (message.svids.some((svid) => svid.spiffeId === 'spiffe://fresh.example/fresh/workload')) return Date.now();
    } catch {
      // The socket is not there yet (the agent has not attested), or the stream ended: again.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      reader.cancel();
      client.close();
    }
  }
  throw new Error(`no workload SVID within ${timeoutMs} ms:\n${agent.output()}`);
}

/** When the agent logged its attestation (pino's `time`, milliseconds since the epoch). */
function attestedAt(agent: RunningAgent): number {
  for (const line of agent.output().split('\n')) {
    if (!line.includes('"agent attested"')) continue;
    return (JSON.parse(line) as { time: number }).time;
  }
  throw new Error(`the agent never logged its attestation:\n${agent.output()}`);
}

test('8 fresh agents in a row: attestation → first workload SVID within the bound, never refused', async (t) => {
  const latencies: number[] = [];
  for (let i = 0; i < 8; i++) {
    const agent = await startFreshAgent(`fresh-${i}`);
    try {
      const received = await firstSvidAt(agent, 30_000);
      latencies.push(received - attestedAt(agent));
      assert.doesNotMatch(agent.output(), REFUSED, `agent ${i} was refused on the way`);
    } finally {
      await agent.stop();
    }
  }
  const slowest = Math.max(...latencies);
  t.diagnostic(`attestation → first SVID: ${latencies.map(Math.round).join(', ')} ms`);
  assert.ok(slowest <= FIRST_SVID_BOUND_MS, `attestation → first SVID: ${latencies.map(Math.round).join(', ')} ms`);
});

test('with the signer read model held back while the node attests, the agent still is not refused: the answer waits for the read model', async () => {
  // The token is issued (and known to the signer) first; then the read model is held.
  const settings = await signer.joinTokenSettings('fresh-held');
  const hold = await signer.holdReadModel();
  let released = false;
  const agent = await startFreshAgent('fresh-held', settings);
  try {
    // Long enough for the agent to start, attest and (were it answered at once) be refused.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.doesNotMatch(agent.output(), /"agent attested"/, 'no answer while the signer read model does not know the agent');
    await hold.release();
    released = true;
    await firstSvidAt(agent, 20_000);
    assert.doesNotMatch(agent.output(), REFUSED);
  } finally {
    if (!released) await hold.release();
    await agent.stop();
  }
});
