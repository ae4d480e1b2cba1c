import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { jwtAuthorityJwk, spkiOf } from '@trustplane/crypto';
import { workload } from '@trustplane/proto';
import { parseSelector, type Selector } from '@trustplane/spiffe';
import type {
  IdentitySnapshot,
  Jwk,
  TrustBundle,
  WorkloadIdentity,
  X509SvidMaterial,
} from '../identity-source.js';
import { jwksDocument, WorkloadView } from './view.js';

// Field contents are what matters here, not certificate validity: opaque DER-looking bytes.
const ownCa = Buffer.from([0x30, 0x01, 0xaa]);
const ownCa2 = Buffer.from([0x30, 0x01, 0xab]);
const partnerCa = Buffer.from([0x30, 0x01, 0xbb]);

function ecJwk(kid: string): Jwk {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return jwtAuthorityJwk(spkiOf(publicKey), kid) as unknown as Jwk;
}

function material(tag: number): X509SvidMaterial {
  return {
    chain: [Buffer.from([0x30, tag]), Buffer.from([0x30, 0xff])],
    privateKey: Buffer.from([0x30, 0x80 + tag]),
    expiresAt: new Date('2030-01-01T00:00:00Z'),
  };
}

function id(
  entryId: string,
  path: string,
  selectors: string[],
  extra: Partial<WorkloadIdentity> = {},
): WorkloadIdentity {
  return {
    entryId,
    spiffeId: `spiffe://example.org${path}`,
    selectors,
    federatesWith: [],
    hint: '',
    x509: material(entryId.length),
    revision: 1,
    ...extra,
  };
}

function snapshot(
  identities: WorkloadIdentity[],
  federated: [string, TrustBundle][] = [],
): IdentitySnapshot {
  return {
    trustDomain: 'example.org',
    bundle: { x509Authorities: [ownCa, ownCa2], jwtAuthorities: [ecJwk('own-1')] },
    federatedBundles: new Map(federated),
    identities,
  };
}

function sel(...s: string[]): { key: string; selectors: Selector[] } {
  const selectors = s.map((x) => {
    const r = parseSelector(x);
    assert.ok(r.ok);
    return r.value;
  });
  return { key: [...s].sort().join('\n'), selectors };
}

function match(view: WorkloadView, ...s: string[]) {
  const { key, selectors } = sel(...s);
  return view.match(key, selectors);
}

