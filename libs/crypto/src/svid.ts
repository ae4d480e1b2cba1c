/**
 * X.509-SVID minting from a precomputed DER template (SPIFFE X509-SVID §4, RFC 5280 §4.1).
 *
 * Per issuing CA the template holds the TBSCertificate pieces that never change: version,
 * signature algorithm, issuer, subject and the fixed extensions (basicConstraints cA=false,
 * keyUsage, extKeyUsage, authorityKeyIdentifier). Per request only the serial, validity,
 * subject key, subjectKeyIdentifier and subjectAltName are encoded, and the TBS is written into
 * one buffer with no intermediate tree. Then: sign (MessageSigner) → assemble → validate.
 */
import { parseCertificate } from './certificate';
import { parseCsrAsync } from './csr';
import {
  Tag,
  contextConstructed,
  contextPrimitive,
  explicit,
  lengthSize,
  smallInteger,
  tlvSize,
  writeHeader,
} from './der';
import { CryptoError, isCryptoError } from './errors';
import {
  SVID_KEY_USAGE,
  authorityKeyIdExt,
  basicConstraintsExt,
  extKeyUsageExt,
  keyUsageExt,
  subjectKeyIdExt,
} from './extensions';
import {
  callSigner,
  inspectPublicKey,
  signatureProfile,
  subjectKeyIdOf,
  type MessageSigner,
  type PublicKeyInfo,
  type SignatureProfile,
} from './keys';
import { encodeName, type DistinguishedName } from './name';
import { OID } from './oids';
import { checkDnsName, requireInTrustDomain } from './spiffe-id';
import { checkX509Svid, type X509Authority } from './validate';
import { epochSeconds, serialFromRandom } from './ca';

/** 2050-01-01T00:00:00Z: from here on RFC 5280 §4.1.2.5 requires GeneralizedTime. */
const UTC_TIME_LIMIT = Date.UTC(2050, 0, 1) / 1000;
/** 1950-01-01T00:00:00Z: the first instant UTCTime can express. */
const UTC_TIME_FIRST = Date.UTC(1950, 0, 1) / 1000;

/** Default and ceiling values of the SVID profile. */
export const SVID_DEFAULTS = {
  /** NotBefore is backdated by this many seconds to absorb clock skew. */
  backdateSeconds: 10,
  /** Default maximum X.509-SVID lifetime (14 days); SVIDs are also capped at the CA notAfter. */
  maxTtlSeconds: 14 * 24 * 3600,
  /** Default maximum number of DNS SANs per SVID. */
  maxDnsNames: 32,
} as const;

/** How to build the per-CA template. */
export interface X509SvidTemplateOptions {
  /** The issuing CA (from buildCaCertificate or validateCaCertificate). */
  readonly authority: X509Authority;
  /** Certificates above the CA to append to every chain (upstream intermediates), DER. */
  readonly upstreamChain?: readonly Uint8Array[];
  /** Fixed subject of every SVID; default `O=TrustPlane`. */
  readonly subject?: DistinguishedName;
  /** Largest TTL a request may ask for (seconds); default SVID_DEFAULTS.maxTtlSeconds. */
  readonly maxTtlSeconds?: number;
  /** Largest number of DNS SANs; default SVID_DEFAULTS.maxDnsNames. */
  readonly maxDnsNames?: number;
}

/** The precomputed, per-CA X.509-SVID template. Opaque apart from these fields. */
export interface X509SvidTemplate {
  /** The issuing CA. */
  readonly authority: X509Authority;
  /** The chain after the leaf: the CA first, then upstream certificates. */
  readonly chain: readonly Buffer[];
  /** Largest TTL a request may ask for (seconds). */
  readonly maxTtlSeconds: number;
  /** Largest number of DNS SANs. */
  readonly maxDnsNames: number;
}

/** The precomputed DER pieces of a template (kept out of the public type). */
interface TemplateParts {
  readonly profile: SignatureProfile;
  /** `[0] EXPLICIT INTEGER 2` — version v3 (RFC 5280 §4.1.2.1). */
  readonly version: Buffer;
  /** signature AlgorithmIdentifier ‖ issuer Name (RFC 5280 §4.1.2.3–4). */
  readonly algorithmAndIssuer: Buffer;
  /** subject Name (RFC 5280 §4.1.2.6). */
  readonly subject: Buffer;
  /** basicConstraints ‖ keyUsage ‖ extKeyUsage ‖ authorityKeyIdentifier (RFC 5280 §4.2.1). */
  readonly fixedExtensions: Buffer;
}

