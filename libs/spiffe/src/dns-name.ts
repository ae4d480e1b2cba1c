import type { CharError, LimitError, PlainError, PositionedError } from './errors.js';
import { err, ok, type Result } from './result.js';
import { codePointAt, describeChar, isDigit, isLowerAlpha, isUpperAlpha } from './text.js';

/** Maximum length of a DNS name in characters, without a trailing dot (RFC 1035 §2.3.4). */
export const MAX_DNS_NAME_LENGTH = 253;

/** Maximum length of one DNS label (RFC 1035 §2.3.4). */
export const MAX_DNS_LABEL_LENGTH = 63;

/**
 * Why a string is not a DNS name for an X.509-SVID SAN. Hostname syntax of RFC 1123 §2.1 (labels of
 * letters, digits and inner hyphens; a label may start with a digit), plus one wildcard form: `*`
 * as the whole left-most label with at least two labels under it (`*.example.com`, never
 * `*.com`). The last label must not be all digits (RFC 3696 §2), so IPv4 literals such as
 * `10.0.0.1` are not DNS names. Checked in order: empty, length, labels left to right, then the
 * wildcard's depth and the top-level label.
 *
 * This is the one DNS-name rule of the project: the registry validates entries with it and
 * the signer checks every SAN it mints with it (`@trustplane/crypto` `checkDnsName`).
 */
export type DnsNameError =
  /** The name is empty. */
  | PlainError<'DNS_NAME_EMPTY'>
  /** Longer than {@link MAX_DNS_NAME_LENGTH} characters. */
  | LimitError<'DNS_NAME_TOO_LONG'>
  /** An empty label: leading, trailing or doubled `.`; `index` is where the label would start. */
  | PositionedError<'DNS_NAME_EMPTY_LABEL'>
  /** A label longer than {@link MAX_DNS_LABEL_LENGTH}; `index` is its start. */
  | (PositionedError<'DNS_NAME_LABEL_TOO_LONG'> & { readonly max: number; readonly actual: number })
  /** A label starts or ends with `-`; `index` points at that hyphen. */
  | PositionedError<'DNS_NAME_LABEL_HYPHEN'>
  /** `*` other than as the whole left-most label, or a wildcard with fewer than two labels under it. */
  | PositionedError<'DNS_NAME_BAD_WILDCARD'>
  /** The last label is all digits: an IP literal (`10.0.0.1`) or a numeric top-level domain. */
  | PositionedError<'DNS_NAME_NUMERIC_TLD'>
  /** A character outside `[A-Za-z0-9-]` (and `.` between labels). */
  | CharError<'DNS_NAME_INVALID_CHAR'>;

/** The stable code of a {@link DnsNameError}. */
export type DnsNameErrorCode = DnsNameError['code'];

/** Parses a DNS name (`api.example.com`, `*.example.com`); the value is lowercased (DNS is case-insensitive). */
export function parseDnsName(input: string): Result<string, DnsNameError> {
  if (input.length === 0)
    return err({ code: 'DNS_NAME_EMPTY', message: 'DNS name must not be empty' });
  if (input.length > MAX_DNS_NAME_LENGTH) {
    return err({
      code: 'DNS_NAME_TOO_LONG',
      message: `DNS name is ${input.length} characters; the maximum is ${MAX_DNS_NAME_LENGTH}`,
      max: MAX_DNS_NAME_LENGTH,
      actual: input.length,
    });
  }
  let start = 0;
  let labels = 0;
  for (; ; labels++) {
    const dot = input.indexOf('.', start);
    const end = dot < 0 ? input.length : dot;
    const error = checkLabel(input, start, end, labels === 0, dot < 0);
    if (error !== undefined) return err(error);
    if (dot < 0) break;
    start = dot + 1;
  }
  labels += 1;
  if (input.startsWith('*.') && labels < 3) {
    return err({
      code: 'DNS_NAME_BAD_WILDCARD',
      message: `DNS wildcard "${input}" needs at least two labels under "*", e.g. "*.example.com"`,
      index: 0,
    });
  }
  if (isAllDigits(input, start, input.length)) {
    return err({
      code: 'DNS_NAME_NUMERIC_TLD',
      message: `"${input}" ends in an all-numeric label: IP addresses are not DNS names`,
      index: start,
    });
  }
  return ok(input.toLowerCase());
}

/** Parses a DNS name and reports only whether it is one (see {@link parseDnsName}). */
export function isDnsName(input: string): boolean {
  return parseDnsName(input).ok;
}

function isAllDigits(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return end > start;
}

/** Checks the label `s[start, end)`; `first`/`last` say where it sits in the name. */
function checkLabel(
  s: string,
  start: number,
  end: number,
  first: boolean,
  last: boolean,
): DnsNameError | undefined {
  if (start === end) {
    return {
      code: 'DNS_NAME_EMPTY_LABEL',
      message: `DNS name has an empty label at ${start}`,
      index: start,
    };
  }
  if (end - start > MAX_DNS_LABEL_LENGTH) {
    return {
      code: 'DNS_NAME_LABEL_TOO_LONG',
      message: `DNS label at ${start} is ${end - start} characters; the maximum is ${MAX_DNS_LABEL_LENGTH}`,
      index: start,
      max: MAX_DNS_LABEL_LENGTH,
      actual: end - start,
    };
  }
  if (end - start === 1 && s.charCodeAt(start) === 0x2a) {
    if (first && !last) return undefined;
    return {
      code: 'DNS_NAME_BAD_WILDCARD',
      message: first
        ? 'DNS name "*" needs a parent domain, e.g. "*.example.com"'
        : `DNS wildcard "*" is allowed only as the whole left-most label (found at ${start})`,
      index: start,
    };
  }
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isLowerAlpha(c) || isUpperAlpha(c) || isDigit(c)) continue;
    if (c === 0x2d) {
      if (i === start || i === end - 1) {
        return {
          code: 'DNS_NAME_LABEL_HYPHEN',
          message: `DNS labels must not start or end with "-" (at ${i})`,
          index: i,
        };
      }
      continue;
    }
    if (c === 0x2a) {
      return {
        code: 'DNS_NAME_BAD_WILDCARD',
        message: `DNS wildcard "*" is allowed only as the whole left-most label (found at ${i})`,
        index: i,
      };
    }
    const char = codePointAt(s, i);
    return {
      code: 'DNS_NAME_INVALID_CHAR',
      message: `DNS names may contain only letters, digits, "-" and ".": ${describeChar(char)} at ${i}`,
      char,
      index: i,
    };
  }
  return undefined;
}
