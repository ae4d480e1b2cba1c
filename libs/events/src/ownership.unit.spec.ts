import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AGGREGATE_TYPES,
  CURRENT_SCHEMA_VERSIONS,
  EVENT_OWNERSHIP,
  aggregateSubject,
  aggregatesWrittenBy,
  checkEventProvenance,
  eventTypesOf,
  ownersOf,
} from './index.js';

const event = {
  type: 'apitoken.created',
  tenant: 't-aaaaaaaaaa',
  aggregateType: 'apitoken',
  aggregateId: 'tok-1',
} as const;
const subjectOf = (tenant: string, aggregateType: string, aggregateId: string): string =>
  aggregateSubject('tp', { tenant, aggregateType, aggregateId });

test('every catalogued event type has an owner, and every aggregate type has events', () => {
  assert.deepEqual(
    Object.keys(EVENT_OWNERSHIP).sort(),
    Object.keys(CURRENT_SCHEMA_VERSIONS).sort(),
  );
  for (const aggregateType of AGGREGATE_TYPES) {
    assert.ok(eventTypesOf(aggregateType).length > 0, aggregateType);
    for (const type of eventTypesOf(aggregateType))
      assert.ok(type.startsWith(`${aggregateType}.`), `${type} is named after ${aggregateType}`);
  }
});

test('the signer writes ca, bundle and the attestation side of agents and join tokens; the registry the rest', () => {
  assert.deepEqual([...aggregatesWrittenBy('signer')].sort(), [
    'agent',
    'bundle',
    'ca',
    'jointoken',
  ]);
  assert.ok(!aggregatesWrittenBy('registry').includes('ca'));
  assert.ok(!aggregatesWrittenBy('registry').includes('bundle'));
  assert.deepEqual(ownersOf('jointoken'), ['registry', 'signer']);
  assert.deepEqual(ownersOf('apitoken'), ['registry']);
  assert.equal(EVENT_OWNERSHIP['jointoken.used'].emittedBy, 'signer');
  assert.equal(EVENT_OWNERSHIP['agent.banned'].emittedBy, 'registry');
});

test('an event stored where its envelope says it belongs passes', () => {
  assert.equal(
    checkEventProvenance('tp', subjectOf(event.tenant, 'apitoken', 'tok-1'), event),
    undefined,
  );
});

test('an envelope naming another tenant than its subject is refused', () => {
  const problem = checkEventProvenance('tp', subjectOf('t-bbbbbbbbbb', 'apitoken', 'tok-1'), event);
  assert.equal(problem?.code, 'SUBJECT_TENANT_MISMATCH');
  assert.match(problem?.message ?? '', /t-aaaaaaaaaa.*t-bbbbbbbbbb/);
});

test('an envelope naming another aggregate than its subject is refused', () => {
  assert.equal(
    checkEventProvenance('tp', subjectOf(event.tenant, 'ca', 'tok-1'), event)?.code,
    'SUBJECT_AGGREGATE_MISMATCH',
  );
  assert.equal(
    checkEventProvenance('tp', subjectOf(event.tenant, 'apitoken', 'tok-2'), event)?.code,
    'SUBJECT_AGGREGATE_MISMATCH',
  );
});

test('an event type stored on another aggregate type (envelope and subject agreeing) is refused', () => {
  const forged = { ...event, aggregateType: 'ca' };
  const problem = checkEventProvenance('tp', subjectOf(event.tenant, 'ca', 'tok-1'), forged);
  assert.equal(problem?.code, 'EVENT_TYPE_NOT_OF_AGGREGATE');
  assert.match(problem?.message ?? '', /apitoken\.created.*ca.*signer/);
});

test('unknown aggregate types and malformed subjects are refused', () => {
  const unknown = { ...event, aggregateType: 'payroll' };
  assert.equal(
    checkEventProvenance('tp', subjectOf(event.tenant, 'payroll', 'tok-1'), unknown)?.code,
    'AGGREGATE_TYPE_UNKNOWN',
  );
  assert.equal(
    checkEventProvenance('tp', `tp.evt.${event.tenant}.apitoken`, event)?.code,
    'SUBJECT_MALFORMED',
  );
  assert.equal(
    checkEventProvenance('other', subjectOf(event.tenant, 'apitoken', 'tok-1'), event)?.code,
    'SUBJECT_MALFORMED',
  );
});

test('the federation service writes fetched peer bundles only; the registry owns relationships', () => {
  assert.deepEqual([...aggregatesWrittenBy('federation')], ['federatedbundle']);
  assert.ok(aggregatesWrittenBy('registry').includes('federation'));
  assert.equal(EVENT_OWNERSHIP['federatedbundle.updated'].emittedBy, 'federation');
});
