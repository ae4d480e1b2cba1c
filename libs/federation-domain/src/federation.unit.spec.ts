// Federation relationships as a pure decider (given / when / then) and peer validation: the
// operator's allow-list, https only, https_spiffe needs an endpoint SPIFFE ID and a public-only
// bootstrap bundle, no federation with oneself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { DomainError, EnvelopeOf, FederationEvent, FederationPeer } from '@trustplane/events';
import { federationDecider, federationId, FEDERATION_ID, type FederationCommand } from './federation.js';
import { bundleEndpointUrlProblems, parseBootstrapBundle, validateExternalPeer } from './peer.js';

const now = new Date('2026-01-01T00:00:00Z');
const peer: FederationPeer = { kind: 'external', trustDomain: 'peer.example', bundleEndpointUrl: 'https://peer.example/bundle', profile: 'https_web' };

function given(events: FederationEvent[]) {
  let state = federationDecider.initialState();
  for (const e of events) state = federationDecider.evolve(state, { ...e } as unknown as EnvelopeOf<FederationEvent>);
  return (command: FederationCommand) => federationDecider.decide(command, state, { now });
}
const created: FederationEvent = { type: 'federation.created', schemaVersion: 1, data: { trustDomainId: 'td-0000000001', trustDomain: 'ours.example', peer } };
const create: FederationCommand = { kind: 'create', trustDomainId: 'td-0000000001', trustDomain: 'ours.example', peer };

describe('federation decider', () => {
  test('create → created; the same create again → nothing; another peer definition → FEDERATION_EXISTS', () => {
    const first = given([])(create);
    assert.ok(first.ok);
    assert.deepEqual(first.events.map((e) => e.type), ['federation.created']);
    const again = given([created])(create);
    assert.ok(again.ok);
    assert.equal(again.events.length, 0);
    const other = given([created])({ ...create, peer: { ...peer, bundleEndpointUrl: 'https://peer.example/other' } });
    assert.equal(other.ok, false);
    assert.equal((other as { error: DomainError }).error.code, 'FEDERATION_EXISTS');
    assert.equal((other as { error: DomainError }).error.kind, 'conflict');
  });

  test('refresh and delete need a live relationship; after delete it can be created again', () => {
    for (const command of [{ kind: 'refresh' }, { kind: 'delete' }] as const) {
      const refused = given([])(command);
      assert.equal((refused as { error: DomainError }).error.code, 'FEDERATION_NOT_FOUND');
    }
    const refresh = given([created])({ kind: 'refresh' });
    assert.ok(refresh.ok);
    assert.deepEqual(refresh.events[0]?.data, { requestedAt: now.toISOString() });
    const deleted = given([created])({ kind: 'delete' });
    assert.ok(deleted.ok);
    assert.deepEqual(deleted.events[0]?.data, { trustDomainId: 'td-0000000001', peerTrustDomain: 'peer.example' });
    const gone: FederationEvent = { type: 'federation.deleted', schemaVersion: 1, data: { trustDomainId: 'td-0000000001', peerTrustDomain: 'peer.example' } };
    assert.equal((given([created, gone])({ kind: 'delete' }) as { error: DomainError }).error.code, 'FEDERATION_NOT_FOUND');
    assert.ok(given([created, gone])(create).ok);
  });

  test('ids are derived from the pair, well-formed and distinct', () => {
    const a = federationId('td-0000000001', 'peer.example');
    assert.match(a, FEDERATION_ID);
    assert.equal(a, federationId('td-0000000001', 'peer.example'));
    assert.notEqual(a, federationId('td-0000000002', 'peer.example'));
    assert.notEqual(a, federationId('td-0000000001', 'peer2.example'));
  });
});

// A self-signed P-256 CA certificate (CN=peer.example, URI spiffe://peer.example), made once with openssl.
const FIXTURE_CERT =
  'MIIBpDCCAUugAwIBAgIUIdAOXa1itFtfEk7YuPIfJoX/IaUwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMcGVlci5leGFtcGxlMB4XDTI2MTIwMzE0MDUyMloXDTM2MTEzMDE0MDUyMlowFzEVMBMGA1UEAwwMcGVlci5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEW8T8j3xCB48nyCP3IKn1FcO2QZe5UbQZuih7vurQh1lmSpXWSsnTOiFEgKer462uzhT6WdrM/OtDa5Xs+QnQlaN1MHMwHQYDVR0OBBYEFApIgsU0V8vrYSQaTi6QxdX7BnZWMB8GA1UdIwQYMBaAFApIgsU0V8vrYSQaTi6QxdX7BnZWMA8GA1UdEwEB/wQFMAMBAf8wIAYDVR0RBBkwF4YVc3BpZmZlOi8vcGVlci5leGFtcGxlMAoGCCqGSM49BAMCA0cAMEQCIHtKJibndo861QcCnoTrksM7nJz7x4oFRUmzzzKUpHyQAiAnYHgDbIt4Mrx+94hMG2tQEpaJMHlUE3TKpHYYyzztFA==';

