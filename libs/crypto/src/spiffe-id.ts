/**
 * The SPIFFE ID and trust-domain rules this library enforces before it signs anything
 * (SPIFFE-ID specification §2: scheme, trust domain, path; §2.3 maximum length), plus DNS
 * name checks for SAN dNSName entries (RFC 5280 §4.2.1.6, RFC 1123 §2.1 host names).
 */
import { isDnsName } from '@trustplane/spiffe';
import { CryptoError } from './errors';

/** A SPIFFE ID split into its parts. */
export interface SpiffeIdParts {
  /** The trust domain name, e.g. `example.org`. */
  readonly trustDomain: string;
  /** The path including its leading `/`, or `''` for the trust domain's own ID. */
  readonly path: string;
}

const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;

/** Checks a trust domain name (SPIFFE-ID §2.1: lowercase letters, digits, `.`, `-`, `_`). */
export function checkTrustDomain(trustDomain: string): string {
  if (trustDomain.length === 0 || trustDomain.length > 255 || !TRUST_DOMAIN_RE.test(trustDomain)) {
    throw new CryptoError(
      'INVALID_TRUST_DOMAIN',
      `invalid trust domain: ${JSON.stringify(trustDomain)}`,
    );
  }
  return trustDomain;
}

/**
 * Parses a SPIFFE ID: `spiffe://<trust domain><path>`; the path has no empty, `.` or `..`
 * segments and no trailing slash (§2.2); no query, fragment, port or user info; ≤ 2048 octets.
 */
export function parseSpiffeId(id: string): SpiffeIdParts {
  const bad = (why: string): CryptoError =>
    new CryptoError('INVALID_SPIFFE_ID', `invalid SPIFFE ID ${JSON.stringify(id)}: ${why}`);
  if (typeof id !== 'string' || id.length > 2048) throw bad('too long or not a string');
  if (!id.startsWith('spiffe://')) throw bad('scheme must be spiffe://');
  // One pass over the characters (this runs twice per mint: request check and output check).
  const n = id.length;
  let i = 9;
  for (; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c === 0x2f) break; // '/'
    if (!isTrustDomainChar(c)) throw bad('bad trust domain character');
  }
  if (i === 9 || i - 9 > 255) throw bad('bad trust domain length');
  const pathStart = i;
  while (i < n) {
    // at a '/': read one segment
    const segStart = ++i;
    let dots = 0;
    for (; i < n; i++) {
      const c = id.charCodeAt(i);
      if (c === 0x2f) break;
      if (c === 0x2e) dots++;
      else if (!isPathChar(c)) throw bad('bad character in path');
    }
    const len = i - segStart;
    if (len === 0) throw bad('empty path segment or trailing slash');
    if (dots === len && len <= 2) throw bad('dot segment');
  }
  return { trustDomain: id.slice(9, pathStart), path: id.slice(pathStart) };
}

/** SPIFFE-ID §2.1 trust domain characters: a-z 0-9 . - _ */
function isTrustDomainChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f
  );
}

/** SPIFFE-ID §2.2 path characters (besides '.' handled by the caller): A-Z a-z 0-9 - _ */
function isPathChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x5f
  );
}

/** Parses `id` and requires it to belong to `trustDomain`. */
export function requireInTrustDomain(id: string, trustDomain: string): SpiffeIdParts {
  const parts = parseSpiffeId(id);
  if (parts.trustDomain !== trustDomain) {
    throw new CryptoError(
      'SPIFFE_ID_NOT_IN_TRUST_DOMAIN',
      `${id} is not in trust domain ${trustDomain}`,
    );
  }
  return parts;
}

/**
 * Checks a dNSName SAN with the project's one DNS-name rule (`@trustplane/spiffe` parseDnsName:
 * RFC 1123 host names, a left-most `*` with at least two labels under it, no IP literals), the
 * rule the registry validates entries with; returns the name unchanged.
 */
export function checkDnsName(name: string): string {
  if (typeof name !== 'string' || !isDnsName(name)) {
    throw new CryptoError('INVALID_DNS_NAME', `invalid DNS name: ${JSON.stringify(name)}`);
  }
  return name;
}