describe('WorkloadView matching', () => {
  const partner: TrustBundle = { x509Authorities: [partnerCa], jwtAuthorities: [ecJwk('p-1')] };
  const view = new WorkloadView(
    snapshot(
      [
        id('e-web', '/web', ['unix:uid:1000'], {
          federatesWith: ['partner.example', 'spiffe://unknown.example'],
        }),
        id('e-web-admin', '/web-admin', ['unix:uid:1000', 'unix:path:/usr/bin/web']),
        id('e-db', '/db', ['unix:uid:2000']),
        id('e-nosel', '/nothing', []),
        id('e-bad', '/bad', ['unix:uid:1000', 'no-separator']),
        id('e-pending', '/pending', ['unix:uid:1000'], { x509: undefined }),
      ],
      [['partner.example', partner]],
    ),
  );

  it('grants the identities whose selectors are a subset of the caller’s, in priority order', () => {
    const m = match(view, 'unix:uid:1000', 'unix:gid:1000', 'unix:path:/usr/bin/web');
    assert.deepEqual(
      m.identities.map((i) => i.entryId),
      ['e-web', 'e-web-admin', 'e-pending'],
    );
    assert.deepEqual(
      m.x509Identities.map((i) => i.entryId),
      ['e-web', 'e-web-admin'],
    );
    assert.deepEqual(m.federatedTrustDomains, ['partner.example']);
    assert.deepEqual(
      match(view, 'unix:uid:1000').identities.map((i) => i.entryId),
      ['e-web', 'e-pending'],
    );
  });

  it('grants nothing for unrelated selectors, empty or unparsable entry selectors', () => {
    assert.equal(match(view, 'unix:uid:3000').identities.length, 0);
    assert.equal(match(view).identities.length, 0);
  });

  it('builds complete X509SVIDResponse fields', () => {
    const m = match(view, 'unix:uid:1000', 'unix:path:/usr/bin/web');
    const encoded = view.x509SvidResponse(m);
    assert.ok(encoded);
    const decoded = workload.X509SVIDResponse.decode(encoded);
    assert.equal(decoded.svids.length, 2);
    const [first] = decoded.svids;
    assert.equal(first?.spiffeId, 'spiffe://example.org/web');
    assert.deepEqual(first?.x509Svid, Buffer.from([0x30, 5, 0x30, 0xff]));
    assert.deepEqual(first?.x509SvidKey, Buffer.from([0x30, 0x85]));
    assert.deepEqual(first?.bundle, Buffer.concat([ownCa, ownCa2]));
    assert.deepEqual(decoded.federatedBundles, { 'spiffe://partner.example': partnerCa });
    assert.deepEqual(decoded.crl, []);
  });

  it('shares one encoded buffer between callers granted the same identities', () => {
    const a = match(view, 'unix:uid:2000');
    const b = match(view, 'unix:uid:2000', 'unix:gid:5');
    assert.notEqual(a, b);
    assert.equal(view.x509SvidResponse(a), view.x509SvidResponse(b));
    assert.equal(view.x509BundlesResponse(a), view.x509BundlesResponse(b));
  });

  it('serves nothing over X.509 while the only match has no SVID', () => {
    const pendingOnly = new WorkloadView(
      snapshot([id('e-p', '/p', ['unix:uid:1'], { x509: undefined })]),
    );
    const m = match(pendingOnly, 'unix:uid:1');
    assert.equal(m.identities.length, 1);
    assert.equal(pendingOnly.x509SvidResponse(m), undefined);
  });

  it('keeps hints unique: a later identity repeating a hint is dropped', () => {
    const v = new WorkloadView(
      snapshot([
        id('e-1', '/one', ['unix:uid:1'], { hint: 'internal' }),
        id('e-2', '/two', ['unix:uid:1'], { hint: 'internal' }),
        id('e-3', '/three', ['unix:uid:1']),
      ]),
    );
    assert.deepEqual(
      match(v, 'unix:uid:1').x509Identities.map((i) => i.entryId),
      ['e-1', 'e-3'],
    );
  });

  it('builds X.509 and JWT bundle maps keyed spiffe://<td>', () => {
    const m = match(view, 'unix:uid:1000');
    const x509 = workload.X509BundlesResponse.decode(view.x509BundlesResponse(m));
    assert.deepEqual(x509.bundles, {
      'spiffe://example.org': Buffer.concat([ownCa, ownCa2]),
      'spiffe://partner.example': partnerCa,
    });
    const jwt = workload.JWTBundlesResponse.decode(view.jwtBundlesResponse(m));
    assert.deepEqual(Object.keys(jwt.bundles).sort(), [
      'spiffe://example.org',
      'spiffe://partner.example',
    ]);
    const jwks = JSON.parse(jwt.bundles['spiffe://partner.example']!.toString()) as { keys: Jwk[] };
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      ['p-1'],
    );
    // A caller without federation sees only its own trust domain.
    const own = workload.JWTBundlesResponse.decode(
      view.jwtBundlesResponse(match(view, 'unix:uid:2000')),
    );
    assert.deepEqual(Object.keys(own.bundles), ['spiffe://example.org']);
  });

  it('limits JWT authorities to the own and the caller’s federated trust domains', () => {
    assert.equal(view.jwtAuthoritiesFor(match(view, 'unix:uid:1000'), 'partner.example').length, 1);
    assert.equal(view.jwtAuthoritiesFor(match(view, 'unix:uid:2000'), 'partner.example').length, 0);
    assert.equal(view.jwtAuthoritiesFor(match(view, 'unix:uid:2000'), 'example.org').length, 1);
  });

  it('skips JWKs whose declared alg does not fit the key', () => {
    const v = new WorkloadView({
      ...snapshot([id('e-1', '/one', ['unix:uid:1'])]),
      bundle: {
        x509Authorities: [ownCa],
        jwtAuthorities: [{ ...ecJwk('rs'), alg: 'RS256' }, ecJwk('ok')],
      },
    });
    assert.deepEqual(
      v.jwtAuthoritiesFor(match(v, 'unix:uid:1'), 'example.org').map((a) => a.keyId),
      ['ok'],
    );
  });
});

describe('jwksDocument', () => {
  it('serves public members of jwt-svid keys only', () => {
    const doc = JSON.parse(
      jwksDocument({
        x509Authorities: [],
        jwtAuthorities: [
          { kid: 'a', kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'SECRET' },
          { kid: 'b', kty: 'EC', use: 'x509-svid' },
        ],
      }).toString(),
    ) as { keys: Record<string, unknown>[] };
    assert.deepEqual(doc.keys, [{ kid: 'a', kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }]);
  });
});
