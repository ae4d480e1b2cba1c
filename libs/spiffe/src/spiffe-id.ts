import type { CharError, LimitError, PlainError, PositionedError } from './errors.js';
import { err, ok, type CodedError, type Result } from './result.js';
import {
  codePointAt,
  describeChar,
  isDigit,
  isLowerAlpha,
  isUpperAlpha,
  utf8ByteLength,
} from './text.js';
import { checkTrustDomain, type TrustDomain, type TrustDomainError } from './trust-domain.js';

/** The only accepted scheme prefix, exactly as written (lowercase). */
export const SPIFFE_SCHEME_PREFIX = 'spiffe://';

/** Maximum length of a SPIFFE ID in bytes, scheme included (SPIFFE-ID §2.3). */
export const MAX_SPIFFE_ID_BYTES = 2048;

/**
 * A SPIFFE ID that passed {@link parseSpiffeId} or {@link spiffeIdFromParts}. Immutable; only this
 * package creates them. Compare with `a.toString() === b.toString()`.
 */
export interface SpiffeId {
  /** The trust domain the ID belongs to (the URI authority). */
  readonly trustDomain: TrustDomain;
  /** `''` for the trust domain's own ID, else `/seg1/seg2…` (no trailing slash). */
  readonly path: string;
  /** The path split into its segments; empty for an empty path. */
  readonly segments: readonly string[];
  /** The canonical URI, `spiffe://<trustDomain><path>`; identical to the parsed input. */
  toString(): string;
  /** Serializes as the URI string, so IDs embed naturally in JSON. */
  toJSON(): string;
}

/** Scheme problems shared by {@link parseSpiffeId} and {@link parseTrustDomainKey}. */
export type SchemeError =
  /** The input does not start with `spiffe://` and has no other `scheme://` either. */
  | PlainError<'SPIFFE_ID_MISSING_SCHEME'>
  /** The input has a `scheme://` other than exactly `spiffe` (e.g. `https`, `SPIFFE`). */
  | (CodedError & { readonly code: 'SPIFFE_ID_WRONG_SCHEME'; readonly scheme: string });

/**
 * Why a string is not a SPIFFE ID. Checked in this order, the first failure wins: empty, length,
 * scheme, query/fragment, trust domain (the {@link TrustDomainError} codes, with `index` into the
 * whole ID), then the path segments left to right.
 */
export type SpiffeIdError =
  /** The input is the empty string. */
  | PlainError<'SPIFFE_ID_EMPTY'>
  /** Longer than {@link MAX_SPIFFE_ID_BYTES} bytes (SPIFFE-ID §2.3). */
  | LimitError<'SPIFFE_ID_TOO_LONG'>
  | SchemeError
  /** A `?` query component is present; `index` points at `?` (SPIFFE-ID §2). */
  | PositionedError<'SPIFFE_ID_HAS_QUERY'>
  /** A `#` fragment component is present; `index` points at `#` (SPIFFE-ID §2). */
  | PositionedError<'SPIFFE_ID_HAS_FRAGMENT'>
  | TrustDomainError
  /** An empty path segment (`//`); `index` points at the second `/` (SPIFFE-ID §2.2). */
  | PositionedError<'SPIFFE_ID_EMPTY_SEGMENT'>
  /** The path ends with `/`; `index` points at it (SPIFFE-ID §2.2). */
  | PositionedError<'SPIFFE_ID_TRAILING_SLASH'>
  /** A `.` or `..` segment; `index` points at its first character (SPIFFE-ID §2.2). */
  | (PositionedError<'SPIFFE_ID_DOT_SEGMENT'> & { readonly segment: '.' | '..' })
  /** A `%` in the path: percent-encoding is not allowed (SPIFFE-ID §2.2). */
  | PositionedError<'SPIFFE_ID_PERCENT_ENCODED'>
  /** A path character outside `[A-Za-z0-9._-]` (SPIFFE-ID §2.2). */
  | CharError<'SPIFFE_ID_INVALID_CHAR'>;

/** The stable code of a {@link SpiffeIdError}. */
export type SpiffeIdErrorCode = SpiffeIdError['code'];

/** Why a string is not a `spiffe://<trust domain>` bundle map key. */
export type TrustDomainKeyError = SchemeError | TrustDomainError;

