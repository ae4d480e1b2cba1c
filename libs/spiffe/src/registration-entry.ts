import { isReservedPathSegment, RESERVED_SPIFFE_PATH_SEGMENTS } from './reserved-path.js';
import { parseDnsName, type DnsNameError, type DnsNameErrorCode } from './dns-name.js';
import { err, ok, type Result } from './result.js';
import {
  canonicalSelectors,
  parseSelector,
  selectorFromParts,
  type Selector,
  type SelectorError,
  type SelectorErrorCode,
} from './selector.js';
import {
  isMemberOf,
  parseSpiffeId,
  parseTrustDomainKey,
  SPIFFE_SCHEME_PREFIX,
  type SpiffeId,
  type SpiffeIdError,
  type SpiffeIdErrorCode,
  type TrustDomainKeyError,
} from './spiffe-id.js';
import { isControl, isSurrogate } from './text.js';
import { parseTrustDomain, type TrustDomain } from './trust-domain.js';

/** Shortest X.509-SVID TTL an entry may ask for: the agent rotates at half-life, so below a minute it would mostly rotate. */
export const X509_SVID_TTL_MIN_SECONDS = 60;
/** Longest X.509-SVID TTL an entry may ask for: 30 days (the signer still caps it at the CA's remaining life). */
export const X509_SVID_TTL_MAX_SECONDS = 30 * 24 * 60 * 60;
/** Shortest JWT-SVID TTL an entry may ask for: enough for one request's clock skew and network time. */
export const JWT_SVID_TTL_MIN_SECONDS = 10;
/** Longest JWT-SVID TTL an entry may ask for: 24 hours (bearer tokens should be short-lived). */
export const JWT_SVID_TTL_MAX_SECONDS = 24 * 60 * 60;
/** Most selectors one entry may list. */
export const MAX_ENTRY_SELECTORS = 64;
/** Most DNS names one entry may list. */
export const MAX_ENTRY_DNS_NAMES = 32;
/** Most trust domains one entry may federate with. */
export const MAX_ENTRY_FEDERATES_WITH = 64;
/** Longest hint, in Unicode code points. */
export const MAX_ENTRY_HINT_LENGTH = 1024;
/**
 * First path segments that entries may not claim by default: the infrastructure paths of
 * {@link RESERVED_SPIFFE_PATH_SEGMENTS} (agents, the signer, SPIRE's convention), so a workload
 * entry there cannot impersonate infrastructure.
 */
export const DEFAULT_RESERVED_PATH_SEGMENTS: readonly string[] = RESERVED_SPIFFE_PATH_SEGMENTS;

/** A selector as the REST API and protos carry it, before validation. */
export interface SelectorInput {
  /** Attestor name, e.g. `unix`. */
  readonly type: string;
  /** Attestor-specific value, e.g. `uid:1000`. */
  readonly value: string;
}

/** A registration entry as submitted, before validation. */
export interface RegistrationEntryInput {
  /** The SPIFFE ID workloads matching this entry receive; must be in the entry's trust domain. */
  readonly spiffeId: string;
  /** The agent (or node alias) ID under which the workload must run; same trust domain. */
  readonly parentId: string;
  /** Selectors, as `type:value` strings or `{ type, value }`; at least one. */
  readonly selectors: readonly (string | SelectorInput)[];
  /** X.509-SVID lifetime; omitted = the server default. */
  readonly x509SvidTtlSeconds?: number;
  /** JWT-SVID lifetime; omitted = the server default. */
  readonly jwtSvidTtlSeconds?: number;
  /** DNS SANs for the X.509-SVID; omitted = none. */
  readonly dnsNames?: readonly string[];
  /** Trust domains (`example.org` or `spiffe://example.org`) whose bundles the workload receives. */
  readonly federatesWith?: readonly string[];
  /** Whether the workload may use the admin API; omitted = false. */
  readonly admin?: boolean;
  /** Whether the workload is a downstream (nested) server that may mint under this trust domain. */
  readonly downstream?: boolean;
  /** Free-text hint that lets a workload tell its SVIDs apart; omitted or `''` = none. */
  readonly hint?: string;
  /** RFC 3339 timestamp after which the entry no longer applies; omitted = never expires. */
  readonly expiresAt?: string;
}

