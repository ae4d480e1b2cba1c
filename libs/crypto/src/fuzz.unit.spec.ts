/**
 * Robustness of the parsers that see untrusted input (CSRs from agents, certificates, tokens):
 * for any mutation they either succeed or throw a CryptoError — never another exception; a
 * mutated JWT-SVID is always rejected.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCertificate } from './certificate';
import { readNode, readTime, smallInteger, readSmallInteger, readRoot, Tag, time } from './der';
import {
  buildCaCertificate,
  buildCsr,
  createJwtAuthority,
  isCryptoError,
  keyObjectSigner,
  mintJwtSvid,
  parseCsr,
  validateJwtSvid,
} from './index';
import { parseSpiffeId } from './spiffe-id';
import { generateKey } from './testing/support';

function onlyCryptoErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isCryptoError(err)) throw err;
  }
}

/** Byte mutations: overwrite, truncate or insert at a position. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
);

function mutate(
  input: Buffer,
  ms: { kind: 'set' | 'cut' | 'insert'; at: number; value: number }[],
): Buffer {
  let b = Buffer.from(input);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
  }
  return b;
}

describe('parsers under mutation', () => {
  it('parseCsr throws only CryptoError', async () => {
    const key = generateKey('ec-p256');
    const csr = await buildCsr(
      { publicKey: key.spki, spiffeId: 'spiffe://example.org/a', dnsNames: ['a.example'] },
      keyObjectSigner(key.privateKey),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        onlyCryptoErrors(() => parseCsr(mutate(csr, ms)));
      }),
      { numRuns: 2000 },
    );
  });

  it('parseCertificate throws only CryptoError', async () => {
    const key = generateKey('ec-p256');
    const ca = await buildCaCertificate(
      {
        trustDomain: 'example.org',
        publicKey: key.spki,
        serialRandom: Buffer.alloc(16, 1),
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2025-01-02T00:00:00Z'),
      },
      keyObjectSigner(key.privateKey),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        onlyCryptoErrors(() => parseCertificate(mutate(ca.certificate, ms)));
      }),
      { numRuns: 2000 },
    );
  });

  it('validateJwtSvid rejects every mutated token with a CryptoError, and accepts the token itself', async () => {
    const key = generateKey('ec-p256');
    const authority = createJwtAuthority({ trustDomain: 'example.org', publicKey: key.spki });
    const now = new Date('2025-01-01T00:00:00Z');
    const { token } = await mintJwtSvid(
      authority,
      { spiffeId: 'spiffe://example.org/a', audience: ['x'], ttlSeconds: 60, now },
      keyObjectSigner(key.privateKey),
    );
    const options = { authorities: [authority], audience: 'x', now };
    assert.equal(validateJwtSvid(token, options).spiffeId, 'spiffe://example.org/a');
    let rejected = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        const t = mutate(Buffer.from(token, 'latin1'), ms).toString('latin1');
        // A mutation may write the byte already there: the same token must still validate.
        if (t === token) return void validateJwtSvid(t, options);
        assert.throws(
          () => validateJwtSvid(t, options),
          (err: unknown) => isCryptoError(err),
          `accepted a mutated token: ${t}`,
        );
        rejected += 1;
      }),
      { numRuns: 2000 },
    );
    assert.ok(rejected > 1_500, `most runs mutate the token (${rejected})`);
    // The mutation the random runs rarely hit: another spelling of the signature's last
    // character that decodes to the same bytes (its low bits are unused).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(token.at(-1) ?? '');
    for (const spelling of [1, 2, 3].map((flip) => alphabet[last ^ flip] ?? '')) {
      const respelt = `${token.slice(0, -1)}${spelling}`;
      assert.deepEqual(Buffer.from(respelt.split('.')[2] ?? '', 'base64url'), Buffer.from(token.split('.')[2] ?? '', 'base64url'));
      assert.throws(() => validateJwtSvid(respelt, options), (err: unknown) => isCryptoError(err) && err.code === 'JWT_MALFORMED');
    }
  });

  it('parseSpiffeId throws only CryptoError and accepts what it returns', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (tail) => {
        onlyCryptoErrors(() => {
          const p = parseSpiffeId(`spiffe://${tail}`);
          assert.equal(`spiffe://${p.trustDomain}${p.path}`, `spiffe://${tail}`);
          assert.ok(!p.path.endsWith('/') && !p.path.includes('//'));
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('DER round trips', () => {
  it('Time encodes and decodes every second from 1950 to 9999', () => {
    fc.assert(
      fc.property(
        fc.integer({
          min: Date.UTC(1950, 0, 1) / 1000,
          max: Date.UTC(9999, 11, 31, 23, 59, 59) / 1000,
        }),
        (t) => {
          const b = time(t);
          assert.equal(readTime(b, readNode(b, 0, b.length)), t);
        },
      ),
    );
  });

  it('small INTEGERs round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), (n) => {
        const b = smallInteger(n);
        assert.equal(readSmallInteger(b, readRoot(b, Tag.INTEGER)), n);
      }),
    );
  });
});
