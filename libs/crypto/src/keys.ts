/**
 * Public keys (SubjectPublicKeyInfo, RFC 5280 §4.1.2.7), the signature algorithms used with
 * them, the MessageSigner contract, and ECDSA signature encodings.
 */
import * as nodeCrypto from 'node:crypto';
import {
  createHash,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import {
  DER_NULL,
  Tag,
  children,
  oid,
  readOctetAlignedBitString,
  readPositiveInteger,
  readRoot,
  sequence,
  unsignedInteger,
  valueEquals,
  type DerNode,
} from './der';
import { CryptoError } from './errors';
import { OID } from './oids';

/** Hash algorithms a MessageSigner is asked to use. */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

/**
 * Signs `message` (not a digest) with a key held elsewhere (a KeyManager, possibly in another
 * process). Returns a DER `Ecdsa-Sig-Value` (RFC 3279 §2.2.3) for EC keys or a PKCS#1 v1.5
 * signature (RFC 8017 §8.2) for RSA keys.
 */
export type MessageSigner = (message: Uint8Array, hash: HashAlgorithm) => Promise<Uint8Array>;

/** Key types an authority (X.509 CA or JWT signing key) may have. */
export type AuthorityKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048';

/** Key types accepted as the subject key of an X.509-SVID (workload keys). */
export type SubjectKeyType = AuthorityKeyType | 'rsa-3072' | 'rsa-4096';

/** All authority key types, in preference order. */
export const AUTHORITY_KEY_TYPES: readonly AuthorityKeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048'];

/** What a SubjectPublicKeyInfo holds, after structural checks. */
export interface PublicKeyInfo {
  /** The key type. */
  readonly keyType: SubjectKeyType;
  /** The whole SubjectPublicKeyInfo TLV (a copy, safe to keep). */
  readonly spki: Buffer;
  /** The subjectPublicKey BIT STRING content (EC point or RSAPublicKey DER). */
  readonly subjectPublicKey: Buffer;
}

/** How an authority of a given key type signs (certificate and JWS algorithms). */
export interface SignatureProfile {
  /** The authority key type. */
  readonly keyType: AuthorityKeyType;
  /** Hash the signer is asked to use. */
  readonly hash: HashAlgorithm;
  /** DER AlgorithmIdentifier placed in certificates (RFC 5758 §3.2 / RFC 4055 §5). */
  readonly algorithmIdentifier: Buffer;
  /** JWS `alg` (RFC 7518 §3.1). */
  readonly jwsAlg: 'ES256' | 'ES384' | 'RS256';
  /** Octet length of r and s for ECDSA (RFC 7518 §3.4); 0 for RSA. */
  readonly ecCoordinateSize: number;
}

// RFC 5758 §3.2: ecdsa-with-SHA* AlgorithmIdentifiers have absent parameters.
const ECDSA_SHA256_ALG = sequence(oid('1.2.840.10045.4.3.2'));
const ECDSA_SHA384_ALG = sequence(oid('1.2.840.10045.4.3.3'));
// RFC 4055 §5: sha*WithRSAEncryption AlgorithmIdentifiers carry NULL parameters.
const RSA_SHA256_ALG = sequence(oid('1.2.840.113549.1.1.11'), DER_NULL);

const PROFILES: Readonly<Record<AuthorityKeyType, SignatureProfile>> = {
  'ec-p256': {
    keyType: 'ec-p256',
    hash: 'sha256',
    algorithmIdentifier: ECDSA_SHA256_ALG,
    jwsAlg: 'ES256',
    ecCoordinateSize: 32,
  },
  'ec-p384': {
    keyType: 'ec-p384',
    hash: 'sha384',
    algorithmIdentifier: ECDSA_SHA384_ALG,
    jwsAlg: 'ES384',
    ecCoordinateSize: 48,
  },
  'rsa-2048': {
    keyType: 'rsa-2048',
    hash: 'sha256',
    algorithmIdentifier: RSA_SHA256_ALG,
    jwsAlg: 'RS256',
    ecCoordinateSize: 0,
  },
};

/** True for the key types an authority may use. */
export function isAuthorityKeyType(keyType: string): keyType is AuthorityKeyType {
  return Object.prototype.hasOwnProperty.call(PROFILES, keyType);
}

/** The signature profile of an authority key type; UNSUPPORTED_KEY_TYPE for anything else. */
export function signatureProfile(keyType: string): SignatureProfile {
  if (!isAuthorityKeyType(keyType)) {
    throw new CryptoError('UNSUPPORTED_KEY_TYPE', `unsupported authority key type: ${keyType}`);
  }
  return PROFILES[keyType];
}

// --- EC point checks (SEC 1 §2.3.4, curve parameters from FIPS 186-4 D.1.2) -----------------

interface CurveParams {
  readonly p: bigint;
  readonly b: bigint;
  readonly size: number;
  readonly jwkCrv: 'P-256' | 'P-384';
}

const P256: CurveParams = {
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  size: 32,
  jwkCrv: 'P-256',
};
const P384: CurveParams = {
  p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  size: 48,
  jwkCrv: 'P-384',
};

/**
 * Uncompressed point on the curve (y² = x³ − 3x + b mod p). Both curves have cofactor 1, so a
 * point on the curve that is not the point at infinity is a valid public key (SEC 1 §3.2.2).
 */
function isOnCurve(point: Buffer, curve: CurveParams): boolean {
  if (point.length !== 1 + 2 * curve.size || point[0] !== 0x04) return false;
  const x = BigInt('0x' + point.toString('hex', 1, 1 + curve.size));
  const y = BigInt('0x' + point.toString('hex', 1 + curve.size));
  const { p, b } = curve;
  if (x >= p || y >= p) return false;
  return (y * y - ((x * x - 3n) * x + b)) % p === 0n;
}

function curveOf(keyType: SubjectKeyType): CurveParams | undefined {
  return keyType === 'ec-p256' ? P256 : keyType === 'ec-p384' ? P384 : undefined;
}

/** Reads the RSAPublicKey (RFC 8017 §A.1.1) inside an SPKI; returns modulus bits. */
function rsaModulusBits(key: Buffer): number {
  const root = readRoot(key, Tag.SEQUENCE);
  const parts = children(key, root);
  if (parts.length !== 2) throw new CryptoError('INVALID_PUBLIC_KEY', 'RSAPublicKey needs n and e');
  const n = readPositiveInteger(key, parts[0]!);
  const e = readPositiveInteger(key, parts[1]!);
  if (e.length > 4 || (e[e.length - 1]! & 1) === 0 || (e.length === 1 && e[0]! < 3)) {
    throw new CryptoError('INVALID_PUBLIC_KEY', 'RSA public exponent must be odd, ≥ 3, < 2^32');
  }
  return (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
}

/**
 * Parses a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) at `node` inside `buf` and checks it is a
 * supported key: EC P-256/P-384 uncompressed point on the curve (RFC 5480 §2), or RSA with a
 * 2048/3072/4096-bit modulus (RFC 3279 §2.3.1, NULL parameters). Throws UNSUPPORTED_KEY_TYPE
 * for other algorithms/curves/sizes and INVALID_PUBLIC_KEY for broken keys.
 */
export function readPublicKeyInfo(buf: Buffer, node: DerNode): PublicKeyInfo {
  try {
    if (node.tag !== Tag.SEQUENCE) throw new CryptoError('DER_MALFORMED', 'SPKI is not a SEQUENCE');
    const [algNode, keyNode, extra] = children(buf, node);
    if (!algNode || !keyNode || extra) {
      throw new CryptoError('DER_MALFORMED', 'SPKI must have algorithm and subjectPublicKey');
    }
    const [algOid, params, extraParam] = children(buf, algNode);
    if (!algOid || algOid.tag !== Tag.OID || extraParam) {
      throw new CryptoError('DER_MALFORMED', 'bad SPKI AlgorithmIdentifier');
    }
    const subjectPublicKey = readOctetAlignedBitString(buf, keyNode);
    const spki = Buffer.from(buf.subarray(node.start, node.end));
    const keyBits = spki.subarray(keyNode.valueStart + 1 - node.start);
    let keyType: SubjectKeyType;
    if (valueEquals(buf, algOid, OID.ecPublicKey)) {
      // RFC 5480 §2.1.1: parameters MUST be a namedCurve OID.
      if (!params || params.tag !== Tag.OID) {
        throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'EC key without a named curve');
      }
      if (valueEquals(buf, params, OID.secp256r1)) keyType = 'ec-p256';
      else if (valueEquals(buf, params, OID.secp384r1)) keyType = 'ec-p384';
      else throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'unsupported EC curve');
      const curve = curveOf(keyType)!;
      if (subjectPublicKey[0] !== 0x04) {
        throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'only uncompressed EC points are supported');
      }
      if (!isOnCurve(subjectPublicKey, curve)) {
        throw new CryptoError('INVALID_PUBLIC_KEY', `EC point is not on ${curve.jwkCrv}`);
      }
    } else if (valueEquals(buf, algOid, OID.rsaEncryption)) {
      // RFC 3279 §2.3.1: parameters MUST be NULL.
      if (!params || params.tag !== Tag.NULL || params.end !== params.valueStart) {
        throw new CryptoError('INVALID_PUBLIC_KEY', 'RSA key parameters must be NULL');
      }
      const bits = rsaModulusBits(subjectPublicKey);
      if (bits === 2048) keyType = 'rsa-2048';
      else if (bits === 3072) keyType = 'rsa-3072';
      else if (bits === 4096) keyType = 'rsa-4096';
      else throw new CryptoError('UNSUPPORTED_KEY_TYPE', `unsupported RSA modulus size ${bits}`);
    } else if (valueEquals(buf, algOid, OID.ed25519) || valueEquals(buf, algOid, OID.ed448)) {
      throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'EdDSA keys are not supported for SVIDs');
    } else {
      throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'unsupported public key algorithm');
    }
    return Object.freeze({ keyType, spki, subjectPublicKey: keyBits });
  } catch (err) {
    if (err instanceof CryptoError && err.code !== 'DER_MALFORMED') throw err;
    throw new CryptoError('INVALID_PUBLIC_KEY', 'malformed SubjectPublicKeyInfo', { cause: err });
  }
}