const PARTS = new WeakMap<X509SvidTemplate, TemplateParts>();

function partsOf(template: X509SvidTemplate): TemplateParts {
  const parts = PARTS.get(template);
  if (!parts) throw new TypeError('not a template made by createX509SvidTemplate');
  return parts;
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new CryptoError('INVALID_OPTIONS', `${what} must be a positive integer`);
  }
  return v;
}

/** Builds the per-CA template once (cheap; do it when a CA is activated). */
export function createX509SvidTemplate(options: X509SvidTemplateOptions): X509SvidTemplate {
  const ca = options.authority;
  const profile = signatureProfile(ca.keyType);
  const template: X509SvidTemplate = Object.freeze({
    authority: ca,
    chain: Object.freeze([
      ca.certificate,
      ...(options.upstreamChain ?? []).map((c) => Buffer.from(c)),
    ]),
    maxTtlSeconds: positiveInt(options.maxTtlSeconds, SVID_DEFAULTS.maxTtlSeconds, 'maxTtlSeconds'),
    maxDnsNames: positiveInt(options.maxDnsNames, SVID_DEFAULTS.maxDnsNames, 'maxDnsNames'),
  });
  PARTS.set(template, {
    profile,
    version: explicit(0, smallInteger(2)),
    algorithmAndIssuer: Buffer.concat([profile.algorithmIdentifier, ca.subject]),
    subject: encodeName(options.subject ?? { organization: 'TrustPlane' }),
    fixedExtensions: Buffer.concat([
      basicConstraintsExt(false),
      keyUsageExt(SVID_KEY_USAGE),
      extKeyUsageExt([OID.serverAuth, OID.clientAuth]),
      authorityKeyIdExt(ca.subjectKeyId),
    ]),
  });
  return template;
}

/** One X.509-SVID request; the subject key comes as SPKI DER. */
export interface X509SvidRequest {
  /** The SPIFFE ID (the only URI SAN); must be in the CA's trust domain. */
  readonly spiffeId: string;
  /** Subject public key, SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  /** Optional DNS SANs. */
  readonly dnsNames?: readonly string[];
  /** Requested lifetime in seconds (capped at the CA notAfter; refused above maxTtlSeconds). */
  readonly ttlSeconds: number;
  /** Issuance time (injected clock). */
  readonly now: Date;
}

/** One X.509-SVID request whose key comes from a PKCS#10 CSR (proof of possession checked). */
export interface X509SvidCsrRequest {
  /** The authorized SPIFFE ID (from the registration entry); the CSR may request only this one. */
  readonly spiffeId: string;
  /** The CSR, DER. */
  readonly csr: Uint8Array;
  /** Authorized DNS SANs; DNS names requested in the CSR must be among them. */
  readonly dnsNames?: readonly string[];
  /** Requested lifetime in seconds. */
  readonly ttlSeconds: number;
  /** Issuance time (injected clock). */
  readonly now: Date;
}

/** What minting needs besides the request: the CA key's signer and a random source. */
export interface MintDependencies {
  /** Signs with the CA key (through the KeyManager). */
  readonly signer: MessageSigner;
  /** Returns `size` random octets (crypto.randomBytes in production; fixed in tests). */
  readonly randomBytes: (size: number) => Uint8Array;
  /**
   * Whether the validator also checks the CA signature of this output (default true). Every
   * output is always validated field by field; a caller whose KeyManager is trusted may sample
   * the (costlier) signature check instead of running it on every certificate.
   */
  readonly verifySignature?: boolean;
}

/** A minted, validated X.509-SVID. */
export interface X509Svid {
  /** The SPIFFE ID. */
  readonly spiffeId: string;
  /** Leaf certificate, DER. */
  readonly certificate: Buffer;
  /** Leaf first, then the CA and upstream certificates (DER). */
  readonly chain: readonly Buffer[];
  /** Serial number, lowercase hex. */
  readonly serialNumber: string;
  /** notBefore (now − backdate). */
  readonly notBefore: Date;
  /** notAfter (now + ttl, capped at the CA notAfter). */
  readonly notAfter: Date;
  /** subjectKeyIdentifier (SHA-1 of the subject key). */
  readonly subjectKeyId: Buffer;
  /** DNS SANs. */
  readonly dnsNames: readonly string[];
}

