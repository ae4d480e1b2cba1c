// The event log when its NATS server is gone (a private nats-server, SIGKILLed and restarted):
// appends and reads fail at once with EventLogUnavailableError (LOG_UNAVAILABLE), not after the
// JetStream request timeout, every failure reaches the append observer, and the log works again
// as soon as the connection is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toEnvelope, uuidv7, type AggregateRef, type DomainEnvelope, type OrganizationEvent } from '@trustplane/events';
import { eventually, startPrivateNats, testStreamSettings } from '@trustplane/testkit';
import { EventLog, EventLogUnavailableError } from './index.js';

const ref: AggregateRef = { tenant: 't-00000000aa', aggregateType: 'organization', aggregateId: 't-00000000aa' };

function created(name: string): DomainEnvelope {
  return toEnvelope<OrganizationEvent>(
    { type: 'organization.created', schemaVersion: 1, data: { name } },
    { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 't' }, causationId: 'c', correlationId: 'c' },
    uuidv7(),
  );
}

test('NATS known down: appends and reads fail at once with LOG_UNAVAILABLE, and work again once it is back', async () => {
  const nats = await startPrivateNats();
  const stream = testStreamSettings('outage');
  const nc = await nats.connect('registry');
  try {
    const log = await EventLog.open(nc, stream);
    const failures: unknown[] = [];
    let appended = 0;
    log.observe({ appended: () => void (appended += 1), appendFailed: (error) => void failures.push(error) });
    await log.append(ref, 0, [created('before')]);
    assert.equal(appended, 1);

    await nats.kill();
    await eventually(() => !log.reachable, 10_000, 'the log to see the connection drop');
    const started = performance.now();
    await assert.rejects(log.append(ref, 1, [created('during')]), (error: unknown) => {
      assert.ok(error instanceof EventLogUnavailableError, String(error));
      assert.equal(error.code, 'LOG_UNAVAILABLE');
      return true;
    });
    await assert.rejects(log.load(ref, { initialState: () => 0, evolve: (n) => n + 1 }), EventLogUnavailableError);
    await assert.rejects(log.lastSequence(), EventLogUnavailableError);
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 500, `three calls answered in ${Math.round(tookMs)} ms (a JetStream timeout is 5 s each)`);
    assert.equal(failures.length, 1, 'the failed append was reported');

    await nats.restart();
    await eventually(() => log.reachable, 15_000, 'the connection to come back');
    await eventually(async () => (await log.append(ref, 1, [created('after')]).then(() => true, () => false)), 15_000, 'an append to succeed');
    assert.equal((await log.readAggregate(ref)).length, 2);
  } finally {
    await nc.close();
    await nats.stop();
  }
});
