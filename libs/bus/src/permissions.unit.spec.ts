import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { aggregateTypeSubject, commandSubject } from '@trustplane/events';
import {
  BUS_USERS,
  inboxPrefixFor,
  isBusCredentialsEnv,
  permissionsDocumentText,
  permissionsOf,
  projectionConsumerName,
  type BusScope,
  type NatsUserPermissions,
} from './index.js';

const repoRoot = process.env['TP_REPO_ROOT'] ?? resolve(__dirname, '..', '..', '..');
const scope: BusScope = { prefix: 'tp', stream: 'TP_EVENTS' };

function rulesOf(name: keyof typeof BUS_USERS): NatsUserPermissions {
  const permissions = permissionsOf(BUS_USERS[name], scope);
  assert.ok(permissions !== undefined, `${name} has restricted permissions`);
  return permissions;
}

test('the checked-in infra/nats/permissions.json is what the code generates (run `node tools/gen-nats-permissions.mjs` after a change)', () => {
  const stored = readFileSync(join(repoRoot, 'infra', 'nats', 'permissions.json'), 'utf8');
  assert.equal(
    stored,
    permissionsDocumentText(),
    'infra/nats/permissions.json is stale: run `npx tsc -b libs/bus && node tools/gen-nats-permissions.mjs`',
  );
});

test('the registry publishes exactly its own aggregates, the keyset, bundle and seal-secret requests, and JetStream reads', () => {
  const { publish, subscribe, allow_responses } = rulesOf('registry');
  const events = publish.allow.filter((s) => s.startsWith('tp.evt.'));
  assert.deepEqual(
    events.sort(),
    [
      'agent',
      'apitoken',
      'cluster',
      'configsection',
      'deployment',
      'entry',
      'jointoken',
      'organization',
      'trustdomain',
      'trustdomainname',
      'federation',
    ]
      .map((type) => aggregateTypeSubject('tp', type))
      .sort(),
  );
  assert.deepEqual(
    publish.allow.filter((s) => s.startsWith('tp.cmd.')),
    [commandSubject('tp', 'signer', 'keyset'), commandSubject('tp', 'signer', 'bundle'), commandSubject('tp', 'signer', 'seal-secret')],
  );
  assert.deepEqual(subscribe.allow, [`${inboxPrefixFor('tp-registry')}.>`]);
  assert.equal(allow_responses, false);
  assert.ok(publish.allow.includes('$JS.API.STREAM.CREATE.TP_EVENTS'));
  assert.ok(
    publish.allow.includes(
      `$JS.API.CONSUMER.MSG.NEXT.TP_EVENTS.${projectionConsumerName('registry.model')}`,
    ),
  );
  assert.ok(!publish.allow.some((s) => s.includes('proj_signer')), 'not the signer consumers');
  assert.ok(!publish.allow.some((s) => /STREAM\.(UPDATE|DELETE|PURGE|MSG\.DELETE)/.test(s)));
  for (const operation of ['STREAM.UPDATE', 'STREAM.DELETE', 'STREAM.PURGE', 'STREAM.MSG.DELETE']) {
    assert.ok(publish.deny.includes(`$JS.API.${operation}.>`), `${operation} denied`);
  }
});

test('only the signer subscribes to its requests, in the queue group signer, and answers through allow_responses', () => {
  const signer = rulesOf('signer');
  assert.deepEqual(signer.subscribe.allow, [
    `${inboxPrefixFor('tp-signer')}.>`,
    'tp.cmd.signer.> signer',
  ]);
  assert.equal(signer.allow_responses, true);
  assert.deepEqual(
    signer.publish.allow.filter((s) => s.startsWith('tp.evt.')).sort(),
    ['agent', 'bundle', 'ca', 'jointoken'].map((type) => aggregateTypeSubject('tp', type)).sort(),
  );
  assert.ok(
    !signer.publish.allow.some((s) => s.startsWith('tp.cmd.')),
    'the signer sends no requests',
  );
  for (const name of ['registry', 'reader'] as const) {
    assert.ok(
      !rulesOf(name).subscribe.allow.some((s) => s.startsWith('tp.cmd.')),
      `${name} cannot subscribe to requests`,
    );
  }
});

test('the reader reads through its own consumers and may not publish events, requests, or touch service consumers', () => {
  const { publish, subscribe } = rulesOf('reader');
  assert.ok(!publish.allow.some((s) => s.startsWith('tp.')));
  assert.ok(publish.deny.includes('tp.evt.>') && publish.deny.includes('tp.cmd.>'));
  assert.ok(publish.allow.includes('$JS.API.CONSUMER.MSG.NEXT.TP_EVENTS.*'));
  assert.ok(
    publish.deny.includes(
      `$JS.API.CONSUMER.*.*.TP_EVENTS.${projectionConsumerName('signer.model')}`,
    ),
  );
  assert.ok(!publish.allow.some((s) => s.includes('STREAM.CREATE')));
  assert.deepEqual(subscribe.allow, [`${inboxPrefixFor('tp-reader')}.>`]);
});

test('the admin is unrestricted; every user has a distinct inbox; credentials variables are recognisable', () => {
  assert.equal(permissionsOf(BUS_USERS.admin, scope), undefined);
  const inboxes = Object.values(BUS_USERS).map((spec) => inboxPrefixFor(spec.user));
  assert.equal(new Set(inboxes).size, inboxes.length);
  assert.ok(isBusCredentialsEnv('TP_NATS_REGISTRY_PASSWORD'));
  assert.ok(!isBusCredentialsEnv('TP_NATS_PASSWORD'));
  assert.ok(!isBusCredentialsEnv('TP_NATS_ALLOW_ANONYMOUS'));
});