interface PreparedRequest {
  readonly spiffeId: string;
  readonly key: PublicKeyInfo;
  readonly dnsNames: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
}

/** All request checks; runs before the signer is called. */
function prepare(
  template: X509SvidTemplate,
  spiffeId: string,
  dnsNamesIn: readonly string[] | undefined,
  ttlSeconds: number,
  now: Date,
  key: PublicKeyInfo,
): PreparedRequest {
  requireInTrustDomain(spiffeId, template.authority.trustDomain);
  const dnsNames = dnsNamesIn ?? [];
  if (dnsNames.length > template.maxDnsNames) {
    throw new CryptoError('TOO_MANY_DNS_NAMES', `at most ${template.maxDnsNames} DNS names`);
  }
  for (let i = 0; i < dnsNames.length; i++) {
    checkDnsName(dnsNames[i]!);
    if (dnsNames.indexOf(dnsNames[i]!) !== i) {
      throw new CryptoError('INVALID_DNS_NAME', `duplicate DNS name ${dnsNames[i]}`);
    }
  }
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new CryptoError('INVALID_TTL', 'ttlSeconds must be a positive integer');
  }
  if (ttlSeconds > template.maxTtlSeconds) {
    throw new CryptoError('TTL_TOO_LONG', `ttl ${ttlSeconds}s exceeds ${template.maxTtlSeconds}s`);
  }
  const t = epochSeconds(now, 'now');
  const caNotBefore = template.authority.notBefore.getTime() / 1000;
  const caNotAfter = template.authority.notAfter.getTime() / 1000;
  if (t < caNotBefore || t >= caNotAfter) {
    throw new CryptoError('CA_NOT_VALID_AT_TIME', 'the issuing CA is not valid at this time');
  }
  const notBefore = t - SVID_DEFAULTS.backdateSeconds;
  // RFC 5280 §4.1.2.5: UTCTime cannot express years before 1950.
  if (notBefore < UTC_TIME_FIRST) {
    throw new CryptoError('INVALID_VALIDITY', 'notBefore before 1950 is not encodable');
  }
  return {
    spiffeId,
    key,
    dnsNames,
    notBefore,
    // The SVID never outlives its CA (cap, not an error).
    notAfter: Math.min(t + ttlSeconds, caNotAfter),
  };
}

/** Octets of an encoded Time TLV (RFC 5280 §4.1.2.5): UTCTime before 2050, else GeneralizedTime. */
function timeSize(epochSeconds: number): number {
  return epochSeconds < UTC_TIME_LIMIT ? 15 : 17;
}

function write2(out: Buffer, at: number, v: number): number {
  out[at] = 0x30 + ((v / 10) | 0);
  out[at + 1] = 0x30 + (v % 10);
  return at + 2;
}

/** Writes a Time TLV without intermediate strings (same encoding as der.time). */
function writeTime(out: Buffer, at: number, epochSeconds: number): number {
  const d = new Date(epochSeconds * 1000);
  const year = d.getUTCFullYear();
  if (epochSeconds < UTC_TIME_LIMIT) {
    out[at++] = Tag.UTC_TIME;
    out[at++] = 13;
    at = write2(out, at, year % 100);
  } else {
    out[at++] = Tag.GENERALIZED_TIME;
    out[at++] = 15;
    at = write2(out, at, (year / 100) | 0);
    at = write2(out, at, year % 100);
  }
  at = write2(out, at, d.getUTCMonth() + 1);
  at = write2(out, at, d.getUTCDate());
  at = write2(out, at, d.getUTCHours());
  at = write2(out, at, d.getUTCMinutes());
  at = write2(out, at, d.getUTCSeconds());
  out[at++] = 0x5a; // 'Z'
  return at;
}

/** subjectKeyIdentifier extension up to the 20 key-identifier octets (RFC 5280 §4.2.1.2). */
const SKID_EXT_PREFIX = subjectKeyIdExt(Buffer.alloc(20)).subarray(0, 11);

/** `extnID subjectAltName` TLV (RFC 5280 §4.2.1.6). */
const SAN_OID_TLV = Buffer.concat([
  Buffer.from([Tag.OID, OID.subjectAltName.length]),
  OID.subjectAltName,
]);