/** A validated, normalized registration entry. Optional fields are absent, never `undefined`. */
export interface RegistrationEntry {
  /** The workload's SPIFFE ID, in the entry's trust domain, with a non-empty path. */
  readonly spiffeId: SpiffeId;
  /** The parent (agent / node alias) ID, in the entry's trust domain. */
  readonly parentId: SpiffeId;
  /** Selectors in canonical order (type, then value), without duplicates; never empty. */
  readonly selectors: readonly Selector[];
  /** Requested X.509-SVID TTL in seconds, when given. */
  readonly x509SvidTtlSeconds?: number;
  /** Requested JWT-SVID TTL in seconds, when given. */
  readonly jwtSvidTtlSeconds?: number;
  /** Lowercased DNS names, duplicates removed, first-occurrence order kept (the first may become the CN). */
  readonly dnsNames: readonly string[];
  /** Federated trust domain names, sorted, without duplicates. */
  readonly federatesWith: readonly TrustDomain[];
  /** Admin flag. */
  readonly admin: boolean;
  /** Downstream flag. */
  readonly downstream: boolean;
  /** The hint, when non-empty. */
  readonly hint?: string;
  /** Expiry as a UTC ISO-8601 string with millisecond precision (`Date.prototype.toISOString`). */
  readonly expiresAt?: string;
}

/** Entry-level rule violations (field-level parse errors reuse the parsers' codes). */
export type EntryRuleCode =
  /** A required field is missing. */
  | 'ENTRY_FIELD_REQUIRED'
  /** A field has the wrong JSON type (e.g. a number where a string is expected). */
  | 'ENTRY_WRONG_TYPE'
  /** The SPIFFE ID is not in the entry's trust domain. */
  | 'ENTRY_SPIFFE_ID_NOT_IN_TRUST_DOMAIN'
  /** The SPIFFE ID has no path: that is the trust domain's own ID, not a workload's. */
  | 'ENTRY_SPIFFE_ID_NO_PATH'
  /** The SPIFFE ID's first segment is reserved (see {@link DEFAULT_RESERVED_PATH_SEGMENTS}). */
  | 'ENTRY_SPIFFE_ID_RESERVED'
  /** The parent ID is not in the entry's trust domain. */
  | 'ENTRY_PARENT_ID_NOT_IN_TRUST_DOMAIN'
  /** The parent ID equals the SPIFFE ID. */
  | 'ENTRY_PARENT_IS_SELF'
  /** The selector list is empty. */
  | 'ENTRY_NO_SELECTORS'
  /** A list has more items than its limit. */
  | 'ENTRY_TOO_MANY_ITEMS'
  /** A TTL is not a whole number of seconds. */
  | 'ENTRY_TTL_NOT_INTEGER'
  /** A TTL is outside its [min, max] bounds. */
  | 'ENTRY_TTL_OUT_OF_RANGE'
  /** `federatesWith` names the entry's own trust domain. */
  | 'ENTRY_FEDERATES_WITH_OWN_TRUST_DOMAIN'
  /** The hint is longer than {@link MAX_ENTRY_HINT_LENGTH} code points. */
  | 'ENTRY_HINT_TOO_LONG'
  /** The hint contains a control character or an unpaired surrogate. */
  | 'ENTRY_HINT_INVALID_CHAR'
  /** `expiresAt` is not an RFC 3339 date-time. */
  | 'ENTRY_EXPIRES_AT_INVALID'
  /** `expiresAt` is not after `now`. */
  | 'ENTRY_EXPIRES_AT_IN_PAST';

/** Every code an {@link EntryFieldError} can carry. */
export type EntryErrorCode =
  | EntryRuleCode
  | SpiffeIdErrorCode
  | SelectorErrorCode
  | DnsNameErrorCode
  | TrustDomainKeyError['code'];

