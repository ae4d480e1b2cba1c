import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { decodeEvent, encodeEvent, type BundleEvent, type CaEvent } from '@trustplane/events';
import {
  bundleDecider,
  bundleKeysets,
  caDecider,
  computeTrustBundle,
  findKeyset,
  type BundleCommand,
  type BundleState,
  type CaCommand,
  type CaState,
} from './index.js';
import { prepareCommand, TestCustody } from './test-support/custody.js';
import { AggregateRun, at, DAY, HOUR, rejectedWith, T0 } from './testing.js';

type CaRun = AggregateRun<CaState, CaCommand, CaEvent>;

async function deployment(
  custody: TestCustody,
  id: string,
  prefix: string,
  keyType: 'ec-p256' | 'rsa-2048' = 'ec-p256',
): Promise<CaRun> {
  const r: CaRun = new AggregateRun(caDecider, id);
  r.must(
    await prepareCommand(custody, {
      keysetId: `${prefix}-1`,
      keyType,
      notBefore: T0,
      notAfter: at(DAY),
    }),
    T0,
  );
  r.must({ kind: 'activate', keysetId: `${prefix}-1` }, T0);
  return r;
}

test('bundle document: SPIFFE JWKS shape (x509-svid with one x5c and no kid; jwt-svid with kid)', async () => {
  const custody = new TestCustody();
  const ec = await deployment(custody, 'tdd-0000000001', 'ec');
  const rsa = await deployment(custody, 'tdd-0000000002', 'rsa', 'rsa-2048');
  const bundle = computeTrustBundle({
    deployments: [ec.state, rsa.state],
    now: at(HOUR),
    previous: null,
    refreshHintSeconds: 300,
  });
  const doc = JSON.parse(JSON.stringify(bundle.document)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc).sort(), ['keys', 'spiffe_refresh_hint', 'spiffe_sequence']);
  assert.equal(doc['spiffe_sequence'], 1);
  assert.equal(doc['spiffe_refresh_hint'], 300);
  const keys = doc['keys'] as Record<string, unknown>[];
  assert.deepEqual(
    keys.map((k) => [k['use'], k['kty']]),
    [
      ['x509-svid', 'EC'],
      ['x509-svid', 'RSA'],
      ['jwt-svid', 'EC'],
      ['jwt-svid', 'RSA'],
    ],
  );
  for (const [i, ks] of [
    findKeyset(ec.state, 'ec-1')!,
    findKeyset(rsa.state, 'rsa-1')!,
  ].entries()) {
    const x = keys[i]!;
    assert.equal(x['kid'], undefined, 'x509-svid keys carry no kid');
    assert.deepEqual(x['x5c'], [ks.x509.certificate], 'exactly one certificate, base64 DER');
    const cert = new X509Certificate(Buffer.from((x['x5c'] as string[])[0]!, 'base64'));
    assert.ok(cert.ca);
    // The JWK's key is the certificate's key.
    const fromJwk = createPublicKey({
      key: { ...x, use: undefined, x5c: undefined } as never,
      format: 'jwk',
    });
    assert.ok(fromJwk.equals(cert.publicKey));
    const j = keys[i + 2]!;
    assert.equal(j['kid'], ks.jwt.keyId);
    assert.equal(j['x5c'], undefined);
    const jwtKey = createPublicKey({
      key: { ...j, use: undefined, kid: undefined } as never,
      format: 'jwk',
    });
    assert.equal(
      jwtKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      ks.jwt.publicKey,
    );
  }
  assert.deepEqual(bundle.keysets, ['tdd-0000000001/ec-1', 'tdd-0000000002/rsa-1']);
});

test('bundle membership: prepared, active, old and tainted are in; revoked, dropped and expired are out', async () => {
  const custody = new TestCustody();
  const r = await deployment(custody, 'tdd-0000000001', 'ks');
  r.must(
    await prepareCommand(custody, {
      keysetId: 'ks-2',
      notBefore: at(12 * HOUR),
      notAfter: at(12 * HOUR + DAY),
    }),
    at(12 * HOUR),
  );
  const ids = (now: Date): string[] => bundleKeysets([r.state], now).map((m) => m.keyset.keysetId);
  assert.deepEqual(
    ids(at(12 * HOUR)),
    ['ks-1', 'ks-2'],
    'the successor is published before it signs',
  );
  r.must({ kind: 'activate', keysetId: 'ks-2' }, at(20 * HOUR));
  assert.deepEqual(ids(at(20 * HOUR)), ['ks-1', 'ks-2'], 'old stays');
  r.must(
    await prepareCommand(custody, {
      keysetId: 'ks-3',
      notBefore: at(20 * HOUR),
      notAfter: at(20 * HOUR + DAY),
    }),
    at(20 * HOUR),
  );
  r.must({ kind: 'taint', keysetId: 'ks-2' }, at(20 * HOUR + 60));
  assert.deepEqual(
    ids(at(20 * HOUR + 60)),
    ['ks-1', 'ks-2', 'ks-3'],
    'tainted stays until its SVIDs expire',
  );
  r.must({ kind: 'revoke', keysetId: 'ks-2' }, at(20 * HOUR + 120));
  assert.deepEqual(ids(at(20 * HOUR + 120)), ['ks-1', 'ks-3'], 'revoked leaves at once');
  r.must({ kind: 'drop', keysetId: 'ks-1' }, at(21 * HOUR + 1));
  assert.deepEqual(ids(at(21 * HOUR + 1)), ['ks-3']);
  // Past its notAfter a keyset is out even without a drop event (nothing it signed is valid).
  const lingering = await deployment(custody, 'tdd-0000000009', 'ln');
  assert.deepEqual(
    bundleKeysets([lingering.state], at(DAY)).length,
    1,
    'notAfter itself is still valid',
  );
  assert.deepEqual(bundleKeysets([lingering.state], new Date(at(DAY).getTime() + 1)), []);
});

