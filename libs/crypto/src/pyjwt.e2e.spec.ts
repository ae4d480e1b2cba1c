/**
 * JWT-SVIDs checked by an independent verifier: Debian's PyJWT (/usr/bin/python3 with `jwt`
 * and `cryptography`), not the pyenv python on PATH.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createJwtAuthority, keyObjectSigner, mintJwtSvid, publicKeyToJwk } from './index';
import { generateKey, skipUnlessCi } from './testing/support';

const PYTHON = '/usr/bin/python3';
const hasPyJwt =
  existsSync(PYTHON) &&
  spawnSync(PYTHON, ['-c', 'import jwt, cryptography'], { encoding: 'utf8' }).status === 0;

// Reads {token, jwk, alg, audience} on stdin, verifies with PyJWT, prints the claims as JSON.
const VERIFY = `
import json, sys, jwt
req = json.load(sys.stdin)
key = jwt.PyJWK(req["jwk"]).key
header = jwt.get_unverified_header(req["token"])
assert header["kid"] == req["jwk"]["kid"], header
assert header["typ"] == "JWT", header
claims = jwt.decode(req["token"], key=key, algorithms=[req["alg"]], audience=req["audience"],
                    options={"require": ["exp", "iat", "sub", "aud"]})
print(json.dumps(claims))
`;

function pyVerify(
  token: string,
  jwk: object,
  alg: string,
  audience: string,
): { status: number; out: string } {
  const r = spawnSync(PYTHON, ['-c', VERIFY], {
    input: JSON.stringify({ token, jwk, alg, audience }),
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe(
  'PyJWT verifies JWT-SVIDs',
  { skip: skipUnlessCi(!hasPyJwt && 'Debian python3-jwt not available') },
  () => {
    before(() => assert.ok(hasPyJwt, 'Debian python3-jwt not available (required when CI is set)'));
    for (const [type, alg] of [
      ['ec-p256', 'ES256'],
      ['ec-p384', 'ES384'],
      ['rsa-2048', 'RS256'],
    ] as const) {
      it(`${alg}`, async () => {
        const key = generateKey(type);
        const authority = createJwtAuthority({ trustDomain: 'example.org', publicKey: key.spki });
        const svid = await mintJwtSvid(
          authority,
          {
            spiffeId: 'spiffe://example.org/web',
            audience: ['db', 'cache'],
            ttlSeconds: 300,
            now: new Date(),
          },
          keyObjectSigner(key.privateKey),
        );
        const jwk = publicKeyToJwk(key.spki, authority.keyId);
        const ok = pyVerify(svid.token, jwk, alg, 'db');
        assert.equal(ok.status, 0, ok.out);
        const claims = JSON.parse(ok.out) as { sub: string; aud: string[] };
        assert.equal(claims.sub, 'spiffe://example.org/web');
        assert.deepEqual(claims.aud, ['db', 'cache']);
        // PyJWT must reject a wrong audience and a token signed by another key.
        assert.notEqual(pyVerify(svid.token, jwk, alg, 'other').status, 0);
        const otherJwk = publicKeyToJwk(generateKey(type).spki, authority.keyId);
        assert.notEqual(pyVerify(svid.token, otherJwk, alg, 'db').status, 0);
      });
    }
  },
);
