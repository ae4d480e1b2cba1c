/**
 * Test support: a real SPIFFE bundle document (an EC P-256 X.509 CA made with @peculiar/x509 and
 * an EC P-256 JWT key) as the signer would publish it, and the private JWT key to sign with.
 */
import 'reflect-metadata';
import { webcrypto, type webcrypto as WebCrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { exportJWK, type CryptoKey as JoseKey } from 'jose';
import type { SpiffeBundleDocument, SpiffeBundleKey } from '@trustplane/events';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** One keyset: the bundle keys and the JWT signing key. */
export interface TestKeyset {
  readonly x509Key: SpiffeBundleKey;
  readonly jwtKey: SpiffeBundleKey;
  readonly jwtPrivateKey: JoseKey;
  readonly kid: string;
  readonly certificateDer: Buffer;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** Makes a keyset for trust domain `td`. */
export async function testKeyset(td: string, kid: string): Promise<TestKeyset> {
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as WebCrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `O=TrustPlane test, CN=${td}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys: caKeys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${td}` }]),
    ],
  });
  const caJwk = await exportJWK(caKeys.publicKey as unknown as JoseKey);
  const jwtKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as WebCrypto.CryptoKeyPair;
  const jwtJwk = await exportJWK(jwtKeys.publicKey as unknown as JoseKey);
  const der = Buffer.from(cert.rawData);
  return {
    x509Key: { kty: 'EC', use: 'x509-svid', crv: 'P-256', x: String(caJwk.x), y: String(caJwk.y), x5c: [der.toString('base64')] },
    jwtKey: { kty: 'EC', use: 'jwt-svid', kid, crv: 'P-256', x: String(jwtJwk.x), y: String(jwtJwk.y) },
    jwtPrivateKey: jwtKeys.privateKey as unknown as JoseKey,
    kid,
    certificateDer: der,
  };
}

/** A bundle document holding the keysets. */
export function bundleDocument(keysets: readonly TestKeyset[], sequence: number, refreshHintSeconds = 300): SpiffeBundleDocument {
  return {
    keys: [...keysets.map((k) => k.x509Key), ...keysets.map((k) => k.jwtKey)],
    spiffe_sequence: sequence,
    spiffe_refresh_hint: refreshHintSeconds,
  };
}