/** Parses a standalone SubjectPublicKeyInfo DER (see readPublicKeyInfo). */
export function inspectPublicKey(spkiDer: Uint8Array): PublicKeyInfo {
  const buf = Buffer.isBuffer(spkiDer) ? spkiDer : Buffer.from(spkiDer);
  let node: DerNode;
  try {
    node = readRoot(buf, Tag.SEQUENCE);
  } catch (err) {
    throw new CryptoError('INVALID_PUBLIC_KEY', 'malformed SubjectPublicKeyInfo', { cause: err });
  }
  return readPublicKeyInfo(buf, node);
}

/** SPKI DER of a Node KeyObject (public or private; the public half is exported). */
export function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' });
}

/**
 * A Node KeyObject for a checked public key. Takes the fastest import OpenSSL 3 offers: JWK
 * coordinates for EC and PKCS#1 for RSA (both much cheaper than the SPKI decoder).
 */
export function importPublicKey(info: PublicKeyInfo): KeyObject {
  const curve = curveOf(info.keyType);
  try {
    if (curve) {
      const p = info.subjectPublicKey;
      return createPublicKey({
        format: 'jwk',
        key: {
          kty: 'EC',
          crv: curve.jwkCrv,
          x: p.subarray(1, 1 + curve.size).toString('base64url'),
          y: p.subarray(1 + curve.size).toString('base64url'),
        },
      });
    }
    return createPublicKey({ key: info.subjectPublicKey, format: 'der', type: 'pkcs1' });
  } catch (err) {
    throw new CryptoError('INVALID_PUBLIC_KEY', 'public key rejected by OpenSSL', { cause: err });
  }
}

