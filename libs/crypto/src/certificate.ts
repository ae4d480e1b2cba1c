/**
 * A strict, single-pass reader for X.509 v3 certificates (RFC 5280 §4.1), decoding only the
 * extensions the SVID and CA profiles need. Used by the output validators and to load a CA.
 */
import {
  Tag,
  children,
  contextConstructed,
  contextPrimitive,
  readBoolean,
  readNamedBits,
  readNode,
  readPositiveInteger,
  readRoot,
  readSmallInteger,
  readTime,
  valueEquals,
  type DerNode,
} from './der';
import { CryptoError } from './errors';
import { readGeneralNames, type SubjectAltNames } from './extensions';
import {
  readPublicKeyInfo,
  readSignedTail,
  type PublicKeyInfo,
  type VerifyAlgorithm,
} from './keys';
import { OID } from './oids';

/** A decoded extension value with its criticality. */
export interface Decoded<T> {
  /** The `critical` flag. */
  readonly critical: boolean;
  /** The decoded value. */
  readonly value: T;
}

/** The fields of a certificate the validators look at. Buffers are views into `der`. */
export interface ParsedCertificate {
  /** The whole certificate. */
  readonly der: Buffer;
  /** The TBSCertificate TLV (what the signature covers). */
  readonly tbs: Buffer;
  /** Outer signatureAlgorithm, decoded. */
  readonly signatureAlgorithm: VerifyAlgorithm;
  /** Outer signatureAlgorithm TLV. */
  readonly signatureAlgorithmDer: Buffer;
  /** TBSCertificate.signature TLV (must equal the outer one, RFC 5280 §4.1.2.3). */
  readonly tbsSignatureAlgorithmDer: Buffer;
  /** The signature value. */
  readonly signature: Buffer;
  /** Serial number magnitude (positive). */
  readonly serialNumber: Buffer;
  /** Issuer Name TLV. */
  readonly issuer: Buffer;
  /** Subject Name TLV. */
  readonly subject: Buffer;
  /** notBefore, epoch seconds. */
  readonly notBefore: number;
  /** notAfter, epoch seconds. */
  readonly notAfter: number;
  /** The subject public key. */
  readonly publicKey: PublicKeyInfo;
  /** basicConstraints (RFC 5280 §4.2.1.9). */
  readonly basicConstraints?: Decoded<{ cA: boolean; pathLen?: number }>;
  /** keyUsage bits (RFC 5280 §4.2.1.3). */
  readonly keyUsage?: Decoded<Set<number>>;
  /** extKeyUsage: whether serverAuth / clientAuth are present, and how many purposes (RFC 5280 §4.2.1.12). */
  readonly extKeyUsage?: Decoded<{ serverAuth: boolean; clientAuth: boolean; count: number }>;
  /** subjectKeyIdentifier (RFC 5280 §4.2.1.2). */
  readonly subjectKeyId?: Buffer;
  /** authorityKeyIdentifier keyIdentifier (RFC 5280 §4.2.1.1). */
  readonly authorityKeyId?: Buffer;
  /** subjectAltName (RFC 5280 §4.2.1.6). */
  readonly subjectAltName?: Decoded<SubjectAltNames>;
  /** True when a nameConstraints extension is present. */
  readonly hasNameConstraints: boolean;
  /** OIDs (value octets, hex) of critical extensions this reader does not understand. */
  readonly unknownCritical: string[];
}

/** True when the whole TLV of `node` equals `expected`. */
function valueEqualsWhole(buf: Buffer, node: DerNode, expected: Buffer): boolean {
  return (
    node.end - node.start === expected.length &&
    buf.compare(expected, 0, expected.length, node.start, node.end) === 0
  );
}

/** True when two nodes of the same buffer have equal value octets. */
function sameValue(buf: Buffer, a: DerNode, b: DerNode): boolean {
  const len = a.end - a.valueStart;
  if (b.end - b.valueStart !== len) return false;
  for (let i = 0; i < len; i++) if (buf[a.valueStart + i] !== buf[b.valueStart + i]) return false;
  return true;
}

function bad(message: string): CryptoError {
  return new CryptoError('DER_MALFORMED', message);
}

interface MutableExtensions {
  basicConstraints?: Decoded<{ cA: boolean; pathLen?: number }>;
  keyUsage?: Decoded<Set<number>>;
  extKeyUsage?: Decoded<{ serverAuth: boolean; clientAuth: boolean; count: number }>;
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  subjectAltName?: Decoded<SubjectAltNames>;
  hasNameConstraints: boolean;
  unknownCritical: string[];
}

