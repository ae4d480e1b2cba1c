/**
 * Test support (not exported from the package): a real trust domain — a self-signed CA built by
 * @trustplane/crypto, X.509-SVIDs minted under it with agent-side P-256 keys, and a JWT
 * authority minting real JWT-SVIDs.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import {
  buildCaCertificate,
  createJwtAuthority,
  createX509SvidTemplate,
  jwtAuthorityJwk,
  keyObjectSigner,
  mintJwtSvid,
  mintX509Svid,
  spkiOf,
  type JwtAuthority,
  type X509SvidTemplate,
} from '@trustplane/crypto';
import type {
  IdentitySnapshot,
  Jwk,
  MintedJwtSvid,
  TrustBundle,
  WorkloadIdentity,
  X509SvidMaterial,
} from '../identity-source.js';

/** A trust domain with a live CA and JWT key. */
export interface TestTrustDomain {
  readonly name: string;
  /** CA certificate, DER. */
  readonly caCertificate: Buffer;
  readonly jwtAuthority: JwtAuthority;
  readonly jwk: Jwk;
  readonly bundle: TrustBundle;
  /** Mints an X.509-SVID with a fresh P-256 key. */
  mintSvid(spiffeId: string, ttlSeconds?: number, now?: Date): Promise<X509SvidMaterial>;
  /** Mints a JWT-SVID. */
  mintJwt(
    spiffeId: string,
    audience: readonly string[],
    ttlSeconds?: number,
    now?: Date,
  ): Promise<MintedJwtSvid>;
}

/** Creates a trust domain with a CA valid for a day. */
export async function createTestTrustDomain(name: string): Promise<TestTrustDomain> {
  const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = new Date();
  const authority = await buildCaCertificate(
    {
      trustDomain: name,
      publicKey: spkiOf(caKey.publicKey),
      serialRandom: randomBytes(16),
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 24 * 3600_000),
    },
    keyObjectSigner(caKey.privateKey),
  );
  const template: X509SvidTemplate = createX509SvidTemplate({ authority });
  const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwtAuthority = createJwtAuthority({
    trustDomain: name,
    publicKey: spkiOf(jwtKey.publicKey),
  });
  const jwk = jwtAuthorityJwk(jwtAuthority.spki, jwtAuthority.keyId) as unknown as Jwk;
  const signer = keyObjectSigner(caKey.privateKey);
  return {
    name,
    caCertificate: authority.certificate,
    jwtAuthority,
    jwk,
    bundle: { x509Authorities: [authority.certificate], jwtAuthorities: [jwk] },
    async mintSvid(spiffeId, ttlSeconds = 3600, at = new Date()) {
      const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const svid = await mintX509Svid(
        template,
        { spiffeId, publicKey: spkiOf(leaf.publicKey), ttlSeconds, now: at },
        { signer, randomBytes: (n) => randomBytes(n) },
      );
      return {
        // The CA is the trust anchor in the bundle; serve the leaf alone, as SPIRE does.
        chain: [svid.certificate],
        privateKey: pkcs8(leaf.privateKey),
        expiresAt: svid.notAfter,
      };
    },
    async mintJwt(spiffeId, audience, ttlSeconds = 300, at = new Date()) {
      const token = await mintJwtSvid(
        jwtAuthority,
        { spiffeId, audience, ttlSeconds, now: at },
        keyObjectSigner(jwtKey.privateKey),
      );
      return { token: token.token, expiresAt: token.expiresAt };
    },
  };
}

function pkcs8(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' });
}

/** An identity for tests. */
export function identity(
  entryId: string,
  spiffeId: string,
  selectors: readonly string[],
  x509: X509SvidMaterial | undefined,
  extra: Partial<Pick<WorkloadIdentity, 'federatesWith' | 'hint' | 'revision'>> = {},
): WorkloadIdentity {
  return {
    entryId,
    spiffeId,
    selectors,
    federatesWith: extra.federatesWith ?? [],
    hint: extra.hint ?? '',
    x509,
    revision: extra.revision ?? 1,
  };
}

/** A snapshot of one trust domain (plus federated ones). */
export function snapshotOf(
  td: TestTrustDomain,
  identities: readonly WorkloadIdentity[],
  federated: readonly TestTrustDomain[] = [],
): IdentitySnapshot {
  return {
    trustDomain: td.name,
    bundle: td.bundle,
    federatedBundles: new Map(federated.map((f) => [f.name, f.bundle])),
    identities,
  };
}