/**
 * Writes TBSCertificate (RFC 5280 §4.1) from the template and the per-request fields into one
 * buffer, sizes first, with no intermediate encodings:
 *   SEQUENCE { version, serial, (signature, issuer), validity, subject, spki, [3] { SEQUENCE {
 *     basicConstraints, keyUsage, extKeyUsage, authorityKeyIdentifier,   -- fixed, precomputed
 *     subjectKeyIdentifier, subjectAltName } } }                          -- per request
 * URIs and DNS names are ASCII (checked by prepare), so string length = octet length.
 */
function writeTbs(
  parts: TemplateParts,
  serial: Buffer,
  req: PreparedRequest,
  skid: Buffer,
): Buffer {
  if (skid.length !== 20) throw new Error('subjectKeyIdentifier must be 20 octets');
  // GeneralNames: [6] uri, [2] dns... (RFC 5280 §4.2.1.6)
  let namesLen = tlvSize(req.spiffeId.length);
  for (const d of req.dnsNames) namesLen += tlvSize(d.length);
  const sanValueLen = tlvSize(namesLen); // GeneralNames SEQUENCE
  const sanBodyLen = SAN_OID_TLV.length + tlvSize(sanValueLen); // extnID + OCTET STRING
  const sanExtLen = tlvSize(sanBodyLen);
  const extsLen = parts.fixedExtensions.length + SKID_EXT_PREFIX.length + 20 + sanExtLen;
  const extsSeqLen = tlvSize(extsLen);
  const validityLen = timeSize(req.notBefore) + timeSize(req.notAfter);
  const bodyLen =
    parts.version.length +
    tlvSize(serial.length) +
    parts.algorithmAndIssuer.length +
    tlvSize(validityLen) +
    parts.subject.length +
    req.key.spki.length +
    tlvSize(extsSeqLen);
  const out = Buffer.allocUnsafe(tlvSize(bodyLen));
  let at = writeHeader(out, 0, Tag.SEQUENCE, bodyLen);
  at += parts.version.copy(out, at);
  // serial: 16 octets, high bit clear and next bit set → minimal positive INTEGER, fixed size.
  at = writeHeader(out, at, Tag.INTEGER, serial.length);
  at += serial.copy(out, at);
  at += parts.algorithmAndIssuer.copy(out, at);
  at = writeHeader(out, at, Tag.SEQUENCE, validityLen);
  at = writeTime(out, at, req.notBefore);
  at = writeTime(out, at, req.notAfter);
  at += parts.subject.copy(out, at);
  at += req.key.spki.copy(out, at);
  at = writeHeader(out, at, contextConstructed(3), extsSeqLen);
  at = writeHeader(out, at, Tag.SEQUENCE, extsLen);
  at += parts.fixedExtensions.copy(out, at);
  at += SKID_EXT_PREFIX.copy(out, at);
  at += skid.copy(out, at);
  at = writeHeader(out, at, Tag.SEQUENCE, sanBodyLen);
  at += SAN_OID_TLV.copy(out, at);
  at = writeHeader(out, at, Tag.OCTET_STRING, sanValueLen);
  at = writeHeader(out, at, Tag.SEQUENCE, namesLen);
  at = writeHeader(out, at, contextPrimitive(6), req.spiffeId.length);
  at += out.write(req.spiffeId, at, 'latin1');
  for (const d of req.dnsNames) {
    at = writeHeader(out, at, contextPrimitive(2), d.length);
    at += out.write(d, at, 'latin1');
  }
  if (at !== out.length) throw new Error('TBS length accounting is wrong');
  return out;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } (RFC 5280 §4.1.1). */
function writeCertificate(profile: SignatureProfile, tbs: Buffer, signature: Buffer): Buffer {
  const alg = profile.algorithmIdentifier;
  const bitLen = signature.length + 1;
  const bodyLen = tbs.length + alg.length + 1 + lengthSize(bitLen) + bitLen;
  const out = Buffer.allocUnsafe(tlvSize(bodyLen));
  let at = writeHeader(out, 0, Tag.SEQUENCE, bodyLen);
  at += tbs.copy(out, at);
  at += alg.copy(out, at);
  at = writeHeader(out, at, Tag.BIT_STRING, bitLen);
  out[at++] = 0; // no unused bits
  signature.copy(out, at);
  return out;
}

/** Builds the TBS for a request without signing. Internal: for known-answer tests only. */
export function buildSvidTbs(
  template: X509SvidTemplate,
  request: X509SvidRequest,
  serialRandom: Uint8Array,
): Buffer {
  const key = inspectPublicKey(request.publicKey);
  const req = prepare(
    template,
    request.spiffeId,
    request.dnsNames,
    request.ttlSeconds,
    request.now,
    key,
  );
  return writeTbs(partsOf(template), serialFromRandom(serialRandom), req, subjectKeyIdOf(key));
}