describe('peer validation', () => {
  const policy = { bundleEndpointUrlPrefixes: ['https://peers.example.net/federation/'] };
  test('bundle endpoint URLs: under the allow-list, https, no credentials; nothing allowed when the list is empty', () => {
    assert.deepEqual(bundleEndpointUrlProblems('https://peers.example.net/federation/acme/bundle', policy), []);
    const codes = (url: unknown, p = policy) => bundleEndpointUrlProblems(url, p).map((x) => x.code);
    assert.deepEqual(codes('https://peers.example.net/federation-evil/bundle'), ['URL_NOT_ALLOWED']);
    assert.deepEqual(codes('https://peers.example.net.evil.com/federation/x'), ['URL_NOT_ALLOWED']);
    assert.deepEqual(codes('https://peers.example.net:8443/federation/x'), ['URL_NOT_ALLOWED']);
    assert.deepEqual(codes('http://peers.example.net/federation/x'), ['URL_NOT_HTTPS']);
    assert.deepEqual(codes('file:///etc/passwd'), ['URL_NOT_HTTPS']);
    assert.deepEqual(codes('https://user:pw@peers.example.net/federation/x'), ['URL_INVALID']);
    assert.deepEqual(codes('https://peers.example.net/federation/../admin'), ['URL_NOT_NORMALIZED']);
    assert.deepEqual(codes('not a url'), ['URL_INVALID']);
    assert.deepEqual(codes(42), ['REQUIRED']);
    assert.deepEqual(codes('https://peers.example.net/federation/x', { bundleEndpointUrlPrefixes: [] }), ['URL_NOT_ALLOWED']);
  });

  test('https_spiffe needs an endpoint SPIFFE ID and a bootstrap bundle without private members; https_web takes neither', () => {
    const ok = validateExternalPeer({ trustDomain: 'peer.example', bundleEndpointUrl: 'https://peers.example.net/federation/b', profile: 'https_web' }, 'ours.example', policy);
    assert.ok(ok.ok);
    const missing = validateExternalPeer({ trustDomain: 'peer.example', bundleEndpointUrl: 'https://peers.example.net/federation/b', profile: 'https_spiffe' }, 'ours.example', policy);
    assert.equal(missing.ok, false);
    assert.deepEqual((missing as { problems: { field: string }[] }).problems.map((p) => p.field), ['endpointSpiffeId', 'bootstrapBundle']);
    const self = validateExternalPeer({ trustDomain: 'ours.example', bundleEndpointUrl: 'https://peers.example.net/federation/b', profile: 'https_web', bootstrapBundle: '{}' }, 'ours.example', policy);
    assert.deepEqual((self as { problems: { code: string }[] }).problems.map((p) => p.code), ['FEDERATION_WITH_SELF', 'NOT_APPLICABLE']);
    const badProfile = validateExternalPeer({ trustDomain: 'peer.example', bundleEndpointUrl: 'https://peers.example.net/federation/b', profile: 'http' }, 'ours.example', policy);
    assert.deepEqual((badProfile as { problems: { code: string }[] }).problems.map((p) => p.code), ['ENUM']);
  });

  test('bootstrap bundles: JSON JWK sets with a parseable x509-svid authority; a private member is refused', () => {
    assert.deepEqual(parseBootstrapBundle('nope').problems.map((p) => p.code), ['BUNDLE_NOT_JSON']);
    assert.deepEqual(parseBootstrapBundle('{"keys":{}}').problems.map((p) => p.code), ['BUNDLE_INVALID']);
    assert.deepEqual(parseBootstrapBundle('{"keys":[]}').problems.map((p) => p.code), ['BUNDLE_NO_X509_AUTHORITY']);
    assert.deepEqual(parseBootstrapBundle(JSON.stringify({ keys: [{ kty: 'EC', use: 'jwt-svid', kid: 'a', d: 'secret' }] })).problems.map((p) => p.code), ['BUNDLE_PRIVATE_KEY']);
    assert.deepEqual(parseBootstrapBundle(JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', x5c: ['AAAA'] }] })).problems.map((p) => p.code), ['BUNDLE_INVALID']);
    assert.deepEqual(parseBootstrapBundle(JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', x5c: ['a', 'b'] }] })).problems.map((p) => p.code), ['BUNDLE_INVALID']);
    const good = parseBootstrapBundle(JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', crv: 'P-256', x: 'x', y: 'y', x5c: [FIXTURE_CERT], extra: 'dropped' }], spiffe_sequence: 4 }));
    assert.deepEqual(good.problems, []);
    assert.deepEqual(JSON.parse(good.normalized ?? ''), { keys: [{ kty: 'EC', use: 'x509-svid', crv: 'P-256', x: 'x', y: 'y', x5c: [FIXTURE_CERT] }], spiffe_sequence: 4 });
    assert.equal(new X509Certificate(Buffer.from(FIXTURE_CERT, 'base64')).subject, 'CN=peer.example');
  });
});
