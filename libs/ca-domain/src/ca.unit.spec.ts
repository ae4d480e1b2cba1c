import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { keyIdOf } from '@trustplane/crypto';
import { decodeEvent, encodeEvent, type CaEvent, type EnvelopeOf } from '@trustplane/events';
import {
  activeKeyset,
  caDecider,
  findKeyset,
  keyHandlesFor,
  type CaCommand,
  type CaState,
} from './index.js';
import { prepareCommand, TestCustody, type MaterialOptions } from './test-support/custody.js';
import { AggregateRun, at, DAY, HOUR, rejectedWith, T0 } from './testing.js';

const DEPLOYMENT = 'tdd-0000000001';

function run(): AggregateRun<CaState, CaCommand, CaEvent> {
  return new AggregateRun(caDecider, DEPLOYMENT);
}

/** 24h validity starting at `start` seconds after T0. */
function day(keysetId: string, start = 0, extra: Partial<MaterialOptions> = {}): MaterialOptions {
  return { keysetId, notBefore: at(start), notAfter: at(start + DAY), ...extra };
}

/** A deployment with ks-a active since T0 and (optionally) ks-b prepared at 12h. */
async function withActive(
  custody: TestCustody,
  prepareSuccessor: boolean,
): Promise<AggregateRun<CaState, CaCommand, CaEvent>> {
  const r = run();
  r.must(await prepareCommand(custody, day('ks-a')), T0);
  r.must({ kind: 'activate', keysetId: 'ks-a' }, T0);
  if (prepareSuccessor)
    r.must(await prepareCommand(custody, day('ks-b', 12 * HOUR)), at(12 * HOUR));
  return r;
}

test('prepare: records only public material read from the certificate, plus handles', async () => {
  const custody = new TestCustody();
  const command = await prepareCommand(custody, day('ks-a'));
  const r = run();
  const [event] = r.must(command, T0);
  assert.ok(event && event.type === 'ca.keyset_prepared');
  const cert = new X509Certificate(command.x509.certificate);
  const caSpki = cert.publicKey.export({ format: 'der', type: 'spki' });
  const jwtSpki = Buffer.from(command.jwt.publicKey);
  assert.deepEqual(event.data, {
    trustDomainId: 'td-0000000001',
    trustDomain: 'example.org',
    keysetId: 'ks-a',
    keyType: 'ec-p256',
    notBefore: T0.toISOString(),
    notAfter: at(DAY).toISOString(),
    maxX509SvidTtlSeconds: 3600,
    maxJwtSvidTtlSeconds: 300,
    preparedAt: T0.toISOString(),
    x509: {
      keyHandle: 'x509-ks-a',
      certificate: Buffer.from(command.x509.certificate).toString('base64'),
      // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the 65-octet P-256 point).
      subjectKeyId: createHash('sha1')
        .update(caSpki.subarray(caSpki.length - 65))
        .digest('hex'),
      publicKey: caSpki.toString('base64'),
      serialNumber: cert.serialNumber.toLowerCase(),
    },
    jwt: { keyHandle: 'jwt-ks-a', keyId: keyIdOf(jwtSpki), publicKey: jwtSpki.toString('base64') },
  });
  // Security invariant 3: no private key bytes anywhere in the stored event.
  const stored = Buffer.from(encodeEvent(r.events[0]!)).toString('utf8');
  for (const secret of custody.privateMaterial()) {
    assert.ok(!stored.includes(secret.slice(0, 24)), 'private key material in event');
  }
  assert.deepEqual(
    decodeEvent(encodeEvent(r.events[0]!)),
    r.events[0],
    'the catalogue knows ca.keyset_prepared',
  );
  assert.equal(r.state.deploymentId, DEPLOYMENT);
  assert.equal(r.state.trustDomainId, 'td-0000000001');
  assert.equal(findKeyset(r.state, 'ks-a')?.status, 'prepared');
  assert.equal(activeKeyset(r.state), undefined, 'prepared is published, not signing');
});

test('prepare: P-384 and RSA-2048 keysets; the key type comes from the certificate', async () => {
  const custody = new TestCustody();
  for (const keyType of ['ec-p384', 'rsa-2048'] as const) {
    const r = run();
    const [event] = r.must(await prepareCommand(custody, day(`ks-${keyType}`, 0, { keyType })), T0);
    assert.ok(event?.type === 'ca.keyset_prepared');
    assert.equal(event.data.keyType, keyType);
    const expectMismatch = {
      ...(await prepareCommand(custody, day(`ks-x-${keyType}`, 0, { keyType }))),
      keyType: 'ec-p256' as const,
    };
    assert.equal(
      rejectedWith(run().send(expectMismatch, T0)),
      'CA_KEY_TYPE_MISMATCH',
      'settings asked for another key type',
    );
  }
});

