// The publisher's pure parts: the three documents built from a bundle, the in-memory directory
// (sequence only grows, deletion, names redirect to ids) and content negotiation / validators.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import type { DomainEnvelope, SpiffeBundleDocument } from '@trustplane/events';
import { BundleDirectory } from './directory.js';
import { discoveryOf, jwksOf, privateMembersIn, spiffeBundleOf } from './documents.js';
import { ifNoneMatchHits, negotiateCoding, prepareJson } from './representation.js';
import { bundleDocument, testKeyset } from './testing/keys.js';

const ORG = 't-0000000001';
const TD_ID = 'td-0000000001';

function envelope(type: string, aggregateType: string, aggregateId: string, data: unknown): DomainEnvelope {
  return {
    id: `00000000-0000-7000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
    type,
    schemaVersion: 1,
    tenant: ORG,
    aggregateType,
    aggregateId,
    occurredAt: new Date().toISOString(),
    actor: { kind: 'system', id: 'test' },
    causationId: 'c',
    correlationId: 'c',
    data,
  } as unknown as DomainEnvelope;
}

const bundleUpdated = (document: SpiffeBundleDocument, trustDomain = 'example.org'): DomainEnvelope =>
  envelope('bundle.updated', 'bundle', TD_ID, { trustDomainId: TD_ID, trustDomain, sequence: document.spiffe_sequence, document, keysets: [] });

const json = (buffer: Buffer): Record<string, unknown> => JSON.parse(buffer.toString('utf8')) as Record<string, unknown>;

describe('documents', () => {
  test('the SPIFFE bundle: x509-svid keys with one x5c and no kid, jwt-svid keys with kid, sequence and hint', async () => {
    const a = await testKeyset('example.org', 'kid-a');
    const document = bundleDocument([a], 7, 120);
    // A kid on an X.509 key and a private member anywhere never reach the published document.
    const dirty: SpiffeBundleDocument = { ...document, keys: [{ ...a.x509Key, kid: 'leak', d: 'secret' } as never, { ...a.jwtKey, d: 'secret', k: 'x' } as never] };
    const bundle = spiffeBundleOf(dirty) as { keys: Record<string, unknown>[]; spiffe_sequence: number; spiffe_refresh_hint: number };
    assert.equal(bundle.spiffe_sequence, 7);
    assert.equal(bundle.spiffe_refresh_hint, 120);
    const [x509, jwt] = bundle.keys;
    assert.equal(x509?.['use'], 'x509-svid');
    assert.equal((x509?.['x5c'] as string[]).length, 1);
    assert.equal(x509?.['kid'], undefined);
    assert.equal(jwt?.['use'], 'jwt-svid');
    assert.equal(jwt?.['kid'], 'kid-a');
    assert.deepEqual(privateMembersIn(bundle), []);
    assert.deepEqual(privateMembersIn(jwksOf(dirty)), []);
    assert.deepEqual(privateMembersIn({ keys: [{ d: 1 }], nested: { k: 2 } }), ['$.keys[0].d', '$.nested.k'], 'the scanner itself finds private members');
  });

  test('an x509-svid key with no or two certificates, or a jwt-svid key without kid, is left out', async () => {
    const a = await testKeyset('example.org', 'kid-a');
    const cert = a.x509Key.x5c?.[0] ?? '';
    const document: SpiffeBundleDocument = {
      keys: [{ ...a.x509Key, x5c: [cert, cert] }, { ...a.x509Key, x5c: [] }, { kty: 'EC', use: 'jwt-svid', crv: 'P-256', x: 'x', y: 'y' }],
      spiffe_sequence: 1,
      spiffe_refresh_hint: 60,
    };
    assert.deepEqual((spiffeBundleOf(document) as { keys: unknown[] }).keys, []);
  });

  test('JWKS: only JWT authorities, use sig, kid, alg; discovery names issuer, jwks_uri and the algorithms', async () => {
    const a = await testKeyset('example.org', 'kid-a');
    const jwks = jwksOf(bundleDocument([a], 1)) as { keys: Record<string, unknown>[] };
    assert.equal(jwks.keys.length, 1);
    assert.deepEqual({ use: jwks.keys[0]?.['use'], kid: jwks.keys[0]?.['kid'], alg: jwks.keys[0]?.['alg'], x5c: jwks.keys[0]?.['x5c'] }, { use: 'sig', kid: 'kid-a', alg: 'ES256', x5c: undefined });
    const discovery = discoveryOf(bundleDocument([a], 1), 'https://trust.example.com/t-0000000001/td-0000000001');
    assert.deepEqual(discovery, {
      issuer: 'https://trust.example.com/t-0000000001/td-0000000001',
      jwks_uri: 'https://trust.example.com/t-0000000001/td-0000000001/jwks',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    });
  });
});

describe('directory', () => {
  test('serves the latest sequence; an older or replayed event changes nothing', async () => {
    const a = await testKeyset('example.org', 'kid-a');
    const b = await testKeyset('example.org', 'kid-b');
    const directory = new BundleDirectory('https://trust.example.com/');
    assert.equal(directory.lookup(ORG, TD_ID).kind, 'missing');
    directory.apply(bundleUpdated(bundleDocument([a], 1)));
    directory.apply(bundleUpdated(bundleDocument([a, b], 2)));
    directory.apply(bundleUpdated(bundleDocument([a], 1)));
    const found = directory.lookup(ORG, TD_ID);
    assert.equal(found.kind, 'found');
    if (found.kind !== 'found') return;
    assert.equal(found.entry.sequence, 2);
    assert.equal((json(found.entry.bundle.bodies.identity)['keys'] as unknown[]).length, 4);
    assert.equal(json(found.entry.discovery.bodies.identity)['issuer'], `https://trust.example.com/${ORG}/${TD_ID}`);
  });

  test('a name redirects to the id; deletion removes the documents and a late bundle event does not bring them back', async () => {
    const a = await testKeyset('example.org', 'kid-a');
    const directory = new BundleDirectory('http://127.0.0.1:1');
    directory.apply(envelope('trustdomain.created', 'trustdomain', TD_ID, { name: 'example.org', description: '', kind: 'managed', status: 'initializing' }));
    assert.equal(directory.lookup(ORG, 'example.org').kind, 'missing', 'no bundle yet: nothing to redirect to');
    directory.apply(bundleUpdated(bundleDocument([a], 1)));
    assert.deepEqual(directory.lookup(ORG, 'example.org'), { kind: 'redirect', trustDomainId: TD_ID });
    assert.equal(directory.lookup('t-0000000002', 'example.org').kind, 'missing', 'names are per organization');
    directory.apply(envelope('trustdomain.deleted', 'trustdomain', TD_ID, { name: 'example.org' }));
    assert.equal(directory.lookup(ORG, TD_ID).kind, 'missing');
    assert.equal(directory.lookup(ORG, 'example.org').kind, 'missing');
    directory.apply(bundleUpdated(bundleDocument([a], 2)));
    assert.equal(directory.lookup(ORG, TD_ID).kind, 'missing');
  });
});

