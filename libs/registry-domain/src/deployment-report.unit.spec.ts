// The deployment aggregate's `report` command (self-hosted sync), given/when/then without I/O.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentDecider, REPORT_HEARTBEAT_MS, type DeploymentCommand } from './deployment.js';
import { given, rejectedWith, TEST_NOW, when } from './testing.js';

const created = (managed: boolean) => ({
  type: 'deployment.created' as const,
  schemaVersion: 1 as const,
  data: { trustDomainId: 'td-0000000001', name: 'us-west-2', region: 'us-west-2', managed },
});
const report = (over: Partial<Extract<DeploymentCommand, { kind: 'report' }>> = {}): DeploymentCommand => ({
  kind: 'report',
  trustDomainId: 'td-0000000001',
  appliedPosition: 10,
  currentPosition: 10,
  keysets: [],
  agents: [],
  status: { state: 'serving', detail: '' },
  digest: 'd1',
  ...over,
});
const types = (decision: ReturnType<typeof when>) => (decision.ok ? decision.events.map((e) => e.type) : decision.error.code);

test('first report at the current position: reported and configured', () => {
  assert.deepEqual(types(when(deploymentDecider, given(deploymentDecider, created(false)), report())), ['deployment.reported', 'deployment.configured']);
});

test('behind the current position: reported, not configured', () => {
  assert.deepEqual(types(when(deploymentDecider, given(deploymentDecider, created(false)), report({ appliedPosition: 7 }))), ['deployment.reported']);
});

test('the same report again (a retry, or a process killed after the append): nothing new', () => {
  const state = given(
    deploymentDecider,
    created(false),
    { type: 'deployment.reported', schemaVersion: 1, data: { trustDomainId: 'td-0000000001', appliedPosition: 10, keysets: [], agents: [], status: { state: 'serving', detail: '' }, digest: 'd1' } },
    { type: 'deployment.configured', schemaVersion: 1, data: { trustDomainId: 'td-0000000001', position: 10 } },
  );
  assert.deepEqual(types(when(deploymentDecider, state, report())), []);
  assert.deepEqual(types(when(deploymentDecider, state, report({ digest: 'd2' }))), ['deployment.reported'], 'changed content is reported');
  assert.deepEqual(types(when(deploymentDecider, state, report({ appliedPosition: 12, currentPosition: 12 }))), ['deployment.configured'], 'a new position is configured');
  // A heartbeat once the last report is old.
  const later = deploymentDecider.decide(report(), state, { now: new Date(TEST_NOW.getTime() + REPORT_HEARTBEAT_MS) });
  assert.deepEqual(types(later), ['deployment.reported']);
});

test('refused: ahead of the current position, another trust domain, a managed deployment, an absent one', () => {
  const live = given(deploymentDecider, created(false));
  assert.equal(rejectedWith(when(deploymentDecider, live, report({ appliedPosition: 11 }))), 'SYNC_POSITION_AHEAD');
  assert.equal(rejectedWith(when(deploymentDecider, live, report({ appliedPosition: -1 }))), 'SYNC_POSITION_INVALID');
  assert.equal(rejectedWith(when(deploymentDecider, live, report({ trustDomainId: 'td-0000000002' }))), 'DEPLOYMENT_NOT_FOUND');
  assert.equal(rejectedWith(when(deploymentDecider, given(deploymentDecider, created(true)), report())), 'DEPLOYMENT_MANAGED');
  assert.equal(rejectedWith(when(deploymentDecider, deploymentDecider.initialState(), report())), 'DEPLOYMENT_NOT_FOUND');
});