/** SHA-1 of the subjectPublicKey bits: key identifier method (1) of RFC 5280 §4.2.1.2. */
export function subjectKeyIdOf(info: PublicKeyInfo): Buffer {
  return sha1(info.subjectPublicKey);
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;
// crypto.hash (Node ≥ 20.12) skips the Hash object; fall back to createHash elsewhere.
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

/** SHA-1 digest (used only for key identifiers, RFC 5280 §4.2.1.2, not for security). */
export function sha1(data: Uint8Array): Buffer {
  return oneShot ? oneShot('sha1', data, 'buffer') : createHash('sha1').update(data).digest();
}

// --- signatures ------------------------------------------------------------------------------

/** Signature algorithm recognised in a CSR or certificate, with how to verify it. */
export interface VerifyAlgorithm {
  /** Hash used. */
  readonly hash: HashAlgorithm;
  /** Key family the algorithm requires. */
  readonly family: 'ec' | 'rsa';
}

/**
 * Reads an AlgorithmIdentifier for a signature (RFC 5758 §3.2 ECDSA: parameters absent;
 * RFC 4055 §5 / RFC 3279 §2.2.1 RSA PKCS#1 v1.5: parameters NULL or absent).
 */
export function readSignatureAlgorithm(buf: Buffer, node: DerNode): VerifyAlgorithm {
  if (node.tag !== Tag.SEQUENCE) throw new CryptoError('DER_MALFORMED', 'AlgorithmIdentifier');
  const [o, params, extra] = children(buf, node);
  if (!o || o.tag !== Tag.OID || extra) {
    throw new CryptoError('DER_MALFORMED', 'bad AlgorithmIdentifier');
  }
  const ecdsa = (hash: HashAlgorithm): VerifyAlgorithm => {
    if (params) throw new CryptoError('UNSUPPORTED_SIGNATURE_ALGORITHM', 'ECDSA with parameters');
    return { hash, family: 'ec' };
  };
  const rsa = (hash: HashAlgorithm): VerifyAlgorithm => {
    if (params && (params.tag !== Tag.NULL || params.end !== params.valueStart)) {
      throw new CryptoError('UNSUPPORTED_SIGNATURE_ALGORITHM', 'RSA with non-NULL parameters');
    }
    return { hash, family: 'rsa' };
  };
  if (valueEquals(buf, o, OID.ecdsaWithSha256)) return ecdsa('sha256');
  if (valueEquals(buf, o, OID.ecdsaWithSha384)) return ecdsa('sha384');
  if (valueEquals(buf, o, OID.ecdsaWithSha512)) return ecdsa('sha512');
  if (valueEquals(buf, o, OID.sha256WithRsa)) return rsa('sha256');
  if (valueEquals(buf, o, OID.sha384WithRsa)) return rsa('sha384');
  if (valueEquals(buf, o, OID.sha512WithRsa)) return rsa('sha512');
  throw new CryptoError('UNSUPPORTED_SIGNATURE_ALGORITHM', 'unsupported signature algorithm');
}

/** The key family of a subject key type. */
export function familyOf(keyType: SubjectKeyType): 'ec' | 'rsa' {
  return keyType.startsWith('ec-') ? 'ec' : 'rsa';
}

/**
 * Converts a DER Ecdsa-Sig-Value (RFC 3279 §2.2.3) to the fixed-size r‖s form of
 * RFC 7518 §3.4 (each left-padded to `size` octets). Rejects non-DER input.
 */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Buffer {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der);
  const root = readRoot(buf, Tag.SEQUENCE);
  const [rNode, sNode, extra] = children(buf, root);
  if (!rNode || !sNode || extra) throw new CryptoError('DER_MALFORMED', 'Ecdsa-Sig-Value');
  const r = readPositiveInteger(buf, rNode);
  const s = readPositiveInteger(buf, sNode);
  if (r.length > size || s.length > size) {
    throw new CryptoError('DER_MALFORMED', 'ECDSA r or s longer than the curve order');
  }
  const out = Buffer.alloc(2 * size);
  r.copy(out, size - r.length);
  s.copy(out, 2 * size - s.length);
  return out;
}