/** One problem with one field of a registration entry. */
export interface EntryFieldError {
  /** Where: `spiffeId`, `selectors[2]`, `dnsNames[0]`, `federatesWith[1]`, `x509SvidTtlSeconds`, … */
  readonly path: string;
  /** Stable code: an {@link EntryRuleCode} or the code of the parser that rejected the field. */
  readonly code: EntryErrorCode;
  /** Human-readable explanation. */
  readonly message: string;
  /** The parser's typed error (with its `index`, `char`, …) when a parser rejected the field. */
  readonly cause?: SpiffeIdError | SelectorError | DnsNameError | TrustDomainKeyError;
}

/** Context for {@link validateRegistrationEntry}. */
export interface EntryValidationOptions {
  /** Current time; when given, `expiresAt` must be after it. */
  readonly now?: Date;
  /** First path segments entries may not claim; default {@link DEFAULT_RESERVED_PATH_SEGMENTS}. */
  readonly reservedPathSegments?: readonly string[];
}

/**
 * Validates and normalizes a registration entry of `trustDomain`. Pure. Reports every failing field
 * (the first problem of each field or list item), in field order, or returns the normalized entry.
 */
export function validateRegistrationEntry(
  input: RegistrationEntryInput,
  trustDomain: TrustDomain,
  options: EntryValidationOptions = {},
): Result<RegistrationEntry, readonly EntryFieldError[]> {
  const errors: EntryFieldError[] = [];
  const fail = (
    path: string,
    code: EntryErrorCode,
    message: string,
    cause?: EntryFieldError['cause'],
  ) => {
    errors.push(cause === undefined ? { path, code, message } : { path, code, message, cause });
  };
  const fromParser = (path: string, e: NonNullable<EntryFieldError['cause']>) => {
    fail(path, e.code, `${path}: ${e.message}`, e);
  };

  // spiffeId
  let spiffeId: SpiffeId | undefined;
  if (requireString(input.spiffeId, 'spiffeId', fail)) {
    const r = parseSpiffeId(input.spiffeId);
    if (!r.ok) fromParser('spiffeId', r.error);
    else if (!isMemberOf(r.value, trustDomain)) {
      fail(
        'spiffeId',
        'ENTRY_SPIFFE_ID_NOT_IN_TRUST_DOMAIN',
        `spiffeId must be in trust domain "${trustDomain}", not "${r.value.trustDomain}"`,
      );
    } else if (r.value.path === '') {
      fail(
        'spiffeId',
        'ENTRY_SPIFFE_ID_NO_PATH',
        'spiffeId must have a path; the bare trust domain ID is reserved',
      );
    } else if (
      isReservedPathSegment(
        r.value.segments[0] ?? '',
        options.reservedPathSegments ?? DEFAULT_RESERVED_PATH_SEGMENTS,
      )
    ) {
      fail(
        'spiffeId',
        'ENTRY_SPIFFE_ID_RESERVED',
        `spiffeId must not be under the reserved path "/${r.value.segments[0] ?? ''}/"`,
      );
    } else spiffeId = r.value;
  }

  // parentId
  let parentId: SpiffeId | undefined;
  if (requireString(input.parentId, 'parentId', fail)) {
    const r = parseSpiffeId(input.parentId);
    if (!r.ok) fromParser('parentId', r.error);
    else if (!isMemberOf(r.value, trustDomain)) {
      fail(
        'parentId',
        'ENTRY_PARENT_ID_NOT_IN_TRUST_DOMAIN',
        `parentId must be in trust domain "${trustDomain}", not "${r.value.trustDomain}"`,
      );
    } else if (spiffeId !== undefined && r.value.toString() === spiffeId.toString()) {
      fail('parentId', 'ENTRY_PARENT_IS_SELF', 'parentId must differ from spiffeId');
    } else parentId = r.value;
  }

  // selectors
  const selectors: Selector[] = [];
  if (requireArray(input.selectors, 'selectors', MAX_ENTRY_SELECTORS, fail)) {
    if (input.selectors.length === 0)
      fail('selectors', 'ENTRY_NO_SELECTORS', 'at least one selector is required');
    input.selectors.forEach((item, i) => {
      const path = `selectors[${i}]`;
      let r: Result<Selector, SelectorError>;
      if (typeof item === 'string') r = parseSelector(item);
      else if (isSelectorInput(item)) r = selectorFromParts(item.type, item.value);
      else {
        fail(path, 'ENTRY_WRONG_TYPE', `${path} must be a "type:value" string or { type, value }`);
        return;
      }
      if (r.ok) selectors.push(r.value);
      else fromParser(path, r.error);
    });
  }

  // TTLs
  const x509SvidTtlSeconds = checkTtl(
    input.x509SvidTtlSeconds,
    'x509SvidTtlSeconds',
    X509_SVID_TTL_MIN_SECONDS,
    X509_SVID_TTL_MAX_SECONDS,
    fail,
  );
  const jwtSvidTtlSeconds = checkTtl(
    input.jwtSvidTtlSeconds,
    'jwtSvidTtlSeconds',
    JWT_SVID_TTL_MIN_SECONDS,
    JWT_SVID_TTL_MAX_SECONDS,
    fail,
  );

  // dnsNames
  const dnsNames: string[] = [];
  if (
    input.dnsNames !== undefined &&
    requireArray(input.dnsNames, 'dnsNames', MAX_ENTRY_DNS_NAMES, fail)
  ) {
    input.dnsNames.forEach((name, i) => {
      const path = `dnsNames[${i}]`;
      if (!requireString(name, path, fail)) return;
      const r = parseDnsName(name);
      if (!r.ok) fromParser(path, r.error);
      else if (!dnsNames.includes(r.value)) dnsNames.push(r.value);
    });
  }

  // federatesWith
  const federatesWith = new Set<TrustDomain>();
  if (
    input.federatesWith !== undefined &&
    requireArray(input.federatesWith, 'federatesWith', MAX_ENTRY_FEDERATES_WITH, fail)
  ) {
    input.federatesWith.forEach((name, i) => {
      const path = `federatesWith[${i}]`;
      if (!requireString(name, path, fail)) return;
      const r = name.startsWith(SPIFFE_SCHEME_PREFIX)
        ? parseTrustDomainKey(name)
        : parseTrustDomain(name);
      if (!r.ok) fromParser(path, r.error);
      else if (r.value === trustDomain) {
        fail(
          path,
          'ENTRY_FEDERATES_WITH_OWN_TRUST_DOMAIN',
          `${path}: an entry cannot federate with its own trust domain`,
        );
      } else federatesWith.add(r.value);
    });
  }

  // flags
  const admin = checkBoolean(input.admin, 'admin', fail);
  const downstream = checkBoolean(input.downstream, 'downstream', fail);

  // hint
  let hint: string | undefined;
  if (input.hint !== undefined && requireString(input.hint, 'hint', fail)) {
    const problem = checkHint(input.hint);
    if (problem !== undefined) fail('hint', problem.code, problem.message);
    else if (input.hint !== '') hint = input.hint;
  }

  // expiresAt
  let expiresAt: string | undefined;
  if (input.expiresAt !== undefined && requireString(input.expiresAt, 'expiresAt', fail)) {
    const ms = parseRfc3339(input.expiresAt);
    if (ms === undefined) {
      fail(
        'expiresAt',
        'ENTRY_EXPIRES_AT_INVALID',
        'expiresAt must be an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z',
      );
    } else if (options.now !== undefined && ms <= options.now.getTime()) {
      fail(
        'expiresAt',
        'ENTRY_EXPIRES_AT_IN_PAST',
        `expiresAt must be after now (${options.now.toISOString()})`,
      );
    } else expiresAt = new Date(ms).toISOString();
  }

  if (errors.length > 0 || spiffeId === undefined || parentId === undefined)
    return err(Object.freeze(errors));
  const entry: RegistrationEntry = {
    spiffeId,
    parentId,
    selectors: canonicalSelectors(selectors),
    ...(x509SvidTtlSeconds === undefined ? {} : { x509SvidTtlSeconds }),
    ...(jwtSvidTtlSeconds === undefined ? {} : { jwtSvidTtlSeconds }),
    dnsNames: Object.freeze(dnsNames),
    federatesWith: Object.freeze([...federatesWith].sort()),
    admin,
    downstream,
    ...(hint === undefined ? {} : { hint }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
  return ok(Object.freeze(entry));
}

type Fail = (path: string, code: EntryErrorCode, message: string) => void;

/** Reports a missing or non-string field; true when `value` is a string. */
function requireString(value: unknown, path: string, fail: Fail): value is string {
  if (value === undefined || value === null) {
    fail(path, 'ENTRY_FIELD_REQUIRED', `${path} is required`);
    return false;
  }
  if (typeof value !== 'string') {
    fail(path, 'ENTRY_WRONG_TYPE', `${path} must be a string`);
    return false;
  }
  return true;
}

/** Reports a missing, non-array or oversized list; true when `value` is an array within `max`. */
function requireArray(
  value: unknown,
  path: string,
  max: number,
  fail: Fail,
): value is readonly unknown[] {
  if (value === undefined || value === null) {
    fail(path, 'ENTRY_FIELD_REQUIRED', `${path} is required`);
    return false;
  }
  if (!Array.isArray(value)) {
    fail(path, 'ENTRY_WRONG_TYPE', `${path} must be an array`);
    return false;
  }
  if (value.length > max) {
    fail(path, 'ENTRY_TOO_MANY_ITEMS', `${path} has ${value.length} items; the maximum is ${max}`);
    return false;
  }
  return true;
}

/** True for `{ type: string, value: string }`. */
function isSelectorInput(value: unknown): value is SelectorInput {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { type?: unknown; value?: unknown };
  return typeof v.type === 'string' && typeof v.value === 'string';
}

/** Validates an optional TTL; returns it when present and valid. */
function checkTtl(
  value: unknown,
  path: string,
  min: number,
  max: number,
  fail: Fail,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    fail(path, 'ENTRY_WRONG_TYPE', `${path} must be a number of seconds`);
    return undefined;
  }
  if (!Number.isInteger(value)) {
    fail(path, 'ENTRY_TTL_NOT_INTEGER', `${path} must be a whole number of seconds`);
    return undefined;
  }
  if (value < min || value > max) {
    fail(
      path,
      'ENTRY_TTL_OUT_OF_RANGE',
      `${path} must be between ${min} and ${max} seconds, not ${value}`,
    );
    return undefined;
  }
  return value;
}

/** Validates an optional boolean flag; absent means false. */
function checkBoolean(value: unknown, path: string, fail: Fail): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    fail(path, 'ENTRY_WRONG_TYPE', `${path} must be a boolean`);
    return false;
  }
  return value;
}

