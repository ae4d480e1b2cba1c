import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toEnvelope, type DeploymentKeyEvent, type EventDraft } from '@trustplane/events';
import { deploymentKeyDecider, type DeploymentKeyCommand, type DeploymentKeyState } from './deployment-key.js';

const scope = { deploymentId: 'tdd-0000000001', trustDomainId: 'td-0000000001' };
const create: DeploymentKeyCommand = {
  kind: 'create',
  ...scope,
  publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n',
  fingerprint: 'a'.repeat(64),
};
const now = new Date('2026-01-01T00:00:00Z');

function given(...commands: DeploymentKeyCommand[]): DeploymentKeyState {
  let state = deploymentKeyDecider.initialState();
  for (const command of commands) {
    const decision = deploymentKeyDecider.decide(command, state, { now });
    assert.ok(decision.ok, `given ${command.kind}`);
    for (const draft of decision.events) {
      const envelope = toEnvelope(draft as EventDraft<DeploymentKeyEvent>, {
        tenant: 't-0000000001',
        aggregateType: 'deploymentkey',
        aggregateId: 'tdk-0000000001',
        occurredAt: now.toISOString(),
        actor: { kind: 'token', id: 'tok-0000000001' },
        causationId: 'c',
        correlationId: 'c',
      }, '0190a000-0000-7000-8000-000000000000');
      state = deploymentKeyDecider.evolve(state, envelope as never);
    }
  }
  return state;
}

function when(state: DeploymentKeyState, command: DeploymentKeyCommand): { types?: string[]; code?: string } {
  const decision = deploymentKeyDecider.decide(command, state, { now });
  return decision.ok ? { types: decision.events.map((e) => e.type) } : { code: decision.error.code };
}

test('a key is created active with its public half only', () => {
  const decision = deploymentKeyDecider.decide(create, given(), { now });
  assert.ok(decision.ok);
  assert.deepEqual(decision.events[0]?.data, { ...scope, publicKeyPem: (create as { publicKeyPem: string }).publicKeyPem, fingerprint: 'a'.repeat(64) });
  assert.equal(JSON.stringify(decision.events).includes('PRIVATE'), false);
  assert.deepEqual(when(given(create), create), { code: 'DEPLOYMENT_KEY_EXISTS' });
  assert.deepEqual(when(given(), { ...create, fingerprint: 'nope' }), { code: 'DEPLOYMENT_KEY_INVALID' });
});

test('disable and enable toggle; repeating either changes nothing', () => {
  assert.deepEqual(when(given(create), { kind: 'disable' }), { types: ['deploymentkey.disabled'] });
  assert.deepEqual(when(given(create, { kind: 'disable' }), { kind: 'disable' }), { types: [] });
  assert.deepEqual(when(given(create, { kind: 'disable' }), { kind: 'enable' }), { types: ['deploymentkey.enabled'] });
  assert.deepEqual(when(given(create), { kind: 'enable' }), { types: [] });
});

test('only a disabled key is deleted; a deleted or unknown key is not found', () => {
  assert.deepEqual(when(given(create), { kind: 'delete' }), { code: 'KEY_NOT_DISABLED' });
  assert.deepEqual(when(given(create, { kind: 'disable' }), { kind: 'delete' }), { types: ['deploymentkey.deleted'] });
  const deleted = given(create, { kind: 'disable' }, { kind: 'delete' });
  for (const command of [{ kind: 'enable' }, { kind: 'disable' }, { kind: 'delete' }] as const) {
    assert.deepEqual(when(deleted, command), { code: 'DEPLOYMENT_KEY_NOT_FOUND' });
    assert.deepEqual(when(given(), command), { code: 'DEPLOYMENT_KEY_NOT_FOUND' });
  }
  assert.deepEqual(when(deleted, create), { code: 'DEPLOYMENT_KEY_EXISTS' });
});
