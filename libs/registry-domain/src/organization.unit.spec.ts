import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toEnvelope, type EventDraft, type EnvelopeOf, type OrganizationEvent } from '@trustplane/events';
import { organizationDecider, type OrganizationCommand, type OrganizationState } from './organization.js';

const now = new Date('2026-03-01T10:00:00.000Z');
const id = 't-0000000001';

function given(...drafts: EventDraft<OrganizationEvent>[]): OrganizationState {
  return drafts.reduce<OrganizationState>(
    (state, draft, index) =>
      organizationDecider.evolve(
        state,
        toEnvelope(
          draft,
          {
            tenant: id,
            aggregateType: 'organization',
            aggregateId: id,
            occurredAt: now.toISOString(),
            actor: { kind: 'system', id: 'test' },
            causationId: 'c',
            correlationId: 'c',
          },
          `e${index}`,
        ) as EnvelopeOf<OrganizationEvent>,
      ),
    organizationDecider.initialState(),
  );
}

function when(state: OrganizationState, command: OrganizationCommand) {
  return organizationDecider.decide(command, state, { now });
}

test('given nothing, when create, then organization.created', () => {
  const decision = when(given(), { kind: 'create', id, name: 'Acme' });
  assert.deepEqual(decision, {
    ok: true,
    events: [{ type: 'organization.created', schemaVersion: 1, data: { name: 'Acme' } }],
  });
});

test('given a created organization, when create again, then ORGANIZATION_EXISTS', () => {
  const decision = when(given({ type: 'organization.created', schemaVersion: 1, data: { name: 'Acme' } }), {
    kind: 'create',
    id,
    name: 'Acme',
  });
  assert.equal(decision.ok, false);
  assert.equal(!decision.ok && decision.error.code, 'ORGANIZATION_EXISTS');
});

test('given nothing, when rename, then ORGANIZATION_NOT_FOUND', () => {
  const decision = when(given(), { kind: 'rename', name: 'B' });
  assert.equal(!decision.ok && decision.error.code, 'ORGANIZATION_NOT_FOUND');
});

test('rename records the previous name; renaming to the same name changes nothing', () => {
  const state = given({ type: 'organization.created', schemaVersion: 1, data: { name: 'Acme' } });
  assert.deepEqual(when(state, { kind: 'rename', name: 'Acme Corp' }), {
    ok: true,
    events: [{ type: 'organization.renamed', schemaVersion: 2, data: { name: 'Acme Corp', previousName: 'Acme' } }],
  });
  assert.deepEqual(when(state, { kind: 'rename', name: 'Acme' }), { ok: true, events: [] });
});

test('invalid names are refused with ORGANIZATION_NAME_INVALID', () => {
  for (const name of ['', ' lead', 'trail ', 'a\u0000b', 'x'.repeat(101)]) {
    const decision = when(given(), { kind: 'create', id, name });
    assert.equal(!decision.ok && decision.error.code, 'ORGANIZATION_NAME_INVALID', JSON.stringify(name));
  }
});