/** Parses the content of an extnValue for a known extension into `out`. */
function decodeExtension(
  buf: Buffer,
  idNode: DerNode,
  critical: boolean,
  value: DerNode,
  out: MutableExtensions,
): void {
  const inner = readNode(buf, value.valueStart, value.end);
  if (inner.end !== value.end) throw bad('trailing octets in extnValue');
  if (valueEquals(buf, idNode, OID.basicConstraints)) {
    // RFC 5280 §4.2.1.9
    if (inner.tag !== Tag.SEQUENCE) throw bad('basicConstraints');
    const items = children(buf, inner);
    let idx = 0;
    let cA = false;
    let pathLen: number | undefined;
    if (items[idx]?.tag === Tag.BOOLEAN) {
      cA = readBoolean(buf, items[idx]!);
      if (!cA) throw bad('basicConstraints cA FALSE must be omitted in DER');
      idx++;
    }
    if (items[idx]) pathLen = readSmallInteger(buf, items[idx++]!);
    if (idx !== items.length) throw bad('basicConstraints');
    out.basicConstraints = { critical, value: pathLen === undefined ? { cA } : { cA, pathLen } };
  } else if (valueEquals(buf, idNode, OID.keyUsage)) {
    out.keyUsage = { critical, value: readNamedBits(buf, inner) };
  } else if (valueEquals(buf, idNode, OID.extKeyUsage)) {
    if (inner.tag !== Tag.SEQUENCE) throw bad('extKeyUsage');
    let serverAuth = false;
    let clientAuth = false;
    const purposes = children(buf, inner);
    for (const p of purposes) {
      if (p.tag !== Tag.OID) throw bad('extKeyUsage purpose');
      if (valueEquals(buf, p, OID.serverAuth)) serverAuth = true;
      else if (valueEquals(buf, p, OID.clientAuth)) clientAuth = true;
    }
    out.extKeyUsage = { critical, value: { serverAuth, clientAuth, count: purposes.length } };
  } else if (valueEquals(buf, idNode, OID.subjectKeyIdentifier)) {
    if (inner.tag !== Tag.OCTET_STRING) throw bad('subjectKeyIdentifier');
    out.subjectKeyId = buf.subarray(inner.valueStart, inner.end);
  } else if (valueEquals(buf, idNode, OID.authorityKeyIdentifier)) {
    if (inner.tag !== Tag.SEQUENCE) throw bad('authorityKeyIdentifier');
    for (const c of children(buf, inner)) {
      if (c.tag === contextPrimitive(0)) out.authorityKeyId = buf.subarray(c.valueStart, c.end);
    }
  } else if (valueEquals(buf, idNode, OID.subjectAltName)) {
    out.subjectAltName = { critical, value: readGeneralNames(buf, inner) };
  } else if (valueEquals(buf, idNode, OID.nameConstraints)) {
    out.hasNameConstraints = true;
  } else if (critical) {
    // RFC 5280 §4.2: a critical extension that is not recognised must cause rejection.
    out.unknownCritical.push(buf.subarray(idNode.valueStart, idNode.end).toString('hex'));
  }
}

/**
 * Parses a DER certificate (RFC 5280 §4.1):
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT v3, serialNumber, signature, issuer,
 *     validity, subject, subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL,
 *     subjectUniqueID [2] OPTIONAL, extensions [3] EXPLICIT Extensions }
 * Only v3 with extensions is accepted. Throws CERT_MALFORMED (or UNSUPPORTED_KEY_TYPE /
 * INVALID_PUBLIC_KEY for the subject key). `knownKey`: an already checked key; when the
 * certificate's SPKI is byte-identical to it, its checks are not repeated.
 */