test('spiffe_sequence: unchanged content keeps the sequence, every change increments it', async () => {
  const custody = new TestCustody();
  const r = await deployment(custody, 'tdd-0000000001', 'ks');
  const first = computeTrustBundle({
    deployments: [r.state],
    now: T0,
    previous: null,
    refreshHintSeconds: 300,
  });
  assert.deepEqual([first.document.spiffe_sequence, first.changed], [1, true]);
  const same = computeTrustBundle({
    deployments: [r.state],
    now: at(HOUR),
    previous: first.document,
    refreshHintSeconds: 300,
  });
  assert.deepEqual([same.document.spiffe_sequence, same.changed], [1, false]);
  assert.deepEqual(same.document, first.document);
  const hint = computeTrustBundle({
    deployments: [r.state],
    now: at(HOUR),
    previous: first.document,
    refreshHintSeconds: 60,
  });
  assert.deepEqual(
    [hint.document.spiffe_sequence, hint.changed],
    [2, true],
    'the refresh hint is content too',
  );
  r.must(
    await prepareCommand(custody, {
      keysetId: 'ks-2',
      notBefore: at(12 * HOUR),
      notAfter: at(12 * HOUR + DAY),
    }),
    at(12 * HOUR),
  );
  const added = computeTrustBundle({
    deployments: [r.state],
    now: at(12 * HOUR),
    previous: hint.document,
    refreshHintSeconds: 60,
  });
  assert.deepEqual(
    [added.document.spiffe_sequence, added.changed, added.document.keys.length],
    [3, true, 4],
  );
  r.must({ kind: 'activate', keysetId: 'ks-2' }, at(20 * HOUR));
  const activated = computeTrustBundle({
    deployments: [r.state],
    now: at(20 * HOUR),
    previous: added.document,
    refreshHintSeconds: 60,
  });
  assert.equal(activated.changed, false, 'activation changes no published key');
  r.must({ kind: 'drop', keysetId: 'ks-1' }, at(21 * HOUR + 1));
  const dropped = computeTrustBundle({
    deployments: [r.state],
    now: at(21 * HOUR + 1),
    previous: activated.document,
    refreshHintSeconds: 60,
  });
  assert.deepEqual(
    [dropped.document.spiffe_sequence, dropped.changed, dropped.document.keys.length],
    [4, true, 2],
  );
});

test('bundle aggregate: publishes bundle.updated only on change; refuses foreign keysets and bad hints', async () => {
  const custody = new TestCustody();
  const r = await deployment(custody, 'tdd-0000000001', 'ks');
  const b: AggregateRun<BundleState, BundleCommand, BundleEvent> = new AggregateRun(
    bundleDecider,
    'td-0000000001',
  );
  const publish = (deployments: CaState[], refreshHintSeconds = 300): BundleCommand => ({
    kind: 'publish',
    trustDomainId: 'td-0000000001',
    trustDomain: 'example.org',
    deployments,
    refreshHintSeconds,
  });
  const [event] = b.must(publish([r.state]), T0);
  assert.ok(event?.type === 'bundle.updated');
  assert.equal(event.data.sequence, 1);
  assert.equal(event.data.document.spiffe_sequence, 1);
  assert.deepEqual(event.data.keysets, ['tdd-0000000001/ks-1']);
  assert.equal(b.events[0]?.aggregateType, 'bundle');
  assert.deepEqual(
    decodeEvent(encodeEvent(b.events[0]!)),
    b.events[0],
    'the catalogue knows bundle.updated',
  );
  assert.deepEqual(b.must(publish([r.state]), at(60)), [], 'nothing changed, nothing published');
  r.must(
    await prepareCommand(custody, {
      keysetId: 'ks-2',
      notBefore: at(12 * HOUR),
      notAfter: at(12 * HOUR + DAY),
    }),
    at(12 * HOUR),
  );
  const [next] = b.must(publish([r.state]), at(12 * HOUR));
  assert.ok(next?.type === 'bundle.updated');
  assert.equal(next.data.sequence, 2);
  assert.equal(b.state.document?.spiffe_sequence, 2);

  const other = await deployment(custody, 'tdd-0000000002', 'ot');
  const foreign = { ...other.state, trustDomainId: 'td-0000000002' };
  assert.equal(
    rejectedWith(b.send(publish([r.state, foreign]), at(13 * HOUR))),
    'BUNDLE_TRUST_DOMAIN_MISMATCH',
  );
  assert.equal(
    rejectedWith(b.send({ ...publish([r.state]), trustDomainId: 'td-0000000003' }, at(13 * HOUR))),
    'BUNDLE_TRUST_DOMAIN_MISMATCH',
  );
  assert.equal(
    rejectedWith(b.send(publish([r.state], 0), at(13 * HOUR))),
    'BUNDLE_REFRESH_HINT_INVALID',
  );
  assert.throws(
    () =>
      bundleDecider.decide({ kind: 'explode' } as unknown as BundleCommand, b.state, { now: T0 }),
    /unexpected bundle command/,
  );
});
