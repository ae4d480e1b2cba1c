/**
 * X.501 Name encoding for the few attributes TrustPlane puts in subjects (RFC 5280 §4.1.2.4,
 * §4.1.2.6; attribute types from RFC 5280 Appendix A.1 / X.520).
 */
import { Tag, sequence, setOf, stringOf, tlv } from './der';
import { CryptoError } from './errors';
import { OID } from './oids';

/** The subject attributes TrustPlane uses; each becomes one RDN, in the order listed here. */
export interface DistinguishedName {
  /** countryName (C): two letters, PrintableString (X.520). */
  readonly country?: string;
  /** organizationName (O), UTF8String. */
  readonly organization?: string;
  /** organizationalUnitName (OU), UTF8String. */
  readonly organizationalUnit?: string;
  /** commonName (CN), UTF8String, ≤ 64 characters (RFC 5280 ub-common-name). */
  readonly commonName?: string;
  /** serialNumber attribute, PrintableString, ≤ 64 characters. */
  readonly serialNumber?: string;
}

// RFC 5280 Appendix A.1 upper bounds.
const UB = { organization: 64, organizationalUnit: 64, commonName: 64, serialNumber: 64 };
const PRINTABLE_RE = /^[A-Za-z0-9 '()+,\-./:=?]+$/;

function attribute(type: Buffer, stringTag: number, value: string): Buffer {
  // AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY } — one per RDN (a SET of one).
  return setOf(sequence(tlv(Tag.OID, type), stringOf(stringTag, value)));
}

function checkText(field: string, value: string, max: number, printable: boolean): void {
  const length = [...value].length;
  if (length === 0 || length > max || (printable && !PRINTABLE_RE.test(value))) {
    throw new CryptoError('INVALID_NAME', `subject ${field} is empty, too long or not encodable`);
  }
}

/** DER Name (RDNSequence) for `dn`. An empty object gives the empty Name. */
export function encodeName(dn: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  if (dn.country !== undefined) {
    if (!/^[A-Z]{2}$/.test(dn.country)) {
      throw new CryptoError('INVALID_NAME', 'country must be two upper-case letters');
    }
    rdns.push(attribute(OID.countryName, Tag.PRINTABLE_STRING, dn.country));
  }
  if (dn.organization !== undefined) {
    checkText('organization', dn.organization, UB.organization, false);
    rdns.push(attribute(OID.organizationName, Tag.UTF8_STRING, dn.organization));
  }
  if (dn.organizationalUnit !== undefined) {
    checkText('organizationalUnit', dn.organizationalUnit, UB.organizationalUnit, false);
    rdns.push(attribute(OID.organizationalUnitName, Tag.UTF8_STRING, dn.organizationalUnit));
  }
  if (dn.commonName !== undefined) {
    checkText('commonName', dn.commonName, UB.commonName, false);
    rdns.push(attribute(OID.commonName, Tag.UTF8_STRING, dn.commonName));
  }
  if (dn.serialNumber !== undefined) {
    checkText('serialNumber', dn.serialNumber, UB.serialNumber, true);
    rdns.push(attribute(OID.serialNumber, Tag.PRINTABLE_STRING, dn.serialNumber));
  }
  return sequence(...rdns);
}