/** Converts an r‖s ECDSA signature (RFC 7518 §3.4) to a DER Ecdsa-Sig-Value (RFC 3279 §2.2.3). */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new CryptoError('DER_MALFORMED', 'raw ECDSA signature has odd length');
  }
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/** One positive, minimal INTEGER of at most `size` magnitude octets at `at`; returns its end or -1. */
function integerEnd(sig: Buffer, at: number, end: number, size: number): number {
  if (at + 2 > end || sig[at] !== Tag.INTEGER) return -1;
  const len = sig[at + 1]!;
  const v = at + 2;
  if (len === 0 || len > size + 1 || v + len > end) return -1;
  const b0 = sig[v]!;
  if (b0 & 0x80) return -1; // negative
  if (b0 === 0 && (len === 1 || (sig[v + 1]! & 0x80) === 0)) return -1; // zero or non-minimal
  if (len === size + 1 && b0 !== 0) return -1; // longer than the order
  return v + len;
}

/** Allocation-free check that `sig` is a strict DER Ecdsa-Sig-Value (RFC 3279 §2.2.3). */
function isEcdsaDer(sig: Buffer, size: number): boolean {
  // SEQUENCE length fits in one octet for P-256 and P-384 (≤ 2·(2+49) = 102 octets).
  if (sig.length < 8 || sig[0] !== Tag.SEQUENCE || sig[1] !== sig.length - 2) return false;
  const rEnd = integerEnd(sig, 2, sig.length, size);
  return rEnd > 0 && integerEnd(sig, rEnd, sig.length, size) === sig.length;
}