/** Internal concrete type: prototype methods keep instances comparable with deepEqual. */
class SpiffeIdValue implements SpiffeId {
  readonly trustDomain: TrustDomain;
  readonly path: string;
  readonly segments: readonly string[];

  constructor(trustDomain: TrustDomain, path: string, segments: readonly string[]) {
    this.trustDomain = trustDomain;
    this.path = path;
    this.segments = Object.freeze([...segments]);
    Object.freeze(this);
  }

  toString(): string {
    return SPIFFE_SCHEME_PREFIX + this.trustDomain + this.path;
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Parses a SPIFFE ID such as `spiffe://example.org/ns/prod/sa/web`. Strict: no normalization, so a
 * valid input round-trips exactly through `toString()`.
 */
export function parseSpiffeId(input: string): Result<SpiffeId, SpiffeIdError> {
  if (input.length === 0)
    return err({ code: 'SPIFFE_ID_EMPTY', message: 'SPIFFE ID must not be empty' });
  const bytes = utf8ByteLength(input);
  if (bytes > MAX_SPIFFE_ID_BYTES) {
    return err({
      code: 'SPIFFE_ID_TOO_LONG',
      message: `SPIFFE ID is ${bytes} bytes; the maximum is ${MAX_SPIFFE_ID_BYTES}`,
      max: MAX_SPIFFE_ID_BYTES,
      actual: bytes,
    });
  }
  const schemeError = checkScheme(input);
  if (schemeError !== undefined) return err(schemeError);

  const start = SPIFFE_SCHEME_PREFIX.length;
  for (let i = start; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x3f) {
      return err({
        code: 'SPIFFE_ID_HAS_QUERY',
        message: `SPIFFE ID must not have a query ("?" at ${i})`,
        index: i,
      });
    }
    if (c === 0x23) {
      return err({
        code: 'SPIFFE_ID_HAS_FRAGMENT',
        message: `SPIFFE ID must not have a fragment ("#" at ${i})`,
        index: i,
      });
    }
  }

  const slash = input.indexOf('/', start);
  const authorityEnd = slash < 0 ? input.length : slash;
  const tdError = checkTrustDomain(input.slice(start, authorityEnd), start);
  if (tdError !== undefined) return err(tdError);

  const segments: string[] = [];
  if (slash >= 0) {
    let segStart = slash + 1;
    for (;;) {
      const next = input.indexOf('/', segStart);
      const segEnd = next < 0 ? input.length : next;
      const segError = checkSegment(input, segStart, segEnd, next < 0);
      if (segError !== undefined) return err(segError);
      segments.push(input.slice(segStart, segEnd));
      if (next < 0) break;
      segStart = next + 1;
    }
  }
  const trustDomain = input.slice(start, authorityEnd) as TrustDomain;
  return ok(new SpiffeIdValue(trustDomain, input.slice(authorityEnd), segments));
}

/** True when `input` is a valid SPIFFE ID string. */
export function isSpiffeIdString(input: string): boolean {
  return parseSpiffeId(input).ok;
}

/** True when `value` is a {@link SpiffeId} created by this package. */
export function isSpiffeId(value: unknown): value is SpiffeId {
  return value instanceof SpiffeIdValue;
}

/**
 * Builds a SPIFFE ID from a trust domain name and path segments, e.g.
 * `spiffeIdFromParts('example.org', 'ns', 'prod')` → `spiffe://example.org/ns/prod`. Each segment
 * is one segment: a `/` inside it is `SPIFFE_ID_INVALID_CHAR`, `''` is `SPIFFE_ID_EMPTY_SEGMENT`.
 * Error indexes refer to the URI the parts would form. No segments gives the trust domain's own ID.
 */
export function spiffeIdFromParts(
  trustDomain: string,
  ...segments: readonly string[]
): Result<SpiffeId, SpiffeIdError> {
  const tdError = checkTrustDomain(trustDomain, SPIFFE_SCHEME_PREFIX.length);
  if (tdError !== undefined) return err(tdError);
  let uri = SPIFFE_SCHEME_PREFIX + trustDomain;
  for (const segment of segments) {
    const segStart = uri.length + 1;
    uri += '/' + segment;
    // Never the last segment: an empty one is an empty segment here, not a trailing slash.
    const segError = checkSegment(uri, segStart, uri.length, false);
    if (segError !== undefined) return err(segError);
  }
  const bytes = utf8ByteLength(uri);
  if (bytes > MAX_SPIFFE_ID_BYTES) {
    return err({
      code: 'SPIFFE_ID_TOO_LONG',
      message: `SPIFFE ID would be ${bytes} bytes; the maximum is ${MAX_SPIFFE_ID_BYTES}`,
      max: MAX_SPIFFE_ID_BYTES,
      actual: bytes,
    });
  }
  const path = uri.slice(SPIFFE_SCHEME_PREFIX.length + trustDomain.length);
  return ok(new SpiffeIdValue(trustDomain as TrustDomain, path, segments));
}

/** True when `id` belongs to `trustDomain` (exact name comparison; names are canonical). */
export function isMemberOf(id: SpiffeId, trustDomain: TrustDomain | string): boolean {
  return id.trustDomain === trustDomain;
}

/**
 * Parses a bundle map key of the Workload API / SPIFFE bundle, `spiffe://<trust domain>` with no
 * path (not even `/`), into the trust domain name.
 */
export function parseTrustDomainKey(input: string): Result<TrustDomain, TrustDomainKeyError> {
  const schemeError = checkScheme(input);
  if (schemeError !== undefined) return err(schemeError);
  const name = input.slice(SPIFFE_SCHEME_PREFIX.length);
  const tdError = checkTrustDomain(name, SPIFFE_SCHEME_PREFIX.length);
  return tdError === undefined ? ok(name as TrustDomain) : err(tdError);
}

/** The bundle map key for a trust domain: `spiffe://<trust domain>`. */
export function trustDomainKey(trustDomain: TrustDomain): string {
  return SPIFFE_SCHEME_PREFIX + trustDomain;
}

/** Undefined when `input` starts with exactly `spiffe://`, else which scheme rule failed. */
function checkScheme(input: string): SchemeError | undefined {
  if (input.startsWith(SPIFFE_SCHEME_PREFIX)) return undefined;
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" for an authority.
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(input);
  if (match?.[1] !== undefined) {
    return {
      code: 'SPIFFE_ID_WRONG_SCHEME',
      message: `SPIFFE ID scheme must be exactly "spiffe" (lowercase), not ${JSON.stringify(match[1])}`,
      scheme: match[1],
    };
  }
  return { code: 'SPIFFE_ID_MISSING_SCHEME', message: 'SPIFFE ID must start with "spiffe://"' };
}

/**
 * Checks the path segment `s[start, end)`. `last` says whether it ends the input, so that an empty
 * last segment is reported as a trailing slash.
 */
function checkSegment(
  s: string,
  start: number,
  end: number,
  last: boolean,
): SpiffeIdError | undefined {
  if (start === end) {
    return last
      ? {
          code: 'SPIFFE_ID_TRAILING_SLASH',
          message: `SPIFFE ID path must not end with "/" (at ${start - 1})`,
          index: start - 1,
        }
      : {
          code: 'SPIFFE_ID_EMPTY_SEGMENT',
          message: `SPIFFE ID path must not contain empty segments ("//" at ${start - 1})`,
          index: start,
        };
  }
  const segment = s.slice(start, end);
  if (segment === '.' || segment === '..') {
    return {
      code: 'SPIFFE_ID_DOT_SEGMENT',
      message: `SPIFFE ID path must not contain "${segment}" segments (at ${start})`,
      index: start,
      segment,
    };
  }
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isLowerAlpha(c) || isUpperAlpha(c) || isDigit(c) || c === 0x2e || c === 0x2d || c === 0x5f)
      continue;
    if (c === 0x25) {
      return {
        code: 'SPIFFE_ID_PERCENT_ENCODED',
        message: `SPIFFE ID path must not contain percent-encoded characters ("%" at ${i})`,
        index: i,
      };
    }
    const char = codePointAt(s, i);
    return {
      code: 'SPIFFE_ID_INVALID_CHAR',
      message: `SPIFFE ID path segments may contain only A-Z, a-z, 0-9, ".", "-" and "_": ${describeChar(char)} at ${i}`,
      char,
      index: i,
    };
  }
  return undefined;
}
