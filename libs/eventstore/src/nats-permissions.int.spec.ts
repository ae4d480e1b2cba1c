// The bus as a trust boundary, on a private nats-server rendered from infra/nats/permissions.json
// with a concrete subject prefix and stream (the exact production rules): who may append which
// events, who may send, serve and answer signer requests, whose inboxes are private, who may
// read the log, and that only the admin may delete, purge or update the stream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { projectionConsumerName, type BusUserName } from '@trustplane/bus';
import {
  toEnvelope,
  uuidv7,
  type AggregateRef,
  type DomainEnvelope,
  type DomainEventDraft,
} from '@trustplane/events';
import { startPrivateNats, type NatsIdentity, type PrivateNats } from '@trustplane/testkit';
import { EventLog, type EventStreamSettings } from './index.js';

const settings: EventStreamSettings = {
  streamName: 'TP_PERM',
  subjectPrefix: 'tpperm',
  replicas: 1,
  duplicateWindowMs: 120_000,
};
const prefix = settings.subjectPrefix;
const tenant = 't-aaaaaaaaaa';
let nats: PrivateNats;
const connections = new Map<BusUserName, NatsConnection>();

function as(name: BusUserName): NatsConnection {
  const nc = connections.get(name);
  assert.ok(nc !== undefined);
  return nc;
}

function envelope(ref: AggregateRef, draft: DomainEventDraft): DomainEnvelope {
  const meta = {
    ...ref,
    occurredAt: new Date().toISOString(),
    actor: { kind: 'system', id: 'perm' },
    causationId: 'c',
    correlationId: 'c',
  } as const;
  return toEnvelope(draft, meta, uuidv7()) as DomainEnvelope;
}

const organization: AggregateRef = { tenant, aggregateType: 'organization', aggregateId: tenant };
const orgCreated: DomainEventDraft = {
  type: 'organization.created',
  schemaVersion: 1,
  data: { name: 'perm' },
};

/** Publishes as a request and reports what happened: stored, nobody listening, or refused. */
async function publishOutcome(
  nc: NatsConnection,
  subject: string,
  data = '{}',
): Promise<'refused' | 'no responders' | 'answered'> {
  try {
    await nc.request(subject, data, { timeout: 2_000 });
    return 'answered';
  } catch (error) {
    const message =
      error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : String(error);
    if (/permissions violation/i.test(message)) return 'refused';
    if (/no responders|503/i.test(message)) return 'no responders';
    throw error;
  }
}

/** Subscribes and reports whether the server refused the subscription. */
async function subscribeOutcome(
  nc: NatsConnection,
  subject: string,
  queue?: string,
): Promise<'refused' | 'open'> {
  const subscription = nc.subscribe(subject, queue === undefined ? {} : { queue });
  const refused = subscription.closed.then((error) =>
    error instanceof Error && /permissions violation/i.test(error.message) ? 'refused' : 'open',
  );
  await nc.flush();
  const outcome = await Promise.race([
    refused,
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 300)),
  ]);
  subscription.unsubscribe();
  return outcome;
}

before(async () => {
  nats = await startPrivateNats({ scope: { prefix, stream: settings.streamName } });
  for (const name of ['registry', 'signer', 'auth', 'reader', 'admin'] as const)
    connections.set(name, await nats.connect(name));
  // The registry creates the stream at start-up (the only stream right a service has).
  await EventLog.open(as('registry'), settings);
});

after(async () => {
  for (const nc of connections.values()) await nc.close();
  await nats?.stop();
});

test('no user, a wrong password or an unknown user cannot connect at all', async () => {
  const refusals: NatsIdentity[] = [
    'anonymous',
    { user: 'tp-registry', password: 'wrong' },
    { user: 'tp-service', password: 'x' },
  ];
  for (const identity of refusals) {
    await assert.rejects(nats.connect(identity), /authorization/i, JSON.stringify(identity));
  }
});

test('the registry appends its own aggregates and cannot publish ca or bundle events', async () => {
  const log = await EventLog.open(as('registry'), settings);
  const { version } = await log.append(organization, 0, [envelope(organization, orgCreated)]);
  assert.ok(version > 0);
  for (const type of ['ca', 'bundle']) {
    assert.equal(
      await publishOutcome(as('registry'), `${prefix}.evt.${tenant}.${type}.x1`),
      'refused',
      type,
    );
  }
});