async function issue(
  template: X509SvidTemplate,
  req: PreparedRequest,
  deps: MintDependencies,
  verifySignature: boolean,
): Promise<X509Svid> {
  const parts = partsOf(template);
  const serial = serialFromRandom(deps.randomBytes(16));
  const skid = subjectKeyIdOf(req.key);
  const tbs = writeTbs(parts, serial, req, skid);
  const signature = await callSigner(deps.signer, parts.profile, tbs);
  const der = writeCertificate(parts.profile, tbs, signature);
  let info;
  try {
    const cert = parseCertificate(der, req.key);
    info = checkX509Svid(
      cert,
      {
        authority: template.authority,
        spiffeId: req.spiffeId,
        dnsNames: req.dnsNames,
        publicKey: req.key.spki,
      },
      verifySignature,
      // Same key object → the SKID computed above is the SHA-1 of this exact key.
      cert.publicKey === req.key ? skid : undefined,
    );
  } catch (err) {
    if (isCryptoError(err, 'CERT_BAD_SIGNATURE')) {
      throw new CryptoError('SIGNER_FAILED', 'the SVID signature does not verify with the CA key', {
        cause: err,
      });
    }
    // Anything else means the builder produced something off-profile: an internal fault.
    throw new CryptoError('OUTPUT_VALIDATION_FAILED', 'the minted X.509-SVID failed validation', {
      cause: err,
    });
  }
  return {
    spiffeId: req.spiffeId,
    certificate: der,
    chain: [der, ...template.chain],
    serialNumber: info.serialNumber,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    subjectKeyId: info.subjectKeyId,
    dnsNames: info.dnsNames,
  };
}

/**
 * Mints an X.509-SVID for a subject key given as SPKI DER (the caller vouches for possession,
 * e.g. the key was generated by the caller). Template → sign → validate (incl. signature check).
 * Bad input throws before the signer is called.
 */
export async function mintX509Svid(
  template: X509SvidTemplate,
  request: X509SvidRequest,
  deps: MintDependencies,
): Promise<X509Svid> {
  const key = inspectPublicKey(request.publicKey);
  const req = prepare(
    template,
    request.spiffeId,
    request.dnsNames,
    request.ttlSeconds,
    request.now,
    key,
  );
  return issue(template, req, deps, deps.verifySignature ?? true);
}

/** Checks the SANs a CSR requests against what the caller is authorized for. */
function checkRequestedSans(
  spiffeId: string,
  allowedDns: readonly string[],
  uris: readonly string[],
  dnsNames: readonly string[],
): void {
  if (uris.length > 1)
    throw new CryptoError('TOO_MANY_URI_SANS', 'CSR requests more than one URI SAN');
  if (uris.length === 1 && uris[0] !== spiffeId) {
    throw new CryptoError(
      'CSR_SPIFFE_ID_MISMATCH',
      `CSR requests ${uris[0]}, authorized is ${spiffeId}`,
    );
  }
  for (const d of dnsNames) {
    if (!allowedDns.includes(d)) {
      throw new CryptoError('CSR_DNS_NAME_NOT_ALLOWED', `CSR requests DNS name ${d}`);
    }
  }
}

/**
 * Mints an X.509-SVID from a PKCS#10 CSR: verifies the CSR's proof of possession, checks its
 * requested SANs (at most one URI, equal to the authorized SPIFFE ID; DNS names among the
 * authorized ones), then template → sign → validate. The SVID carries the authorized SPIFFE ID
 * and DNS names. Bad input throws before the signer is called.
 */
export async function mintX509SvidFromCsr(
  template: X509SvidTemplate,
  request: X509SvidCsrRequest,
  deps: MintDependencies,
): Promise<X509Svid> {
  requireInTrustDomain(request.spiffeId, template.authority.trustDomain);
  const csr = await parseCsrAsync(request.csr);
  checkRequestedSans(request.spiffeId, request.dnsNames ?? [], csr.uris, csr.dnsNames);
  const req = prepare(
    template,
    request.spiffeId,
    request.dnsNames,
    request.ttlSeconds,
    request.now,
    csr.publicKey,
  );
  return issue(template, req, deps, deps.verifySignature ?? true);
}

