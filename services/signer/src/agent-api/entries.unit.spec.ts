// What an agent is sent: only entries whose parent is its own SPIFFE ID or its cluster's, and
// never one naming a reserved SPIFFE ID (agents, the signer, SPIRE, the trust domain itself),
// whatever the log holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthorizedAgent } from './edge.js';
import { entriesMessage, parentIdsOf } from './entries.js';
import type { EntryRow } from './model.js';

const caller: AuthorizedAgent = {
  agent: {
    id: 'ag-0000000001',
    tenant: 't-0000000001',
    trustDomainId: 'td-0000000001',
    clusterId: 'c-0000000001',
    clusterName: 'edge',
    nodeName: 'node-1',
    spiffeId: 'spiffe://example.org/agent/edge/node-1',
    serialNumber: '01',
    previousSerialNumber: null,
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    banned: false,
  },
  td: { id: 'td-0000000001', tenant: 't-0000000001', name: 'example.org' },
  deployment: { tenant: 't-0000000001', deploymentId: 'tdd-0000000001', trustDomainId: 'td-0000000001', trustDomain: 'example.org' },
};

function entry(id: string, spiffeId: string, parentId: string): EntryRow {
  return { id, spiffeId, parentId, selectors: ['unix:uid:1'], x509SvidTtl: null, jwtSvidTtl: 60, dnsNames: [], federatesWith: [], hint: null, revision: 3 };
}

test("an agent's parents are its own SPIFFE ID and its cluster's", () => {
  assert.deepEqual(parentIdsOf(caller.agent, caller.td), ['spiffe://example.org/agent/edge/node-1', 'spiffe://example.org/agent/edge']);
});

test('the entries message holds the agent’s and its cluster’s entries, without reserved IDs or other parents', () => {
  const message = entriesMessage(caller, {
    revision: 42,
    entries: [
      entry('e-own', 'spiffe://example.org/web', 'spiffe://example.org/agent/edge/node-1'),
      entry('e-cluster', 'spiffe://example.org/cache', 'spiffe://example.org/agent/edge'),
      entry('e-other-node', 'spiffe://example.org/db', 'spiffe://example.org/agent/edge/node-2'),
      entry('e-other-cluster', 'spiffe://example.org/db', 'spiffe://example.org/agent/core'),
      entry('e-signer', 'spiffe://example.org/trustplane/server', 'spiffe://example.org/agent/edge/node-1'),
      entry('e-agent', 'spiffe://example.org/agent/edge/node-2', 'spiffe://example.org/agent/edge'),
      entry('e-spire', 'spiffe://example.org/spire/server', 'spiffe://example.org/agent/edge'),
      entry('e-td', 'spiffe://example.org', 'spiffe://example.org/agent/edge'),
    ],
  });
  assert.equal(message.revision, 42n);
  assert.deepEqual(
    message.entries.map((e) => e.id),
    ['e-own', 'e-cluster'],
  );
  assert.deepEqual(message.entries[0], {
    id: 'e-own',
    spiffeId: 'spiffe://example.org/web',
    parentId: 'spiffe://example.org/agent/edge/node-1',
    selectors: ['unix:uid:1'],
    x509SvidTtl: 0,
    jwtSvidTtl: 60,
    dnsNames: [],
    federatesWith: [],
    hint: '',
    revision: 3n,
  });
});