/**
 * Checks a signature returned by a MessageSigner is in the form the profile needs (strict DER
 * Ecdsa-Sig-Value with r, s no longer than the order; or an RSA block of modulus length).
 */
export function checkSignerOutput(profile: SignatureProfile, sig: Uint8Array): Buffer {
  const buf = Buffer.isBuffer(sig) ? sig : Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength);
  if (profile.ecCoordinateSize > 0) {
    if (!isEcdsaDer(buf, profile.ecCoordinateSize)) {
      throw new CryptoError('SIGNER_FAILED', 'signer returned a malformed ECDSA signature');
    }
  } else if (buf.length !== 256) {
    throw new CryptoError('SIGNER_FAILED', 'signer returned an RSA signature of the wrong size');
  }
  return buf;
}

/** Calls the signer and turns its failures into SIGNER_FAILED. */
export async function callSigner(
  signer: MessageSigner,
  profile: SignatureProfile,
  message: Buffer,
): Promise<Buffer> {
  let sig: Uint8Array;
  try {
    sig = await signer(message, profile.hash);
  } catch (err) {
    throw new CryptoError('SIGNER_FAILED', 'the message signer failed', { cause: err });
  }
  return checkSignerOutput(profile, sig);
}

/**
 * A random source for serial numbers that draws from a pool refilled with `randomFillSync`,
 * which is much cheaper than one `randomBytes` call per certificate.
 */
export function pooledRandomSource(poolSize = 4096): (size: number) => Uint8Array {
  const pool = Buffer.allocUnsafe(poolSize);
  let used = poolSize;
  return (size) => {
    if (size > poolSize) return nodeCrypto.randomBytes(size);
    if (used + size > poolSize) {
      nodeCrypto.randomFillSync(pool);
      used = 0;
    }
    // Copy out, so later refills never change bytes a caller holds.
    const out = Buffer.from(pool.subarray(used, used + size));
    used += size;
    return out;
  };
}

/**
 * A MessageSigner over a Node private KeyObject (for the in-memory KeyManager and tests).
 * EC keys produce DER signatures, RSA keys PKCS#1 v1.5.
 */
export function keyObjectSigner(privateKey: KeyObject): MessageSigner {
  if (privateKey.type !== 'private') throw new TypeError('keyObjectSigner needs a private key');
  return (message, hash) => Promise.resolve(nodeSign(hash, message, privateKey));
}

/** crypto.verify with DER ECDSA / PKCS#1 v1.5 signatures; false instead of throwing. */
export function verifySignature(
  hash: HashAlgorithm,
  message: Uint8Array,
  key: KeyObject,
  signature: Uint8Array,
): boolean {
  try {
    return nodeVerify(hash, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * Like verifySignature, but the verification runs on libuv's thread pool (crypto.verify with a
 * callback), so a busy service keeps its main thread for other requests.
 */
export function verifySignatureAsync(
  hash: HashAlgorithm,
  message: Uint8Array,
  key: KeyObject,
  signature: Uint8Array,
): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      nodeVerify(hash, message, key, signature, (error, ok) => resolve(error === null && ok));
    } catch {
      resolve(false);
    }
  });
}

/** Reads the signatureValue BIT STRING of a signed structure (no unused bits allowed). */
export function readSignatureValue(buf: Buffer, node: DerNode): Buffer {
  return readOctetAlignedBitString(buf, node);
}

/** Reads the algorithm and signature of a `SIGNED{…}` structure's tail (RFC 5280 §4.1.1.2–3). */
export function readSignedTail(
  buf: Buffer,
  algNode: DerNode,
  sigNode: DerNode,
): { algorithm: VerifyAlgorithm; algorithmDer: Buffer; signature: Buffer } {
  return {
    algorithm: readSignatureAlgorithm(buf, algNode),
    algorithmDer: buf.subarray(algNode.start, algNode.end),
    signature: readSignatureValue(buf, sigNode),
  };
}