test('prepare: each refusal carries its stable code', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, true);
  // Another custody: some cases reuse keyset ids (and so key handles) on purpose.
  const fresh = (id: string, extra: Partial<MaterialOptions> = {}): Promise<CaCommand> =>
    prepareCommand(new TestCustody(), day(id, 0, extra));
  const now = at(13 * HOUR);
  const empty = run();
  const cases: [string, CaCommand, AggregateRun<CaState, CaCommand, CaEvent>][] = [
    [
      'CA_TRUST_DOMAIN_INVALID',
      { ...(await fresh('ks-c')), trustDomain: 'Example.org' } as CaCommand,
      empty,
    ],
    ['CA_TRUST_DOMAIN_MISMATCH', await fresh('ks-d', { trustDomain: 'other.org' }), r],
    ['CA_TRUST_DOMAIN_MISMATCH', await fresh('ks-e', { trustDomainId: 'td-0000000002' }), r],
    ['CA_KEYSET_ID_INVALID', await fresh('KS_F'), empty],
    ['CA_KEYSET_EXISTS', await fresh('ks-a'), r],
    ['CA_KEYSET_ALREADY_PREPARED', await fresh('ks-g'), r],
    [
      'CA_KEY_HANDLE_INVALID',
      {
        ...(await fresh('ks-h')),
        jwt: { keyHandle: ' bad', publicKey: Buffer.alloc(1) },
      } as CaCommand,
      empty,
    ],
    ['CA_CERTIFICATE_INVALID', await fresh('ks-i', { certificateTrustDomain: 'evil.org' }), empty],
    [
      'CA_CERTIFICATE_INVALID',
      {
        ...(await fresh('ks-j')),
        x509: { keyHandle: 'x509-ks-j', certificate: Buffer.from('nope') },
      } as CaCommand,
      empty,
    ],
    [
      'CA_CERTIFICATE_EXPIRED',
      await prepareCommand(new TestCustody(), {
        keysetId: 'ks-k',
        notBefore: at(-2 * DAY),
        notAfter: at(-DAY),
      }),
      empty,
    ],
    ['CA_KEY_TYPE_MISMATCH', await fresh('ks-l', { jwtKeyType: 'ec-p384' }), empty],
    ['CA_SVID_TTL_INVALID', await fresh('ks-m', { maxX509SvidTtlSeconds: DAY }), empty],
    ['CA_SVID_TTL_INVALID', await fresh('ks-n', { maxJwtSvidTtlSeconds: 0 }), empty],
  ];
  for (const [code, command, target] of cases) {
    const decision = target.send(command, now);
    assert.equal(
      rejectedWith(decision),
      code,
      `${code} (${command.kind === 'prepare' ? command.keysetId : ''})`,
    );
  }
  const bad = empty.send(
    {
      ...(await fresh('ks-o')),
      jwt: { keyHandle: 'jwt-ks-o', publicKey: Buffer.from('garbage') },
    } as CaCommand,
    now,
  );
  assert.equal(rejectedWith(bad), 'CA_JWT_KEY_INVALID');
  assert.equal(
    !bad.ok && bad.error.details?.['cause'],
    'INVALID_PUBLIC_KEY',
    'the crypto code is kept as the cause',
  );
  assert.equal(empty.events.length, 0, 'refusals write nothing');
  assert.equal(r.events.length, 3);
});

