/**
 * Local key material: generation, the public face (SPKI + fingerprint), signing in both request
 * forms and signature verification. Private keys live in `LocalKey` private fields only.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateEncrypt,
  publicDecrypt,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { p256, p384 } from '@noble/curves/nist.js';
import { KeyManagerError } from './errors.js';
import {
  DIGEST_LENGTH,
  HASH_ALGORITHMS,
  KEY_TYPES,
  isDigestRequest,
  type HashAlgorithm,
  type KeyInfo,
  type KeyType,
  type SignRequest,
} from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Key ids: 1–255 characters, letters, digits and `._:/@+-`, starting with a letter or digit. */
const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}$/;

/** Throws INVALID_ARGUMENT unless `keyId` is a well-formed key id. */
export function assertKeyId(keyId: unknown): asserts keyId is string {
  if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId)) {
    throw new KeyManagerError(
      'INVALID_ARGUMENT',
      `invalid key id ${JSON.stringify(keyId)}: 1-255 characters of [A-Za-z0-9._:/@+-], starting with a letter or digit`,
    );
  }
}

/** Throws UNSUPPORTED_KEY_TYPE unless `keyType` is a supported key type. */
export function assertKeyType(keyType: unknown): asserts keyType is KeyType {
  if (typeof keyType !== 'string' || !(KEY_TYPES as readonly string[]).includes(keyType)) {
    throw new KeyManagerError(
      'UNSUPPORTED_KEY_TYPE',
      `unsupported key type ${JSON.stringify(keyType)} (supported: ${KEY_TYPES.join(', ')})`,
    );
  }
}

/** Throws UNSUPPORTED_HASH_ALGORITHM unless `hashAlgorithm` is supported. */
export function assertHashAlgorithm(
  hashAlgorithm: unknown,
): asserts hashAlgorithm is HashAlgorithm {
  if (
    typeof hashAlgorithm !== 'string' ||
    !(HASH_ALGORITHMS as readonly string[]).includes(hashAlgorithm)
  ) {
    throw new KeyManagerError(
      'UNSUPPORTED_HASH_ALGORITHM',
      `unsupported hash algorithm ${JSON.stringify(hashAlgorithm)} (supported: ${HASH_ALGORITHMS.join(', ')})`,
    );
  }
}

/** Validates a sign request's shape; throws INVALID_ARGUMENT / UNSUPPORTED_HASH_ALGORITHM. */
export function assertSignRequest(request: SignRequest): void {
  if (typeof request !== 'object' || request === null) {
    throw new KeyManagerError('INVALID_ARGUMENT', 'sign request must be an object');
  }
  assertHashAlgorithm(request.hashAlgorithm);
  if (isDigestRequest(request)) {
    if (!(request.digest instanceof Uint8Array)) {
      throw new KeyManagerError('INVALID_ARGUMENT', 'digest must be a Uint8Array');
    }
    const want = DIGEST_LENGTH[request.hashAlgorithm];
    if (request.digest.length !== want) {
      throw new KeyManagerError(
        'INVALID_ARGUMENT',
        `digest is ${request.digest.length} bytes, ${request.hashAlgorithm} digests are ${want} bytes`,
      );
    }
  } else if (!((request as { message?: unknown }).message instanceof Uint8Array)) {
    throw new KeyManagerError(
      'INVALID_ARGUMENT',
      'sign request needs either digest or message (Uint8Array)',
    );
  }
}

/** Hashes `message` with `hashAlgorithm`. */
export function hashMessage(hashAlgorithm: HashAlgorithm, message: Uint8Array): Uint8Array {
  return createHash(hashAlgorithm).update(message).digest();
}

/** Lowercase hex SHA-256 of a DER SubjectPublicKeyInfo. */
export function fingerprintOf(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/** The key type of a public or private key object, or undefined if it is none of ours. */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ec-p256';
    if (details?.namedCurve === 'secp384r1') return 'ec-p384';
    return undefined;
  }
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048) return 'rsa-2048';
  return undefined;
}

/** Builds the public KeyInfo for an SPKI, checking that it holds a key of `keyType`. */
export function keyInfoFromSpki(keyId: string, keyType: KeyType, spkiDer: Uint8Array): KeyInfo {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new KeyManagerError(
      'INVALID_ARGUMENT',
      `public key of ${keyId} is not a DER SubjectPublicKeyInfo`,
      {
        cause,
      },
    );
  }
  const actual = keyTypeOf(publicKey);
  if (actual !== keyType) {
    throw new KeyManagerError(
      'UNSUPPORTED_KEY_TYPE',
      `public key of ${keyId} is ${actual ?? 'of an unsupported type'}, expected ${keyType}`,
    );
  }
  const der = new Uint8Array(spkiDer);
  return Object.freeze({ keyId, keyType, publicKeyDer: der, fingerprint: fingerprintOf(der) });
}

/** DigestInfo prefixes for PKCS#1 v1.5 (RFC 8017 §9.2, note 1): DER up to the digest octets. */
const DIGEST_INFO_PREFIX: Readonly<Record<HashAlgorithm, Buffer>> = Object.freeze({
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
});

type NobleCurve = typeof p256;

function nobleCurve(keyType: KeyType): NobleCurve {
  return keyType === 'ec-p384' ? p384 : p256;
}

/**
 * A private key held in this process. The key object and the EC scalar are ECMAScript
 * private fields: they do not show up in util.inspect, JSON.stringify or structured clones.
 */
