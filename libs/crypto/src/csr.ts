/**
 * PKCS#10 certification requests (RFC 2986): a fast reader that checks proof of possession with
 * `crypto.verify`, and a builder (for agents that sign CSRs with a MessageSigner).
 */
import {
  Tag,
  bitString,
  children,
  constructed,
  contextConstructed,
  readNode,
  readRoot,
  readSmallInteger,
  sequence,
  setOf,
  smallInteger,
  tlv,
  valueEquals,
} from './der';
import { CryptoError, isCryptoError } from './errors';
import { generalNames, extension, readGeneralNames, type SubjectAltNames } from './extensions';
import {
  callSigner,
  familyOf,
  importPublicKey,
  inspectPublicKey,
  readPublicKeyInfo,
  readSignedTail,
  signatureProfile,
  verifySignature,
  verifySignatureAsync,
  type HashAlgorithm,
  type MessageSigner,
  type PublicKeyInfo,
} from './keys';
import type { KeyObject } from 'node:crypto';
import { encodeName, type DistinguishedName } from './name';
import { OID } from './oids';
import { checkDnsName, parseSpiffeId } from './spiffe-id';

/** Largest CSR accepted, in octets (requests are bounded). */
export const MAX_CSR_SIZE = 16 * 1024;

/** A CSR whose proof-of-possession signature has been verified. */
export interface VerifiedCsr {
  /** The requested subject public key. */
  readonly publicKey: PublicKeyInfo;
  /** The requested subject Name, DER (informational: SVID subjects come from the template). */
  readonly subject: Buffer;
  /** URI SANs requested in the extensionRequest attribute. */
  readonly uris: readonly string[];
  /** DNS SANs requested in the extensionRequest attribute. */
  readonly dnsNames: readonly string[];
}

