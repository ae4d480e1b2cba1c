/**
 * Test support: small PKIs for bundle endpoints made with @peculiar/x509 — a Web PKI CA with a
 * server certificate for 127.0.0.1, and a SPIFFE CA with an endpoint X.509-SVID.
 */
import 'reflect-metadata';
import { webcrypto, type webcrypto as WebCrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

/** A CA: its certificate and key pair. */
export interface TestCa {
  readonly cert: x509.X509Certificate;
  readonly keys: WebCrypto.CryptoKeyPair;
  readonly pem: string;
  readonly derBase64: string;
}

/** A server identity: PEM certificate and PKCS#8 key for node's TLS server. */
export interface ServerIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

async function keyPair(): Promise<WebCrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as WebCrypto.CryptoKeyPair;
}

let serial = 1;
const nextSerial = (): string => (serial++).toString(16).padStart(2, '0');

/** A self-signed CA (with a SPIFFE trust domain URI SAN when `trustDomain` is given). */
export async function testCa(name: string, trustDomain?: string): Promise<TestCa> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys: keys as unknown as Keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ...(trustDomain === undefined ? [] : [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }])]),
    ],
  });
  return { cert, keys, pem: cert.toString('pem'), derBase64: Buffer.from(cert.rawData).toString('base64') };
}

/** A leaf signed by `ca`: a DNS/IP server certificate, or an X.509-SVID when `spiffeId` is given. */
export async function testLeaf(ca: TestCa, options: { ip?: string; spiffeId?: string }): Promise<ServerIdentity> {
  const keys = await keyPair();
  const now = Date.now();
  const names = [
    ...(options.ip === undefined ? [] : [{ type: 'ip' as const, value: options.ip }]),
    ...(options.spiffeId === undefined ? [] : [{ type: 'url' as const, value: options.spiffeId }]),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: options.spiffeId === undefined ? 'CN=127.0.0.1' : '',
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    signingKey: ca.keys.privateKey as unknown as Keys['privateKey'],
    publicKey: keys.publicKey as unknown as Keys['publicKey'],
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names, options.spiffeId !== undefined),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem };
}

/** A SPIFFE bundle document holding `cas` as x509-svid authorities. */
export function bundleOf(cas: readonly TestCa[], sequence: number, refreshHintSeconds: number): Record<string, unknown> {
  return {
    keys: cas.map((ca) => ({ kty: 'EC', use: 'x509-svid', crv: 'P-256', x: 'AA', y: 'AA', x5c: [ca.derBase64] })),
    spiffe_sequence: sequence,
    spiffe_refresh_hint: refreshHintSeconds,
  };
}
