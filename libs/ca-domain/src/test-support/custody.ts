// Test support (not exported from the package): key custody by handle and keyset material.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import {
  buildCaCertificate,
  keyObjectSigner,
  spkiOf,
  type MessageSigner,
} from '@trustplane/crypto';
import type { CaKeyType } from '@trustplane/events';
import type { PrepareKeysetCommand } from '../ca.js';
import { keyHandlesFor } from '../keyset.js';

/**
 * Private keys by handle, like a KeyManager: callers only ever see handles, public keys and
 * signatures. (The real KeyManager lives in an infra package a domain lib may not import.)
 */
export class TestCustody {
  readonly #keys = new Map<string, KeyObject>();

  /** Generates a key under `handle`; returns its SPKI DER. */
  create(handle: string, keyType: CaKeyType): Buffer {
    if (this.#keys.has(handle)) throw new Error(`key ${handle} exists`);
    const pair =
      keyType === 'rsa-2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: keyType === 'ec-p256' ? 'P-256' : 'P-384' });
    this.#keys.set(handle, pair.privateKey);
    return spkiOf(pair.privateKey);
  }

  /** A MessageSigner for the key under `handle`. */
  signer(handle: string): MessageSigner {
    const key = this.#keys.get(handle);
    if (!key) throw new Error(`no key ${handle}`);
    return keyObjectSigner(key);
  }

  /** Destroys a key. */
  release(handle: string): void {
    this.#keys.delete(handle);
  }

  /** Whether a key is held. */
  has(handle: string): boolean {
    return this.#keys.has(handle);
  }

  /**
   * The private scalar / exponent of every key held, as base64url, base64 and hex (to prove none
   * leaks into events). PKCS#8 as a whole is no good for this: it embeds the public key too.
   */
  privateMaterial(): string[] {
    return [...this.#keys.values()].flatMap((k) => {
      const d = Buffer.from(k.export({ format: 'jwk' }).d ?? '', 'base64url');
      return [d.toString('base64url'), d.toString('base64'), d.toString('hex')];
    });
  }
}

/** Options for building a prepare command with real keys and a real CA certificate. */
export interface MaterialOptions {
  readonly trustDomainId?: string;
  readonly trustDomain?: string;
  readonly keysetId: string;
  readonly keyType?: CaKeyType;
  readonly jwtKeyType?: CaKeyType;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly maxX509SvidTtlSeconds?: number;
  readonly maxJwtSvidTtlSeconds?: number;
  /** Trust domain written into the certificate (defaults to trustDomain). */
  readonly certificateTrustDomain?: string;
}

/** Creates both keys in custody, builds the CA certificate and returns the prepare command. */
export async function prepareCommand(
  custody: TestCustody,
  o: MaterialOptions,
): Promise<PrepareKeysetCommand> {
  const keyType = o.keyType ?? 'ec-p256';
  const handles = keyHandlesFor(o.keysetId);
  const caSpki = custody.create(handles.x509, keyType);
  const jwtSpki = custody.create(handles.jwt, o.jwtKeyType ?? keyType);
  const trustDomain = o.trustDomain ?? 'example.org';
  const ca = await buildCaCertificate(
    {
      trustDomain: o.certificateTrustDomain ?? trustDomain,
      publicKey: caSpki,
      keyType,
      serialRandom: randomBytes(16),
      notBefore: o.notBefore,
      notAfter: o.notAfter,
    },
    custody.signer(handles.x509),
  );
  return {
    kind: 'prepare',
    trustDomainId: o.trustDomainId ?? 'td-0000000001',
    trustDomain,
    keysetId: o.keysetId,
    x509: { keyHandle: handles.x509, certificate: ca.certificate },
    jwt: { keyHandle: handles.jwt, publicKey: jwtSpki },
    maxX509SvidTtlSeconds: o.maxX509SvidTtlSeconds ?? 3600,
    maxJwtSvidTtlSeconds: o.maxJwtSvidTtlSeconds ?? 300,
  };
}