test('prepare: handles, public keys and kids are never shared between keys', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, false);
  const now = at(12 * HOUR);
  const base = await prepareCommand(custody, day('ks-b', 12 * HOUR));
  const a = findKeyset(r.state, 'ks-a')!;
  assert.equal(
    rejectedWith(r.send({ ...base, jwt: { ...base.jwt, keyHandle: base.x509.keyHandle } }, now)),
    'CA_KEY_HANDLE_REUSED',
  );
  assert.equal(
    rejectedWith(r.send({ ...base, jwt: { ...base.jwt, keyHandle: 'jwt-ks-a' } }, now)),
    'CA_KEY_HANDLE_REUSED',
  );
  assert.equal(
    rejectedWith(
      r.send(
        { ...base, jwt: { ...base.jwt, publicKey: Buffer.from(a.jwt.publicKey, 'base64') } },
        now,
      ),
    ),
    'CA_KEY_REUSED',
  );
  const caSpki = new X509Certificate(base.x509.certificate).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  assert.equal(
    rejectedWith(r.send({ ...base, jwt: { ...base.jwt, publicKey: caSpki } }, now)),
    'CA_KEY_REUSED',
    'JWT key = CA key',
  );
  assert.equal(
    rejectedWith(r.send({ ...base, jwt: { ...base.jwt, keyId: a.jwt.keyId } }, now)),
    'CA_JWT_KEY_ID_TAKEN',
  );
  assert.equal(r.send(base, now).ok, true);
});

test('activate: first activation is initial; then the active keyset becomes old in the same event', async () => {
  const custody = new TestCustody();
  const r = run();
  r.must(await prepareCommand(custody, day('ks-a')), T0);
  assert.deepEqual(r.must({ kind: 'activate', keysetId: 'ks-a' }, T0), [
    {
      type: 'ca.keyset_activated',
      schemaVersion: 1,
      data: {
        trustDomainId: 'td-0000000001',
        keysetId: 'ks-a',
        previousKeysetId: null,
        reason: 'initial',
        activatedAt: T0.toISOString(),
      },
    },
  ]);
  assert.deepEqual(
    r.must({ kind: 'activate', keysetId: 'ks-a' }, at(1)),
    [],
    'activating the active keyset is a no-op',
  );
  r.must(await prepareCommand(custody, day('ks-b', 12 * HOUR)), at(12 * HOUR));
  const [event] = r.must({ kind: 'activate', keysetId: 'ks-b' }, at(20 * HOUR));
  assert.ok(event?.type === 'ca.keyset_activated');
  assert.equal(event.data.previousKeysetId, 'ks-a');
  assert.equal(event.data.reason, 'rotation');
  assert.deepEqual(
    r.state.keysets.map((k) => [k.keysetId, k.status, k.activatedAt, k.deactivatedAt]),
    [
      ['ks-a', 'old', T0.getTime(), at(20 * HOUR).getTime()],
      ['ks-b', 'active', at(20 * HOUR).getTime(), null],
    ],
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'activate', keysetId: 'ks-a' }, at(21 * HOUR))),
    'CA_KEYSET_NOT_PREPARED',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'activate', keysetId: 'ks-zz' }, at(21 * HOUR))),
    'CA_KEYSET_NOT_FOUND',
  );
});

test('activate: only while the keyset is valid', async () => {
  const custody = new TestCustody();
  const r = run();
  r.must(await prepareCommand(custody, day('ks-a', HOUR)), T0);
  assert.equal(
    rejectedWith(r.send({ kind: 'activate', keysetId: 'ks-a' }, at(HOUR - 1))),
    'CA_KEYSET_NOT_VALID_NOW',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'activate', keysetId: 'ks-a' }, at(HOUR + DAY))),
    'CA_KEYSET_NOT_VALID_NOW',
    'notAfter is too late to start signing',
  );
  assert.equal(r.send({ kind: 'activate', keysetId: 'ks-a' }, at(HOUR)).ok, true);
});

test('taint: the active keyset needs a successor, which is activated in the same decision', async () => {
  const custody = new TestCustody();
  const alone = await withActive(custody, false);
  const refused = alone.send({ kind: 'taint', keysetId: 'ks-a' }, at(2 * HOUR));
  assert.equal(rejectedWith(refused), 'CA_TAINT_NEEDS_SUCCESSOR');
  assert.equal(!refused.ok && refused.error.kind, 'conflict');

  const r = await withActive(new TestCustody(), true);
  const now = at(13 * HOUR);
  assert.deepEqual(r.must({ kind: 'taint', keysetId: 'ks-a' }, now), [
    {
      type: 'ca.keyset_activated',
      schemaVersion: 1,
      data: {
        trustDomainId: 'td-0000000001',
        keysetId: 'ks-b',
        previousKeysetId: 'ks-a',
        reason: 'taint',
        activatedAt: now.toISOString(),
      },
    },
    {
      type: 'ca.keyset_tainted',
      schemaVersion: 1,
      data: {
        trustDomainId: 'td-0000000001',
        keysetId: 'ks-a',
        previousStatus: 'active',
        taintedAt: now.toISOString(),
      },
    },
  ]);
  assert.equal(activeKeyset(r.state)?.keysetId, 'ks-b');
  const a = findKeyset(r.state, 'ks-a')!;
  assert.deepEqual(
    [a.status, a.deactivatedAt, a.taintedAt],
    ['tainted', now.getTime(), now.getTime()],
  );
  assert.deepEqual(
    r.must({ kind: 'taint', keysetId: 'ks-a' }, now),
    [],
    'tainting again is a no-op',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'taint', keysetId: 'ks-q' }, now)),
    'CA_KEYSET_NOT_FOUND',
  );
});

