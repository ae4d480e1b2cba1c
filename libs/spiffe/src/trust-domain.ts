import type { CharError, LimitError, PlainError, PositionedError } from './errors.js';
import { err, ok, type Result } from './result.js';
import {
  codePointAt,
  describeChar,
  isDigit,
  isLowerAlpha,
  isUpperAlpha,
  utf8ByteLength,
} from './text.js';

declare const trustDomainBrand: unique symbol;

/**
 * A trust domain name that passed {@link parseTrustDomain}: lowercase `[a-z0-9._-]`, 1..255 bytes.
 * Branded so that only this package's parsers can produce one; it is still a plain string at run
 * time (JSON, Map keys, `===` all work).
 */
export type TrustDomain = string & { readonly [trustDomainBrand]: true };

/** Maximum length of a trust domain name in bytes (SPIFFE-ID §2.3, from RFC 3986's host limit). */
export const MAX_TRUST_DOMAIN_BYTES = 255;

/**
 * Why a string is not a trust domain name. When several rules fail, structural problems win
 * (empty, too long, scheme, path, userinfo, port, percent-encoding, in that order), then the
 * left-most bad character.
 */
export type TrustDomainError =
  /** The name is the empty string (SPIFFE-ID §2.1: the host MUST NOT be empty). */
  | PlainError<'TRUST_DOMAIN_EMPTY'>
  /** The name is longer than {@link MAX_TRUST_DOMAIN_BYTES} bytes. */
  | LimitError<'TRUST_DOMAIN_TOO_LONG'>
  /** A URI scheme (`xxx://`) was given where a bare name is expected; `index` points at `://`. */
  | PositionedError<'TRUST_DOMAIN_HAS_SCHEME'>
  /** A `/` (path) follows the name; `index` points at it. */
  | PositionedError<'TRUST_DOMAIN_HAS_PATH'>
  /** A userinfo part (`user@`) is present; `index` points at `@` (SPIFFE-ID §2.1). */
  | PositionedError<'TRUST_DOMAIN_HAS_USERINFO'>
  /** A port or the `:` delimiter is present; `index` points at `:` (SPIFFE-ID §2.1). */
  | PositionedError<'TRUST_DOMAIN_HAS_PORT'>
  /** A `%` (percent-encoding) is present; `index` points at it (SPIFFE-ID §2.1). */
  | PositionedError<'TRUST_DOMAIN_PERCENT_ENCODED'>
  /** An uppercase ASCII letter: trust domain names MUST be lowercase (SPIFFE-ID §2.1). */
  | CharError<'TRUST_DOMAIN_UPPERCASE'>
  /** Any other character outside `[a-z0-9._-]`. */
  | CharError<'TRUST_DOMAIN_INVALID_CHAR'>;

/** The stable code of a {@link TrustDomainError}. */
export type TrustDomainErrorCode = TrustDomainError['code'];

/**
 * Parses a bare trust domain name such as `example.org` (not `spiffe://example.org`; for that form
 * use `parseTrustDomainKey`). No normalization: uppercase input is rejected, not lowercased.
 */
export function parseTrustDomain(input: string): Result<TrustDomain, TrustDomainError> {
  const error = checkTrustDomain(input, 0);
  return error === undefined ? ok(input as TrustDomain) : err(error);
}

/** True when `input` is a valid trust domain name. */
export function isTrustDomain(input: string): input is TrustDomain {
  return checkTrustDomain(input, 0) === undefined;
}

/**
 * Checks `name` against the trust domain rules. `offset` is added to every reported index, so a
 * caller checking the authority of a larger string reports positions in that string.
 * @internal
 */
export function checkTrustDomain(name: string, offset: number): TrustDomainError | undefined {
  if (name.length === 0) {
    return { code: 'TRUST_DOMAIN_EMPTY', message: 'trust domain name must not be empty' };
  }
  const bytes = utf8ByteLength(name);
  if (bytes > MAX_TRUST_DOMAIN_BYTES) {
    return {
      code: 'TRUST_DOMAIN_TOO_LONG',
      message: `trust domain name is ${bytes} bytes; the maximum is ${MAX_TRUST_DOMAIN_BYTES}`,
      max: MAX_TRUST_DOMAIN_BYTES,
      actual: bytes,
    };
  }
  const scheme = name.indexOf('://');
  if (scheme >= 0) {
    return {
      code: 'TRUST_DOMAIN_HAS_SCHEME',
      message: `trust domain name must not include a scheme (found "://" at ${offset + scheme}); give the bare name, e.g. "example.org"`,
      index: offset + scheme,
    };
  }
  const structural =
    structuralError(name, offset, '/', 'TRUST_DOMAIN_HAS_PATH', 'must not include a path') ??
    structuralError(
      name,
      offset,
      '@',
      'TRUST_DOMAIN_HAS_USERINFO',
      'must not include userinfo ("user@")',
    ) ??
    structuralError(name, offset, ':', 'TRUST_DOMAIN_HAS_PORT', 'must not include a port or ":"') ??
    structuralError(
      name,
      offset,
      '%',
      'TRUST_DOMAIN_PERCENT_ENCODED',
      'must not include percent-encoded characters',
    );
  if (structural !== undefined) return structural;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isLowerAlpha(c) || isDigit(c) || c === 0x2e || c === 0x2d || c === 0x5f) continue;
    const char = codePointAt(name, i);
    if (isUpperAlpha(c)) {
      return {
        code: 'TRUST_DOMAIN_UPPERCASE',
        message: `trust domain name must be lowercase: ${describeChar(char)} at ${offset + i}`,
        char,
        index: offset + i,
      };
    }
    return {
      code: 'TRUST_DOMAIN_INVALID_CHAR',
      message: `trust domain name may contain only a-z, 0-9, ".", "-" and "_": ${describeChar(char)} at ${offset + i}`,
      char,
      index: offset + i,
    };
  }
  return undefined;
}

/** A positioned error for the first `ch` in `name`, or undefined when `ch` does not occur. */
function structuralError<
  C extends
    | 'TRUST_DOMAIN_HAS_PATH'
    | 'TRUST_DOMAIN_HAS_USERINFO'
    | 'TRUST_DOMAIN_HAS_PORT'
    | 'TRUST_DOMAIN_PERCENT_ENCODED',
>(name: string, offset: number, ch: string, code: C, rule: string): PositionedError<C> | undefined {
  const at = name.indexOf(ch);
  if (at < 0) return undefined;
  return {
    code,
    message: `trust domain name ${rule} (found ${JSON.stringify(ch)} at ${offset + at})`,
    index: offset + at,
  };
}