/** The rule a hint breaks, if any. */
function checkHint(hint: string): { code: EntryRuleCode; message: string } | undefined {
  let codePoints = 0;
  for (let i = 0; i < hint.length; i++) {
    const cp = hint.codePointAt(i) ?? 0;
    if (isControl(cp) || isSurrogate(cp)) {
      return {
        code: 'ENTRY_HINT_INVALID_CHAR',
        message: `hint must not contain control characters (at ${i})`,
      };
    }
    if (cp > 0xffff) i++;
    codePoints++;
  }
  if (codePoints > MAX_ENTRY_HINT_LENGTH) {
    return {
      code: 'ENTRY_HINT_TOO_LONG',
      message: `hint is ${codePoints} characters; the maximum is ${MAX_ENTRY_HINT_LENGTH}`,
    };
  }
  return undefined;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch for an RFC 3339 `date-time` (§5.6), or undefined; no leap seconds. */
function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
    Number,
  ) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  // Millisecond precision: keep the first three fraction digits, truncating the rest.
  const millis = m[7] === undefined ? 0 : Number(`${m[7].slice(1)}00`.slice(0, 3));
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0-99 literal, unlike Date.UTC
  utc.setUTCHours(hour, minute, second, millis);
  return utc.getTime() - offsetMinutes * 60_000;
}

/** Days in `month` (1-12) of the proleptic Gregorian `year`. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
