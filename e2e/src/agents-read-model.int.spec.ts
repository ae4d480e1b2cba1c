// One fold of the agents read model (libs/registry-domain foldAgentRow), two read models: the
// registry's (what `tpctl agent list|show` shows) and the signer's (what the agent API
// authorizes with). A registry process and a signer process follow the same log —
// attestations with upper-case serials, renewals, a ban, an attestation recorded after the ban —
// into their own schemas of one database, and their `agents` tables must hold the same rows,
// column for column.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { accept, uuidv7, type AgentAttested, type Decider } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext } from '@trustplane/eventstore';
import { AGENT, AGENT_ROW_COLUMNS, agentDecider, agentIdFor } from '@trustplane/registry-domain';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  startServiceProcess,
  testServiceEnv,
  testStreamSettings,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;
let registry: RunningService;
let signer: RunningService;

const TENANT = 't-agentsfold';
const TD = 'td-agentsfold';

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'service', id: 'signer' }, correlationId: id, causationId: id, now: new Date() };
}

async function run(agentId: string, command: Parameters<typeof agentDecider.decide>[0]): Promise<void> {
  await handleCommand(log, agentDecider, { tenant: TENANT, aggregateType: AGENT, aggregateId: agentId }, command, context());
}

function attest(nodeName: string, serialNumber: string): Parameters<typeof agentDecider.decide>[0] {
  return {
    kind: 'attest',
    trustDomainId: TD,
    trustDomain: 'fold.example',
    clusterId: 'c-agentsfold',
    clusterName: 'edge',
    nodeName,
    method: 'join_token',
    serialNumber,
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('agents_read_model');
  stream = testStreamSettings('agents_read_model');
  log = await EventLog.open(nc, stream);
  const [registryPort, signerPort] = [await freePort(), await freePort()];
  registry = await startServiceProcess('registry', { ...testServiceEnv('registry', db, stream), TP_REGISTRY_PORT: String(registryPort) }, registryPort);
  const work = mkdtempSync(join(tmpdir(), 'tp-agents-fold-'));
  signer = await startServiceProcess(
    'signer',
    {
      ...testServiceEnv('signer', db, stream),
      TP_SIGNER_PORT: String(signerPort),
      TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
      TP_SIGNER_KEY_DIR: join(work, 'keys'),
      TP_SIGNER_KEK_PATH: join(work, 'kek'),
    },
    signerPort,
  );
});

after(async () => {
  await registry.stop();
  await signer.stop();
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('the registry and the signer fold the same agent events into the same rows', async () => {
  const first = agentIdFor('c-agentsfold', 'node-1');
  const second = agentIdFor('c-agentsfold', 'node-2');
  const third = agentIdFor('c-agentsfold', 'node-3');
  await run(first, attest('node-1', '0A1B2C'));
  await run(first, { kind: 'renew', serialNumber: 'DEADBEEF', expiresAt: new Date(Date.now() + 7_200_000) });
  await run(first, { kind: 'renew', serialNumber: 'cafe01', expiresAt: new Date(Date.now() + 9_000_000) });
  await run(second, attest('node-2', 'ABCDEF'));
  await run(second, { kind: 'ban', reason: 'stolen\nlaptop' });
  // An attestation recorded after the ban (the decider refuses one; the log may still hold it):
  // the ban is kept, the previous serial moves.
  const late: AgentAttested = {
    type: 'agent.attested',
    schemaVersion: 1,
    data: { trustDomainId: TD, clusterId: 'c-agentsfold', clusterName: 'edge', nodeName: 'node-2', spiffeId: 'spiffe://fold.example/agent/edge/node-2', method: 'cluster_key', serialNumber: 'F00D', expiresAt: new Date().toISOString() },
  };
  const raw: Decider<object, object, AgentAttested> = { aggregateType: AGENT, initialState: () => ({}), evolve: (state) => state, decide: () => accept(late) };
  await handleCommand(log, raw, { tenant: TENANT, aggregateType: AGENT, aggregateId: second }, {}, context());
  await run(third, attest('node-3', '01'));
  await run(third, attest('node-3', '02'));

  const through = await log.lastSequence();
  const applied = async (projection: string, schema: string): Promise<boolean> =>
    Number((await db.pool.query(`SELECT stream_seq FROM ${schema}.projection_checkpoints WHERE projection = $1`, [projection])).rows[0]?.stream_seq ?? 0) >= through;
  await eventually(async () => (await applied('registry.model', 'registry')) && (await applied('signer.model', 'signer')), 20_000, 'both read models applied the log');
  const columns = AGENT_ROW_COLUMNS.join(', ');
  const rowsOf = async (schema: string) => (await db.pool.query(`SELECT ${columns} FROM ${schema}.agents ORDER BY id`)).rows;
  const registryRows = await rowsOf('registry');
  const signerRows = await rowsOf('signer');
  assert.equal(registryRows.length, 3);
  assert.deepEqual(signerRows, registryRows);

  const byNode = new Map(registryRows.map((row) => [row['node_name'], row]));
  assert.equal(byNode.get('node-1')?.['serial_number'], 'cafe01');
  assert.equal(byNode.get('node-1')?.['previous_serial_number'], 'deadbeef', 'serials in one case in both read models');
  assert.equal(byNode.get('node-2')?.['banned'], true);
  assert.equal(byNode.get('node-2')?.['ban_reason'], 'stolen\nlaptop');
  assert.equal(byNode.get('node-2')?.['serial_number'], 'f00d');
  assert.equal(byNode.get('node-2')?.['previous_serial_number'], 'abcdef');
  assert.equal(byNode.get('node-3')?.['previous_serial_number'], '01', 'a re-attestation keeps the SVID before it honoured');
  assert.equal(byNode.get('node-3')?.['serial_number'], '02');
});