test('the signer appends ca events and cannot publish apitoken or organization events', async () => {
  const log = await EventLog.open(as('signer'), settings);
  const ref: AggregateRef = { tenant, aggregateType: 'ca', aggregateId: 'tdd-aaaaaaaaaa' };
  const dropped: DomainEventDraft = {
    type: 'ca.keyset_dropped',
    schemaVersion: 1,
    data: {
      trustDomainId: 'td-aaaaaaaaaa',
      keysetId: 'k1',
      reason: 'expired_unused',
      droppedAt: new Date().toISOString(),
    },
  };
  assert.ok((await log.append(ref, 0, [envelope(ref, dropped)])).version > 0);
  for (const type of ['apitoken', 'organization', 'entry']) {
    assert.equal(
      await publishOutcome(as('signer'), `${prefix}.evt.${tenant}.${type}.x1`),
      'refused',
      type,
    );
  }
});

test('the auth service appends deployment key events and cannot publish registry or signer events, nor the registry\'s audit records', async () => {
  const log = await EventLog.open(as('auth'), settings);
  const ref: AggregateRef = { tenant, aggregateType: 'deploymentkey', aggregateId: 'tdk-aaaaaaaaaa' };
  const disabled: DomainEventDraft = {
    type: 'deploymentkey.disabled',
    schemaVersion: 1,
    data: { deploymentId: 'tdd-aaaaaaaaaa', trustDomainId: 'td-aaaaaaaaaa' },
  };
  assert.ok((await log.append(ref, 0, [envelope(ref, disabled)])).version > 0);
  for (const subject of [
    `${prefix}.evt.${tenant}.apitoken.x1`,
    `${prefix}.evt.${tenant}.deployment.x1`,
    `${prefix}.evt.${tenant}.ca.x1`,
    `${prefix}.audit.registry.${tenant}`,
    `${prefix}.cmd.signer.keyset`,
  ]) {
    assert.equal(await publishOutcome(as('auth'), subject), 'refused', subject);
  }
  for (const subject of [`${prefix}.evt.${tenant}.deploymentkey.x1`, `${prefix}.audit.auth.${tenant}`]) {
    assert.equal(await publishOutcome(as('registry'), subject), 'refused', `registry ${subject}`);
  }
});

test('only the signer may subscribe to signer requests, and only in its queue group', async () => {
  for (const name of ['registry', 'reader'] as const) {
    for (const subject of [
      `${prefix}.cmd.signer.>`,
      `${prefix}.cmd.signer.bundle`,
      `${prefix}.cmd.>`,
      '>',
    ]) {
      assert.equal(
        await subscribeOutcome(as(name), subject, 'signer'),
        'refused',
        `${name} ${subject} (queue)`,
      );
      assert.equal(await subscribeOutcome(as(name), subject), 'refused', `${name} ${subject}`);
    }
  }
  assert.equal(
    await subscribeOutcome(as('signer'), `${prefix}.cmd.signer.bundle`),
    'refused',
    'outside the queue group',
  );
  assert.equal(
    await subscribeOutcome(as('signer'), `${prefix}.cmd.signer.bundle`, 'other'),
    'refused',
    'another queue group',
  );
  assert.equal(await subscribeOutcome(as('signer'), `${prefix}.cmd.signer.>`, 'signer'), 'open');
});

test('only the registry sends its signer requests (keyset, bundle); the signer answers them through allow_responses', async () => {
  const served = as('signer').subscribe(`${prefix}.cmd.signer.>`, {
    queue: 'signer',
    callback: (_error, message) =>
      void message.respond(JSON.stringify({ ok: true, from: 'signer' })),
  });
  await as('signer').flush();
  try {
    for (const operation of ['keyset', 'bundle', 'seal-secret']) {
      const reply = await as('registry').request(`${prefix}.cmd.signer.${operation}`, '{}', {
        timeout: 2_000,
      });
      assert.deepEqual(reply.json(), { ok: true, from: 'signer' });
    }
    assert.equal(
      await publishOutcome(as('registry'), `${prefix}.cmd.signer.mint-x509`),
      'refused',
      'not a registry request',
    );
    for (const name of ['reader', 'signer'] as const) {
      for (const operation of ['keyset', 'bundle', 'seal-secret', 'mint-x509', 'mint-jwt']) {
        assert.equal(
          await publishOutcome(as(name), `${prefix}.cmd.signer.${operation}`),
          'refused',
          `${name} ${operation}`,
        );
      }
    }
  } finally {
    served.unsubscribe();
  }
});