test('taint: a successor not yet valid cannot take over', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, false);
  r.must(await prepareCommand(custody, day('ks-b', 15 * HOUR)), at(12 * HOUR));
  assert.equal(
    rejectedWith(r.send({ kind: 'taint', keysetId: 'ks-a' }, at(13 * HOUR))),
    'CA_KEYSET_NOT_VALID_NOW',
  );
});

test('taint: prepared and old keysets simply become tainted', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, true);
  const [prepared] = r.must({ kind: 'taint', keysetId: 'ks-b' }, at(13 * HOUR));
  assert.ok(prepared?.type === 'ca.keyset_tainted');
  assert.equal(prepared.data.previousStatus, 'prepared');
  assert.equal(findKeyset(r.state, 'ks-b')?.deactivatedAt, null, 'it never signed');
  assert.equal(
    rejectedWith(r.send({ kind: 'activate', keysetId: 'ks-b' }, at(20 * HOUR))),
    'CA_KEYSET_NOT_PREPARED',
    'a tainted keyset never signs',
  );

  r.must(await prepareCommand(custody, day('ks-c', 14 * HOUR)), at(14 * HOUR));
  r.must({ kind: 'activate', keysetId: 'ks-c' }, at(20 * HOUR));
  const [old] = r.must({ kind: 'taint', keysetId: 'ks-a' }, at(20 * HOUR + 60));
  assert.ok(old?.type === 'ca.keyset_tainted');
  assert.equal(old.data.previousStatus, 'old');
  assert.equal(
    findKeyset(r.state, 'ks-a')?.deactivatedAt,
    at(20 * HOUR).getTime(),
    'deactivation time is kept',
  );
});

test('revoke: only a tainted keyset; then it is gone', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, true);
  assert.equal(
    rejectedWith(r.send({ kind: 'revoke', keysetId: 'ks-a' }, at(13 * HOUR))),
    'CA_KEYSET_NOT_TAINTED',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'revoke', keysetId: 'ks-zz' }, at(13 * HOUR))),
    'CA_KEYSET_NOT_FOUND',
  );
  r.must({ kind: 'taint', keysetId: 'ks-a' }, at(13 * HOUR));
  assert.deepEqual(r.must({ kind: 'revoke', keysetId: 'ks-a' }, at(13 * HOUR + 5)), [
    {
      type: 'ca.keyset_revoked',
      schemaVersion: 1,
      data: {
        trustDomainId: 'td-0000000001',
        keysetId: 'ks-a',
        revokedAt: at(13 * HOUR + 5).toISOString(),
      },
    },
  ]);
  assert.equal(findKeyset(r.state, 'ks-a')?.status, 'revoked');
  assert.deepEqual(
    r.must({ kind: 'revoke', keysetId: 'ks-a' }, at(14 * HOUR)),
    [],
    'revoking again is a no-op',
  );
  assert.deepEqual(
    r.must({ kind: 'drop', keysetId: 'ks-a' }, at(14 * HOUR)),
    [],
    'a revoked keyset is already out of the bundle',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'taint', keysetId: 'ks-a' }, at(14 * HOUR))),
    'CA_KEYSET_GONE',
  );
});

