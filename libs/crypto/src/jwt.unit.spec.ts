import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  createJwtAuthority,
  isCryptoError,
  jwtAuthorityJwk,
  keyFingerprint,
  keyIdOf,
  keyObjectSigner,
  mintJwtSvid,
  publicKeyToJwk,
  validateJwtSvid,
  x509AuthorityJwk,
  buildCaCertificate,
  type CryptoErrorCode,
  type JwtAuthority,
} from './index';
import { generateKey, spySigner, type TestKey } from './testing/support';

const NOW = new Date('2025-03-01T12:00:00Z');

function expectCode(code: CryptoErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isCryptoError(err), `expected CryptoError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

function authority(type: 'ec-p256' | 'ec-p384' | 'rsa-2048'): {
  key: TestKey;
  authority: JwtAuthority;
} {
  const key = generateKey(type);
  return {
    key,
    authority: createJwtAuthority({ trustDomain: 'example.org', publicKey: key.spki }),
  };
}

describe('JWT-SVID', () => {
  for (const [type, alg] of [
    ['ec-p256', 'ES256'],
    ['ec-p384', 'ES384'],
    ['rsa-2048', 'RS256'],
  ] as const) {
    it(`${type}: mints ${alg}, verified by jose against the JWKS`, async () => {
      const { key, authority: a } = authority(type);
      const svid = await mintJwtSvid(
        a,
        {
          spiffeId: 'spiffe://example.org/web',
          audience: ['db', 'cache'],
          ttlSeconds: 300,
          now: NOW,
        },
        keyObjectSigner(key.privateKey),
      );
      assert.deepEqual(decodeProtectedHeader(svid.token), { alg, kid: a.keyId, typ: 'JWT' });
      // The OIDC-style JWKS (jose skips keys whose `use` is not `sig`, so no `use: jwt-svid` here).
      const jwks = { keys: [publicKeyToJwk(key.spki, a.keyId)] } as unknown as JSONWebKeySet;
      const { payload, protectedHeader } = await jwtVerify(svid.token, createLocalJWKSet(jwks), {
        audience: 'cache',
        currentDate: NOW,
        algorithms: [alg],
        typ: 'JWT',
      });
      assert.equal(protectedHeader.kid, a.keyId);
      assert.deepEqual(payload, {
        sub: 'spiffe://example.org/web',
        aud: ['db', 'cache'],
        iat: NOW.getTime() / 1000,
        exp: NOW.getTime() / 1000 + 300,
      });
      const claims = validateJwtSvid(svid.token, { authorities: [a], audience: 'db', now: NOW });
      assert.equal(claims.spiffeId, 'spiffe://example.org/web');
      assert.equal(claims.expiresAt.toISOString(), '2025-03-01T12:05:00.000Z');
    });
  }

  it('uses a string aud for a single audience', async () => {
    const { key, authority: a } = authority('ec-p256');
    const svid = await mintJwtSvid(
      a,
      { spiffeId: 'spiffe://example.org/w', audience: ['only'], ttlSeconds: 60, now: NOW },
      keyObjectSigner(key.privateKey),
    );
    const payload = JSON.parse(Buffer.from(svid.token.split('.')[1]!, 'base64url').toString()) as {
      aud: unknown;
    };
    assert.equal(payload.aud, 'only');
  });

  it('caps exp at the key notAfter', async () => {
    const key = generateKey('ec-p256');
    const a = createJwtAuthority({
      trustDomain: 'example.org',
      publicKey: key.spki,
      notAfter: new Date('2025-03-01T12:01:00Z'),
    });
    const svid = await mintJwtSvid(
      a,
      { spiffeId: 'spiffe://example.org/w', audience: ['x'], ttlSeconds: 600, now: NOW },
      keyObjectSigner(key.privateKey),
    );
    assert.equal(svid.expiresAt.toISOString(), '2025-03-01T12:01:00.000Z');
  });

  const bad: { name: string; code: CryptoErrorCode; patch: object }[] = [
    { name: 'no audience', code: 'AUDIENCE_REQUIRED', patch: { audience: [] } },
    { name: 'empty audience', code: 'AUDIENCE_REQUIRED', patch: { audience: [''] } },
    { name: 'over-long TTL', code: 'TTL_TOO_LONG', patch: { ttlSeconds: 2 * 24 * 3600 } },
    { name: 'negative TTL', code: 'INVALID_TTL', patch: { ttlSeconds: -1 } },
    {
      name: 'other trust domain',
      code: 'SPIFFE_ID_NOT_IN_TRUST_DOMAIN',
      patch: { spiffeId: 'spiffe://evil.org/w' },
    },
    {
      name: 'bad SPIFFE ID',
      code: 'INVALID_SPIFFE_ID',
      patch: { spiffeId: 'https://example.org/w' },
    },
  ];
  for (const c of bad) {
    it(`${c.name} → ${c.code}, nothing signed`, async () => {
      const { key, authority: a } = authority('ec-p256');
      const spy = spySigner(key.privateKey);
      const request = {
        spiffeId: 'spiffe://example.org/w',
        audience: ['x'],
        ttlSeconds: 60,
        now: NOW,
        ...c.patch,
      } as Parameters<typeof mintJwtSvid>[1];
      await assert.rejects(mintJwtSvid(a, request, spy.signer), expectCode(c.code));
      assert.equal(spy.calls.length, 0);
    });
  }

  it('refuses an unsupported key type for a JWT authority', () => {
    assert.throws(
      () =>
        createJwtAuthority({ trustDomain: 'example.org', publicKey: generateKey('ed25519').spki }),
      expectCode('UNSUPPORTED_KEY_TYPE'),
    );
  });

  it('validator rejects expiry, wrong audience, unknown kid, tampering and alg confusion', async () => {
    const { key, authority: a } = authority('ec-p256');
    const other = authority('ec-p256').authority;
    const { token } = await mintJwtSvid(
      a,
      { spiffeId: 'spiffe://example.org/w', audience: ['x'], ttlSeconds: 60, now: NOW },
      keyObjectSigner(key.privateKey),
    );
    const base = { authorities: [a], audience: 'x', now: NOW };
    assert.throws(
      () => validateJwtSvid(token, { ...base, now: new Date('2025-03-01T12:01:00Z') }),
      expectCode('JWT_EXPIRED'),
    );
    assert.throws(
      () => validateJwtSvid(token, { ...base, audience: 'y' }),
      expectCode('JWT_AUDIENCE_MISMATCH'),
    );
    assert.throws(
      () => validateJwtSvid(token, { ...base, authorities: [other] }),
      expectCode('JWT_UNKNOWN_KEY'),
    );
    assert.throws(
      () => validateJwtSvid(token, { ...base, spiffeId: 'spiffe://example.org/z' }),
      expectCode('SPIFFE_ID_MISMATCH'),
    );
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ sub: 'spiffe://example.org/admin', aud: 'x', exp: 2e9 }),
    ).toString('base64url');
    assert.throws(
      () => validateJwtSvid(`${h}.${forged}.${s}`, base),
      expectCode('JWT_BAD_SIGNATURE'),
    );
    const none = Buffer.from(JSON.stringify({ alg: 'none', kid: a.keyId })).toString('base64url');
    assert.throws(() => validateJwtSvid(`${none}.${p}.`, base), expectCode('JWT_BAD_HEADER'));
    assert.throws(() => validateJwtSvid('a.b', base), expectCode('JWT_MALFORMED'));
  });
});

describe('JWKs and key identifiers', () => {
  it('computes stable fingerprints and kids', () => {
    const key = generateKey('ec-p256');
    assert.match(keyFingerprint(key.spki), /^[0-9a-f]{64}$/);
    assert.match(keyIdOf(key.spki), /^[A-Za-z0-9_-]{32}$/);
    assert.equal(keyIdOf(key.spki), keyIdOf(Buffer.from(key.spki)));
  });

  it('exports EC and RSA JWKs equal to what node exports', () => {
    for (const type of ['ec-p256', 'ec-p384', 'rsa-2048'] as const) {
      const key = generateKey(type);
      const jwk = publicKeyToJwk(key.spki, 'k1');
      assert.deepEqual(jwk, { ...key.publicKey.export({ format: 'jwk' }), kid: 'k1' });
    }
  });

  it('builds SPIFFE bundle entries: x509-svid with one x5c and no kid, jwt-svid with kid', async () => {
    const key = generateKey('ec-p256');
    const ca = await buildCaCertificate(
      {
        trustDomain: 'example.org',
        publicKey: key.spki,
        serialRandom: Buffer.alloc(16, 2),
        notBefore: NOW,
        notAfter: new Date(NOW.getTime() + 3600_000),
      },
      keyObjectSigner(key.privateKey),
    );
    const x = x509AuthorityJwk(ca.certificate);
    assert.equal(x.use, 'x509-svid');
    assert.deepEqual(x.x5c, [ca.certificate.toString('base64')]);
    assert.equal('kid' in x, false);
    assert.equal(x.kty, 'EC');
    const j = jwtAuthorityJwk(key.spki, 'kid-1');
    assert.equal(j.use, 'jwt-svid');
    assert.equal(j.kid, 'kid-1');
  });
});