export class LocalKey {
  /** The public face of the key. */
  readonly info: KeyInfo;
  readonly #privateKey: KeyObject;
  /** EC private scalar for the digest path, derived on first use. */
  #ecScalar: Uint8Array | undefined;

  private constructor(info: KeyInfo, privateKey: KeyObject) {
    this.info = info;
    this.#privateKey = privateKey;
  }

  /** Generates a fresh key. */
  static async generate(keyId: string, keyType: KeyType): Promise<LocalKey> {
    assertKeyId(keyId);
    assertKeyType(keyType);
    let privateKey: KeyObject;
    switch (keyType) {
      case 'ec-p256':
        ({ privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' }));
        break;
      case 'ec-p384':
        ({ privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-384' }));
        break;
      case 'rsa-2048':
        ({ privateKey } = await generateKeyPairAsync('rsa', {
          modulusLength: 2048,
          publicExponent: 0x10001,
        }));
        break;
      default: {
        const never: never = keyType;
        throw new KeyManagerError('UNSUPPORTED_KEY_TYPE', `unsupported key type ${String(never)}`);
      }
    }
    return LocalKey.fromPrivateKey(keyId, keyType, privateKey);
  }

  /** Wraps an existing private key, checking it is of `keyType`. */
  static fromPrivateKey(keyId: string, keyType: KeyType, privateKey: KeyObject): LocalKey {
    if (privateKey.type !== 'private' || keyTypeOf(privateKey) !== keyType) {
      throw new KeyManagerError(
        'UNSUPPORTED_KEY_TYPE',
        `key material for ${keyId} is not a ${keyType} private key`,
      );
    }
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    return new LocalKey(keyInfoFromSpki(keyId, keyType, spki), privateKey);
  }

  /** Parses PKCS#8 DER (as unsealed from a key store). */
  static fromPkcs8(keyId: string, keyType: KeyType, pkcs8Der: Uint8Array): LocalKey {
    const privateKey = createPrivateKey({
      key: Buffer.from(pkcs8Der),
      format: 'der',
      type: 'pkcs8',
    });
    return LocalKey.fromPrivateKey(keyId, keyType, privateKey);
  }

  /**
   * PKCS#8 DER of the private key, for sealing by a key store. Callers must seal it at once
   * and zero the buffer; it never leaves the KeyManager.
   */
  exportPkcs8ForSealing(): Buffer {
    return this.#privateKey.export({ format: 'der', type: 'pkcs8' });
  }

  /** Signs synchronously; the request must have been validated with assertSignRequest. */
  sign(request: SignRequest): Uint8Array {
    const { keyType } = this.info;
    if (!isDigestRequest(request)) {
      // Fast path: OpenSSL hashes and signs in one native call.
      if (keyType === 'rsa-2048') {
        return cryptoSign(request.hashAlgorithm, request.message, {
          key: this.#privateKey,
          padding: constants.RSA_PKCS1_PADDING,
        });
      }
      return cryptoSign(request.hashAlgorithm, request.message, {
        key: this.#privateKey,
        dsaEncoding: 'der',
      });
    }
    if (keyType === 'rsa-2048') {
      // EMSA-PKCS1-v1_5 over a precomputed digest: RSA private operation with block type 1 on DigestInfo.
      const digestInfo = Buffer.concat([DIGEST_INFO_PREFIX[request.hashAlgorithm], request.digest]);
      return privateEncrypt(
        { key: this.#privateKey, padding: constants.RSA_PKCS1_PADDING },
        digestInfo,
      );
    }
    // Node cannot ECDSA-sign a precomputed digest; noble does (prehash: false), hedged with extra entropy.
    const signature = nobleCurve(keyType).sign(request.digest, this.#scalar(), {
      prehash: false,
      lowS: false,
      extraEntropy: true,
    });
    return signature.toBytes('der');
  }

  #scalar(): Uint8Array {
    if (this.#ecScalar === undefined) {
      const jwk = this.#privateKey.export({ format: 'jwk' });
      if (typeof jwk.d !== 'string')
        throw new KeyManagerError('INTERNAL', 'EC private key has no scalar');
      this.#ecScalar = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
    }
    return this.#ecScalar;
  }
}

/**
 * Verifies a signature produced for `request` under the public key in `info`.
 * Returns false (never throws) for malformed signatures.
 */
export function verifySignature(
  info: KeyInfo,
  request: SignRequest,
  signature: Uint8Array,
): boolean {
  try {
    const publicKey = createPublicKey({
      key: Buffer.from(info.publicKeyDer),
      format: 'der',
      type: 'spki',
    });
    if (!isDigestRequest(request)) {
      if (info.keyType === 'rsa-2048') {
        return cryptoVerify(
          request.hashAlgorithm,
          request.message,
          { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
          signature,
        );
      }
      return cryptoVerify(
        request.hashAlgorithm,
        request.message,
        { key: publicKey, dsaEncoding: 'der' },
        signature,
      );
    }
    if (info.keyType === 'rsa-2048') {
      const recovered = publicDecrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
      const expected = Buffer.concat([DIGEST_INFO_PREFIX[request.hashAlgorithm], request.digest]);
      return recovered.equals(expected);
    }
    const jwk = publicKey.export({ format: 'jwk' });
    if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return false;
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x, 'base64url'),
      Buffer.from(jwk.y, 'base64url'),
    ]);
    return nobleCurve(info.keyType).verify(signature, request.digest, point, {
      prehash: false,
      lowS: false,
      format: 'der',
    });
  } catch {
    return false;
  }
}