export function parseCertificate(input: Uint8Array, knownKey?: PublicKeyInfo): ParsedCertificate {
  const der = Buffer.isBuffer(input) ? input : Buffer.from(input);
  try {
    const root = readRoot(der, Tag.SEQUENCE);
    const [tbsNode, algNode, sigNode, extra] = children(der, root);
    if (!tbsNode || !algNode || !sigNode || extra || tbsNode.tag !== Tag.SEQUENCE) {
      throw bad('Certificate must have exactly three fields');
    }
    const tail = readSignedTail(der, algNode, sigNode);
    const f = children(der, tbsNode);
    let i = 0;
    const versionNode = f[i++];
    if (!versionNode || versionNode.tag !== contextConstructed(0)) throw bad('version must be v3');
    const versionInt = readNode(der, versionNode.valueStart, versionNode.end);
    if (versionInt.end !== versionNode.end || readSmallInteger(der, versionInt) !== 2) {
      throw bad('version must be v3');
    }
    const serialNode = f[i++];
    const tbsAlg = f[i++];
    const issuer = f[i++];
    const validity = f[i++];
    const subject = f[i++];
    const spki = f[i++];
    if (!serialNode || !tbsAlg || !issuer || !validity || !subject || !spki) {
      throw bad('TBSCertificate is missing fields');
    }
    // RFC 5280 §4.1.2.2: positive, at most 20 octets.
    const serialNumber = readPositiveInteger(der, serialNode);
    if (serialNumber.length > 20 || (serialNumber.length === 1 && serialNumber[0] === 0)) {
      throw bad('serialNumber must be positive and at most 20 octets');
    }
    if (
      tbsAlg.tag !== Tag.SEQUENCE ||
      issuer.tag !== Tag.SEQUENCE ||
      subject.tag !== Tag.SEQUENCE
    ) {
      throw bad('TBSCertificate field types');
    }
    if (validity.tag !== Tag.SEQUENCE) throw bad('validity');
    const [nb, na, extraTime] = children(der, validity);
    if (!nb || !na || extraTime) throw bad('validity');
    const notBefore = readTime(der, nb);
    const notAfter = readTime(der, na);
    const ext: MutableExtensions = { hasNameConstraints: false, unknownCritical: [] };
    let sawExtensions = false;
    for (; i < f.length; i++) {
      const node = f[i]!;
      if (node.tag === contextPrimitive(1) || node.tag === contextPrimitive(2)) {
        throw bad('unique identifiers are not accepted (RFC 5280 §4.1.2.8)');
      }
      if (node.tag !== contextConstructed(3) || sawExtensions) throw bad('unexpected TBS field');
      sawExtensions = true;
      const seq = readNode(der, node.valueStart, node.end);
      if (seq.tag !== Tag.SEQUENCE || seq.end !== node.end) throw bad('extensions');
      const seen: DerNode[] = [];
      const list = children(der, seq);
      if (list.length === 0) throw bad('empty extensions');
      for (const e of list) {
        if (e.tag !== Tag.SEQUENCE) throw bad('extension');
        const [idNode, second, third, extraField] = children(der, e);
        if (!idNode || idNode.tag !== Tag.OID || !second || extraField) throw bad('extension');
        let critical = false;
        let valueNode = second;
        if (second.tag === Tag.BOOLEAN) {
          critical = readBoolean(der, second);
          if (!critical) throw bad('critical FALSE must be omitted in DER');
          if (!third) throw bad('extension without value');
          valueNode = third;
        } else if (third) {
          throw bad('extension');
        }
        if (valueNode.tag !== Tag.OCTET_STRING) throw bad('extnValue');
        // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
        // (Compared in place: a handful of extensions, no strings allocated.)
        for (const prev of seen) {
          if (sameValue(der, prev, idNode)) {
            throw bad('duplicate extension');
          }
        }
        seen.push(idNode);
        decodeExtension(der, idNode, critical, valueNode, ext);
      }
    }
    if (!sawExtensions) throw bad('certificate has no extensions');
    return {
      der,
      tbs: der.subarray(tbsNode.start, tbsNode.end),
      signatureAlgorithm: tail.algorithm,
      signatureAlgorithmDer: tail.algorithmDer,
      tbsSignatureAlgorithmDer: der.subarray(tbsAlg.start, tbsAlg.end),
      signature: tail.signature,
      serialNumber,
      issuer: der.subarray(issuer.start, issuer.end),
      subject: der.subarray(subject.start, subject.end),
      notBefore,
      notAfter,
      publicKey:
        knownKey && valueEqualsWhole(der, spki, knownKey.spki)
          ? knownKey
          : readPublicKeyInfo(der, spki),
      ...ext,
    };
  } catch (err) {
    if (
      err instanceof CryptoError &&
      (err.code === 'UNSUPPORTED_KEY_TYPE' || err.code === 'INVALID_PUBLIC_KEY')
    ) {
      throw err;
    }
    throw new CryptoError('CERT_MALFORMED', 'malformed certificate', { cause: err });
  }
}