test('drop: never the active keyset; an old one one second after its last SVID expired', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, true);
  assert.equal(
    rejectedWith(r.send({ kind: 'drop', keysetId: 'ks-a' }, at(13 * HOUR))),
    'CA_KEYSET_ACTIVE',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'drop', keysetId: 'ks-b' }, at(13 * HOUR))),
    'CA_KEYSET_STILL_TRUSTED',
    'prepared, not expired',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'drop', keysetId: 'ks-nope' }, at(13 * HOUR))),
    'CA_KEYSET_NOT_FOUND',
  );
  r.must({ kind: 'activate', keysetId: 'ks-b' }, at(20 * HOUR));
  // Last SVID of ks-a: issued at 20h with the 1h ceiling → expires 21h (inclusive) → droppable at 21h + 1s.
  const early = r.send({ kind: 'drop', keysetId: 'ks-a' }, at(21 * HOUR));
  assert.equal(rejectedWith(early), 'CA_KEYSET_STILL_TRUSTED');
  assert.equal(!early.ok && early.error.details?.['dropAt'], at(21 * HOUR + 1).toISOString());
  assert.deepEqual(r.must({ kind: 'drop', keysetId: 'ks-a' }, at(21 * HOUR + 1)), [
    {
      type: 'ca.keyset_dropped',
      schemaVersion: 1,
      data: {
        trustDomainId: 'td-0000000001',
        keysetId: 'ks-a',
        reason: 'svids_expired',
        droppedAt: at(21 * HOUR + 1).toISOString(),
      },
    },
  ]);
  assert.deepEqual(
    r.must({ kind: 'drop', keysetId: 'ks-a' }, at(22 * HOUR)),
    [],
    'dropping again is a no-op',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'activate', keysetId: 'ks-a' }, at(22 * HOUR))),
    'CA_KEYSET_NOT_PREPARED',
  );
  assert.equal(
    rejectedWith(r.send({ kind: 'taint', keysetId: 'ks-a' }, at(22 * HOUR))),
    'CA_KEYSET_GONE',
  );
});

test('drop: a tainted keyset that never signed goes at once; an expired prepared one at its notAfter', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, true);
  r.must({ kind: 'taint', keysetId: 'ks-b' }, at(13 * HOUR));
  const [unused] = r.must({ kind: 'drop', keysetId: 'ks-b' }, at(13 * HOUR));
  assert.ok(unused?.type === 'ca.keyset_dropped');
  assert.equal(unused.data.reason, 'tainted_unused');

  const idle = run();
  idle.must(await prepareCommand(custody, day('ks-x')), T0);
  assert.equal(
    rejectedWith(idle.send({ kind: 'drop', keysetId: 'ks-x' }, at(DAY - 1))),
    'CA_KEYSET_STILL_TRUSTED',
  );
  const [expired] = idle.must({ kind: 'drop', keysetId: 'ks-x' }, at(DAY));
  assert.ok(expired?.type === 'ca.keyset_dropped');
  assert.equal(expired.data.reason, 'expired_unused');
});

test('every ca event carries the trust domain id (the registry reacts to the first activation)', async () => {
  const custody = new TestCustody();
  const r = await withActive(custody, true);
  r.must({ kind: 'taint', keysetId: 'ks-a' }, at(13 * HOUR));
  r.must({ kind: 'revoke', keysetId: 'ks-a' }, at(13 * HOUR));
  const types = new Set<string>();
  for (const e of r.events as EnvelopeOf<CaEvent>[]) {
    types.add(e.type);
    assert.equal(e.data.trustDomainId, 'td-0000000001', e.type);
    assert.equal(e.aggregateType, 'ca');
    assert.equal(e.aggregateId, DEPLOYMENT);
  }
  assert.deepEqual([...types].sort(), [
    'ca.keyset_activated',
    'ca.keyset_prepared',
    'ca.keyset_revoked',
    'ca.keyset_tainted',
  ]);
});

test('exhaustive switches: unknown commands, events and statuses throw instead of passing silently', async () => {
  const state = caDecider.initialState();
  assert.throws(
    () => caDecider.decide({ kind: 'explode' } as unknown as CaCommand, state, { now: T0 }),
    /unexpected ca command/,
  );
  const bogus = {
    type: 'ca.keyset_exploded',
    schemaVersion: 1,
    data: {},
    aggregateId: DEPLOYMENT,
  } as unknown as EnvelopeOf<CaEvent>;
  assert.throws(() => caDecider.evolve(state, bogus), /unexpected ca event/);
  const custody = new TestCustody();
  const r = await withActive(custody, false);
  const weird: CaState = {
    ...r.state,
    keysets: r.state.keysets.map((k) => ({ ...k, status: 'exploded' as never })),
  };
  assert.throws(
    () => caDecider.decide({ kind: 'taint', keysetId: 'ks-a' }, weird, { now: T0 }),
    /unexpected keyset status/,
  );
  assert.deepEqual(keyHandlesFor('ks-a'), { x509: 'x509-ks-a', jwt: 'jwt-ks-a' });
});
