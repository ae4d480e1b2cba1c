/**
 * Encoders for the certificate extensions TrustPlane issues (RFC 5280 §4.2.1), and the
 * GeneralNames reader shared by certificates and CSRs.
 */
import {
  Tag,
  boolean,
  children,
  contextPrimitive,
  namedBitString,
  octetString,
  sequence,
  smallInteger,
  tlv,
  type DerNode,
} from './der';
import { CryptoError } from './errors';
import { KeyUsageBit, OID } from './oids';

/**
 * Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * (RFC 5280 §4.1). DER omits `critical` when FALSE (X.690 §11.5).
 */
export function extension(oidValue: Buffer, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? sequence(tlv(Tag.OID, oidValue), boolean(true), octetString(value))
    : sequence(tlv(Tag.OID, oidValue), octetString(value));
}

/**
 * BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
 * (RFC 5280 §4.2.1.9). Always marked critical here.
 */
export function basicConstraintsExt(ca: boolean, pathLen?: number): Buffer {
  const parts: Buffer[] = [];
  if (ca) parts.push(boolean(true));
  if (ca && pathLen !== undefined) parts.push(smallInteger(pathLen));
  return extension(OID.basicConstraints, true, sequence(...parts));
}

/** KeyUsage ::= BIT STRING (RFC 5280 §4.2.1.3), critical. */
export function keyUsageExt(bits: readonly number[]): Buffer {
  return extension(OID.keyUsage, true, namedBitString(bits));
}

/** Key usage of an X.509-SVID (SPIFFE X509-SVID §4.3): digitalSignature, keyEncipherment, keyAgreement. */
export const SVID_KEY_USAGE: readonly number[] = [
  KeyUsageBit.digitalSignature,
  KeyUsageBit.keyEncipherment,
  KeyUsageBit.keyAgreement,
];

/** Key usage of a signing (CA) certificate: keyCertSign, cRLSign. */
export const CA_KEY_USAGE: readonly number[] = [KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign];

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (RFC 5280 §4.2.1.12), non-critical. */
export function extKeyUsageExt(purposes: readonly Buffer[]): Buffer {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map((p) => tlv(Tag.OID, p))));
}

/** SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING) (RFC 5280 §4.2.1.2), non-critical. */
export function subjectKeyIdExt(keyId: Uint8Array): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

/**
 * AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL, ... }
 * (RFC 5280 §4.2.1.1), non-critical; only the key identifier is used.
 */
export function authorityKeyIdExt(keyId: Uint8Array): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(tlv(contextPrimitive(0), keyId)));
}

/**
 * GeneralNames with uniformResourceIdentifier [6] IA5String and dNSName [2] IA5String entries
 * (RFC 5280 §4.2.1.6), URIs first.
 */
export function generalNames(uris: readonly string[], dnsNames: readonly string[]): Buffer {
  return sequence(
    ...uris.map((u) => tlv(contextPrimitive(6), Buffer.from(u, 'latin1'))),
    ...dnsNames.map((d) => tlv(contextPrimitive(2), Buffer.from(d, 'latin1'))),
  );
}

/** SubjectAltName extension (RFC 5280 §4.2.1.6), non-critical (the subject is not empty). */
export function subjectAltNameExt(uris: readonly string[], dnsNames: readonly string[]): Buffer {
  return extension(OID.subjectAltName, false, generalNames(uris, dnsNames));
}

/** The SAN entries this library understands, plus a count of the others. */
export interface SubjectAltNames {
  /** uniformResourceIdentifier entries. */
  readonly uris: string[];
  /** dNSName entries. */
  readonly dnsNames: string[];
  /** Number of other GeneralName entries (IP addresses, otherName, ...). */
  readonly others: number;
}

function ia5(buf: Buffer, node: DerNode): string {
  for (let i = node.valueStart; i < node.end; i++) {
    if (buf[i]! > 0x7e || buf[i]! < 0x20) {
      throw new CryptoError('DER_MALFORMED', 'IA5String with a non-printable character');
    }
  }
  return buf.toString('latin1', node.valueStart, node.end);
}

/** Reads GeneralNames (RFC 5280 §4.2.1.6) from the SAN extnValue content. */
export function readGeneralNames(buf: Buffer, node: DerNode): SubjectAltNames {
  if (node.tag !== Tag.SEQUENCE) throw new CryptoError('DER_MALFORMED', 'GeneralNames');
  const uris: string[] = [];
  const dnsNames: string[] = [];
  let others = 0;
  const items = children(buf, node);
  if (items.length === 0) throw new CryptoError('DER_MALFORMED', 'empty GeneralNames');
  for (const item of items) {
    if (item.tag === contextPrimitive(6)) uris.push(ia5(buf, item));
    else if (item.tag === contextPrimitive(2)) dnsNames.push(ia5(buf, item));
    else others++;
  }
  return { uris, dnsNames, others };
}