test('a process on the bus cannot answer the registry bundle requests in the signer place', async () => {
  // The attack seen in review: a subscriber to <prefix>.cmd.signer.bundle answering first.
  for (const name of ['registry', 'reader'] as const) {
    assert.equal(await subscribeOutcome(as(name), `${prefix}.cmd.signer.bundle`), 'refused', name);
  }
  // Another NATS user without rights: replies to requests it never received are refused too.
  assert.equal(await publishOutcome(as('reader'), '_INBOX_tp-registry.forged.1'), 'refused');
  const served = as('signer').subscribe(`${prefix}.cmd.signer.bundle`, {
    queue: 'signer',
    callback: (_error, message) =>
      void message.respond(JSON.stringify({ ok: true, from: 'signer' })),
  });
  await as('signer').flush();
  try {
    for (let attempt = 0; attempt < 6; attempt++) {
      const reply = await as('registry').request(`${prefix}.cmd.signer.bundle`, '{}', {
        timeout: 2_000,
      });
      assert.deepEqual(reply.json(), { ok: true, from: 'signer' });
    }
  } finally {
    served.unsubscribe();
  }
});

test("nobody reads another user's inbox", async () => {
  for (const [name, foreign] of [
    ['reader', '_INBOX_tp-registry.>'],
    ['signer', '_INBOX_tp-registry.>'],
    ['registry', '_INBOX_tp-signer.>'],
    ['registry', '_INBOX.>'],
    ['signer', '_INBOX.>'],
  ] as const) {
    assert.equal(await subscribeOutcome(as(name), foreign), 'refused', `${name} ${foreign}`);
  }
  assert.equal(await subscribeOutcome(as('registry'), '_INBOX_tp-registry.x.>'), 'open');
});

test('the reader consumes the log through its own consumer, and cannot publish or take over a service consumer', async () => {
  const reader = as('reader');
  const jsm = await jetstreamManager(reader);
  await jsm.consumers.add(settings.streamName, {
    durable_name: 'audit_export',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${prefix}.evt.>`,
  });
  const consumer = await jetstream(reader).consumers.get(settings.streamName, 'audit_export');
  const message = await consumer.next({ expires: 2_000 });
  assert.ok(message !== null, 'read an event');
  message.ack();
  assert.equal(
    await publishOutcome(reader, `${prefix}.evt.${tenant}.organization.${tenant}`),
    'refused',
    'publish an event',
  );
  const registryConsumer = projectionConsumerName('registry.model');
  for (const subject of [
    `$JS.API.CONSUMER.CREATE.${settings.streamName}.${registryConsumer}`,
    `$JS.API.CONSUMER.MSG.NEXT.${settings.streamName}.${registryConsumer}`,
    `$JS.API.CONSUMER.DELETE.${settings.streamName}.${registryConsumer}`,
    `$JS.API.STREAM.CREATE.${settings.streamName}`,
  ]) {
    assert.equal(await publishOutcome(reader, subject), 'refused', subject);
  }
});

test('a service uses only its own consumers', async () => {
  const signerConsumer = projectionConsumerName('signer.model');
  assert.equal(
    await publishOutcome(
      as('registry'),
      `$JS.API.CONSUMER.CREATE.${settings.streamName}.${signerConsumer}`,
    ),
    'refused',
  );
  assert.equal(
    await publishOutcome(
      as('registry'),
      `$JS.API.CONSUMER.MSG.NEXT.${settings.streamName}.${signerConsumer}`,
    ),
    'refused',
  );
  assert.equal(
    await publishOutcome(
      as('signer'),
      `$JS.API.CONSUMER.DELETE.${settings.streamName}.${projectionConsumerName('registry.model')}`,
    ),
    'refused',
  );
});

test('only the admin may delete, purge or update the stream or delete a message', async () => {
  const s = settings.streamName;
  for (const name of ['registry', 'signer', 'reader'] as const) {
    for (const subject of [
      `STREAM.DELETE.${s}`,
      `STREAM.PURGE.${s}`,
      `STREAM.UPDATE.${s}`,
      `STREAM.MSG.DELETE.${s}`,
    ]) {
      assert.equal(
        await publishOutcome(as(name), `$JS.API.${subject}`),
        'refused',
        `${name} ${subject}`,
      );
    }
  }
  const jsm = await jetstreamManager(as('admin'));
  const info = await jsm.streams.info(s);
  const updated = await jsm.streams.update(s, {
    ...info.config,
    description: 'updated by the admin',
  });
  assert.equal(updated.config.description, 'updated by the admin');
  assert.equal(await jsm.streams.delete(s), true);
});
