/**
 * Test support (not exported from the package): fixed keys, a spy signer and small helpers.
 * The fixed keys are test-only keys generated for the known-answer tests; never use them elsewhere.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { keyObjectSigner, spkiOf, type HashAlgorithm, type MessageSigner } from '../keys';

/** Fixed P-256 CA key for known-answer tests (test only). */
export const KAT_CA_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2E/KlLvg/A4hZgZm
qThGAZ4YrUNFHcLxQk89hf8yOOOhRANCAASgBJI/ssINKW/c/tNdHeivhtxlEU/v
QFjapTxBBB7UHtMH3B2JtLx1GPFQvJgj1QYRBnuNbNCgM7ZP8oindTg3
-----END PRIVATE KEY-----
`;

/** Fixed P-256 workload key for known-answer tests (test only). */
export const KAT_LEAF_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgu4R37ygvlfZW5wmv
MhgTBOJUBS7U2FQjWjTeh4GPZYShRANCAAQjznpudl+Upbjjd0318s/wkLTJAsWU
n2X3VeQfaSWIFnt4YKrGE8wwbIhy9ryMnjDuT/MBP1DvoCAQCh+hiJbv
-----END PRIVATE KEY-----
`;

/**
 * The `skip` option of a suite that needs an outside tool (openssl, PyJWT): the reason when the
 * tool is missing, but `false` when `CI` is set, so there the suite runs and fails instead of
 * passing by skipping. (A domain lib cannot use @trustplane/testkit's version of this.)
 */
export function skipUnlessCi(missing: string | false): string | false {
  const ci = (process.env['CI'] ?? '').trim().toLowerCase();
  return missing !== false && (ci === '' || ci === 'false' || ci === '0') ? missing : false;
}

/** A private key with its public half and SPKI DER. */
export interface TestKey {
  /** Private key. */
  readonly privateKey: KeyObject;
  /** Public key. */
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
}

/** Loads a PEM private key as a TestKey. */
export function keyFromPem(pem: string): TestKey {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, spki: spkiOf(publicKey) };
}

/** Key types the tests exercise. */
export type TestKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'ed25519' | 'ec-p521';

/** Generates a fresh key of a type. */
export function generateKey(type: TestKeyType): TestKey {
  const pair =
    type === 'ec-p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'ec-p384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : type === 'ec-p521'
          ? generateKeyPairSync('ec', { namedCurve: 'P-521' })
          : type === 'rsa-2048'
            ? generateKeyPairSync('rsa', { modulusLength: 2048 })
            : generateKeyPairSync('ed25519');
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, spki: spkiOf(pair.publicKey) };
}

/** A signer that records its calls. */
export interface SpySigner {
  /** The signer to pass in. */
  readonly signer: MessageSigner;
  /** Calls so far. */
  readonly calls: { message: Uint8Array; hash: HashAlgorithm }[];
}

/** Wraps a key in a MessageSigner that records calls. */
export function spySigner(privateKey: KeyObject): SpySigner {
  const inner = keyObjectSigner(privateKey);
  const calls: { message: Uint8Array; hash: HashAlgorithm }[] = [];
  return {
    calls,
    signer: (message, hash) => {
      calls.push({ message, hash });
      return inner(message, hash);
    },
  };
}

/** A deterministic "random" source: 0x01, 0x02, ... repeating per call (for tests). */
export function counterRandom(): (size: number) => Uint8Array {
  let n = 0;
  return (size) => {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = (n + i) & 0xff;
    n++;
    return out;
  };
}

/** PEM armour for a DER certificate / CSR. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}