describe('representation', () => {
  test('bodies decode to the same JSON; the tag is weak and stable; Cache-Control from the hint', () => {
    const value = { keys: [], spiffe_sequence: 3, spiffe_refresh_hint: 90 };
    const prepared = prepareJson(value, 90);
    assert.deepEqual(json(gunzipSync(prepared.bodies.gzip)), value);
    assert.deepEqual(json(brotliDecompressSync(prepared.bodies.br)), value);
    assert.equal(prepared.etag, prepareJson(value, 90).etag);
    assert.notEqual(prepared.etag, prepareJson({ ...value, spiffe_sequence: 4 }, 90).etag);
    assert.match(prepared.etag, /^W\/"[A-Za-z0-9_-]+"$/);
    assert.equal(prepared.cacheControl, 'public, max-age=90');
  });

  test('Accept-Encoding negotiation and If-None-Match matching', () => {
    assert.equal(negotiateCoding(undefined), 'identity');
    assert.equal(negotiateCoding('gzip, deflate, br'), 'br');
    assert.equal(negotiateCoding('gzip'), 'gzip');
    assert.equal(negotiateCoding('br;q=0, gzip;q=0.5'), 'gzip');
    assert.equal(negotiateCoding('gzip;q=0.2, identity;q=0.9'), 'gzip');
    assert.equal(negotiateCoding('gzip;q=0.9, br;q=0.5'), 'gzip');
    assert.equal(negotiateCoding('*;q=0'), 'identity');
    assert.equal(negotiateCoding('*'), 'br');
    assert.equal(negotiateCoding('compress'), 'identity');
    assert.equal(ifNoneMatchHits('W/"abc"', 'W/"abc"'), true);
    assert.equal(ifNoneMatchHits('"abc"', 'W/"abc"'), true, 'weak comparison');
    assert.equal(ifNoneMatchHits('"x", W/"abc"', 'W/"abc"'), true);
    assert.equal(ifNoneMatchHits('*', 'W/"abc"'), true);
    assert.equal(ifNoneMatchHits('W/"abd"', 'W/"abc"'), false);
    assert.equal(ifNoneMatchHits(undefined, 'W/"abc"'), false);
  });
});