function malformed(message: string, cause?: unknown): CryptoError {
  return new CryptoError('CSR_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/** Finds the SAN extension inside an extensionRequest attribute value (RFC 2985 §5.4.2). */
function readRequestedSans(buf: Buffer, attrs: ReturnType<typeof children>): SubjectAltNames {
  let sans: SubjectAltNames = { uris: [], dnsNames: [], others: 0 };
  let seenRequest = false;
  for (const attr of attrs) {
    // Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE(1..MAX) OF ANY }
    const [type, values, extra] = children(buf, attr);
    if (attr.tag !== Tag.SEQUENCE || !type || type.tag !== Tag.OID || !values || extra) {
      throw malformed('bad CSR attribute');
    }
    if (values.tag !== Tag.SET) throw malformed('CSR attribute values must be a SET');
    if (!valueEquals(buf, type, OID.extensionRequest)) continue;
    if (seenRequest) throw malformed('more than one extensionRequest attribute');
    seenRequest = true;
    const [extensions, extraValue] = children(buf, values);
    if (!extensions || extraValue || extensions.tag !== Tag.SEQUENCE) {
      throw malformed('extensionRequest must hold one Extensions value');
    }
    let seenSan = false;
    for (const ext of children(buf, extensions)) {
      const fields = children(buf, ext);
      const id = fields[0];
      const value = fields[fields.length - 1];
      if (ext.tag !== Tag.SEQUENCE || !id || id.tag !== Tag.OID || !value || fields.length > 3) {
        throw malformed('bad requested extension');
      }
      if (!valueEquals(buf, id, OID.subjectAltName)) continue;
      if (seenSan) throw malformed('subjectAltName requested twice');
      seenSan = true;
      if (value.tag !== Tag.OCTET_STRING) throw malformed('bad requested subjectAltName');
      const inner = readNode(buf, value.valueStart, value.end);
      if (inner.end !== value.end) throw malformed('trailing octets in subjectAltName');
      sans = readGeneralNames(buf, inner);
    }
  }
  return sans;
}

/**
 * Parses a DER PKCS#10 CSR (RFC 2986 §4) and verifies its signature with its own key:
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER v1(0), subject Name,
 *     subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
 * Errors: CSR_MALFORMED, CSR_BAD_SIGNATURE, UNSUPPORTED_KEY_TYPE, INVALID_PUBLIC_KEY,
 * UNSUPPORTED_SIGNATURE_ALGORITHM.
 */
/** A CSR read and checked for shape, its proof of possession not yet verified. */
interface ReadCsr {
  readonly csr: VerifiedCsr;
  readonly key: KeyObject;
  readonly hash: HashAlgorithm;
  readonly signed: Buffer;
  readonly signature: Buffer;
}

function readCsr(input: Uint8Array): ReadCsr {
  if (input.length > MAX_CSR_SIZE) throw malformed(`CSR larger than ${MAX_CSR_SIZE} octets`);
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input);
  let info: ReturnType<typeof readRoot>;
  let publicKey: PublicKeyInfo;
  let subject: Buffer;
  let sans: SubjectAltNames;
  let tail: ReturnType<typeof readSignedTail>;
  try {
    const root = readRoot(buf, Tag.SEQUENCE);
    const [infoNode, algNode, sigNode, extra] = children(buf, root);
    if (!infoNode || !algNode || !sigNode || extra || infoNode.tag !== Tag.SEQUENCE) {
      throw malformed('CertificationRequest must have exactly three fields');
    }
    info = infoNode;
    const [version, subjectNode, spkiNode, attrs, extraField] = children(buf, infoNode);
    if (!version || !subjectNode || !spkiNode || !attrs || extraField) {
      throw malformed('CertificationRequestInfo must have four fields');
    }
    if (readSmallInteger(buf, version) !== 0) throw malformed('CSR version must be v1 (0)');
    if (subjectNode.tag !== Tag.SEQUENCE) throw malformed('CSR subject must be a Name');
    if (attrs.tag !== contextConstructed(0)) throw malformed('CSR attributes must be [0]');
    subject = Buffer.from(buf.subarray(subjectNode.start, subjectNode.end));
    publicKey = readPublicKeyInfo(buf, spkiNode);
    sans = readRequestedSans(buf, children(buf, attrs));
    // After the key, so an unsupported key is reported as such rather than as its algorithm.
    tail = readSignedTail(buf, algNode, sigNode);
  } catch (err) {
    if (
      isCryptoError(err, 'UNSUPPORTED_KEY_TYPE') ||
      isCryptoError(err, 'INVALID_PUBLIC_KEY') ||
      isCryptoError(err, 'UNSUPPORTED_SIGNATURE_ALGORITHM') ||
      isCryptoError(err, 'CSR_MALFORMED')
    ) {
      throw err;
    }
    throw malformed('malformed PKCS#10 CSR', err);
  }
  if (tail.algorithm.family !== familyOf(publicKey.keyType)) {
    throw new CryptoError('CSR_BAD_SIGNATURE', 'CSR signature algorithm does not fit its key');
  }
  return {
    csr: { publicKey, subject, uris: sans.uris, dnsNames: sans.dnsNames },
    key: importPublicKey(publicKey),
    hash: tail.algorithm.hash,
    signed: buf.subarray(info.start, info.end),
    signature: tail.signature,
  };
}

function badSignature(): CryptoError {
  return new CryptoError('CSR_BAD_SIGNATURE', 'CSR signature does not verify with its public key');
}

export function parseCsr(input: Uint8Array): VerifiedCsr {
  const read = readCsr(input);
  if (!verifySignature(read.hash, read.signed, read.key, read.signature)) throw badSignature();
  return read.csr;
}

/** parseCsr with the proof-of-possession check on the thread pool (used on the minting path). */
export async function parseCsrAsync(input: Uint8Array): Promise<VerifiedCsr> {
  const read = readCsr(input);
  if (!(await verifySignatureAsync(read.hash, read.signed, read.key, read.signature))) throw badSignature();
  return read.csr;
}

/** What to put in a CSR built by buildCsr. */
export interface CsrRequest {
  /** The public key (SubjectPublicKeyInfo DER) whose private key the signer holds. */
  readonly publicKey: Uint8Array;
  /** Optional requested SPIFFE ID (URI SAN). */
  readonly spiffeId?: string;
  /** Optional requested DNS names. */
  readonly dnsNames?: readonly string[];
  /** Optional subject; default is the empty Name. */
  readonly subject?: DistinguishedName;
}

/**
 * Builds and signs a PKCS#10 CSR (RFC 2986 §4) for an EC P-256/P-384 or RSA-2048 key, with the
 * SANs in an extensionRequest attribute (RFC 2985 §5.4.2).
 */
export async function buildCsr(request: CsrRequest, signer: MessageSigner): Promise<Buffer> {
  const key = inspectPublicKey(request.publicKey);
  const profile = signatureProfile(key.keyType);
  const uris = request.spiffeId === undefined ? [] : [request.spiffeId];
  for (const u of uris) parseSpiffeId(u);
  const dnsNames = (request.dnsNames ?? []).map(checkDnsName);
  const attributes: Buffer[] = [];
  if (uris.length + dnsNames.length > 0) {
    const extensions = sequence(extension(OID.subjectAltName, false, generalNames(uris, dnsNames)));
    attributes.push(sequence(tlv(Tag.OID, OID.extensionRequest), setOf(extensions)));
  }
  const info = sequence(
    smallInteger(0),
    encodeName(request.subject ?? {}),
    key.spki,
    constructed(contextConstructed(0), attributes),
  );
  const signature = await callSigner(signer, profile, info);
  return sequence(info, profile.algorithmIdentifier, bitString(signature));
}
