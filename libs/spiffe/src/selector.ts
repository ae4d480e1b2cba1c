import type { CharError, LimitError, PlainError } from './errors.js';
import { err, ok, type Result } from './result.js';
import {
  codePointAt,
  describeChar,
  isControl,
  isDigit,
  isLowerAlpha,
  isSurrogate,
  utf8ByteLength,
} from './text.js';

/** Maximum selector type length in bytes (`unix`, `k8s`, `docker`, `aws_iid`, …). */
export const MAX_SELECTOR_TYPE_BYTES = 64;

/** Maximum selector value length in bytes; room for `unix:path:` with a PATH_MAX (4096) path. */
export const MAX_SELECTOR_VALUE_BYTES = 4096;

/**
 * A workload or node selector: the attestor `type` and its `value`, e.g. `{ type: 'unix', value:
 * 'uid:1000' }` for `unix:uid:1000`. Values may contain further `:`.
 */
export interface Selector {
  /** Attestor name: `[a-z0-9_.-]`, 1..{@link MAX_SELECTOR_TYPE_BYTES} bytes. */
  readonly type: string;
  /** Everything after the first `:`; 1..{@link MAX_SELECTOR_VALUE_BYTES} bytes, no control chars. */
  readonly value: string;
}

/**
 * Why a selector is invalid. Checked in order: empty, missing `:`, type (empty, length, chars),
 * value (empty, length, chars). `index` is relative to the `type:value` string.
 */
export type SelectorError =
  /** The selector string is empty. */
  | PlainError<'SELECTOR_EMPTY'>
  /** No `:` separates type from value. */
  | PlainError<'SELECTOR_MISSING_SEPARATOR'>
  /** Nothing before the first `:`. */
  | PlainError<'SELECTOR_EMPTY_TYPE'>
  /** Nothing after the first `:`. */
  | PlainError<'SELECTOR_EMPTY_VALUE'>
  /** The type is longer than {@link MAX_SELECTOR_TYPE_BYTES} bytes. */
  | LimitError<'SELECTOR_TYPE_TOO_LONG'>
  /** The value is longer than {@link MAX_SELECTOR_VALUE_BYTES} bytes. */
  | LimitError<'SELECTOR_VALUE_TOO_LONG'>
  /** A type character outside `[a-z0-9_.-]`. */
  | CharError<'SELECTOR_INVALID_TYPE_CHAR'>
  /** A control character (C0, DEL, C1) in the value. */
  | CharError<'SELECTOR_CONTROL_CHAR'>
  /** An unpaired UTF-16 surrogate in the value (not representable in UTF-8). */
  | CharError<'SELECTOR_INVALID_UNICODE'>;

/** The stable code of a {@link SelectorError}. */
export type SelectorErrorCode = SelectorError['code'];

/** Parses `type:value` (split at the first `:`), e.g. `k8s:ns:prod` → `{ type: 'k8s', value: 'ns:prod' }`. */
export function parseSelector(input: string): Result<Selector, SelectorError> {
  if (input.length === 0)
    return err({ code: 'SELECTOR_EMPTY', message: 'selector must not be empty' });
  const colon = input.indexOf(':');
  if (colon < 0) {
    return err({
      code: 'SELECTOR_MISSING_SEPARATOR',
      message: 'selector must have the form "type:value" (no ":" found)',
    });
  }
  return selectorFromParts(input.slice(0, colon), input.slice(colon + 1));
}

/** Validates a selector given as separate type and value (the REST / proto shape). */
export function selectorFromParts(type: string, value: string): Result<Selector, SelectorError> {
  if (type.length === 0) {
    return err({
      code: 'SELECTOR_EMPTY_TYPE',
      message: 'selector type (before the first ":") must not be empty',
    });
  }
  const typeBytes = utf8ByteLength(type);
  if (typeBytes > MAX_SELECTOR_TYPE_BYTES) {
    return err({
      code: 'SELECTOR_TYPE_TOO_LONG',
      message: `selector type is ${typeBytes} bytes; the maximum is ${MAX_SELECTOR_TYPE_BYTES}`,
      max: MAX_SELECTOR_TYPE_BYTES,
      actual: typeBytes,
    });
  }
  for (let i = 0; i < type.length; i++) {
    const c = type.charCodeAt(i);
    if (isLowerAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2e || c === 0x2d) continue;
    const char = codePointAt(type, i);
    return err({
      code: 'SELECTOR_INVALID_TYPE_CHAR',
      message: `selector type may contain only a-z, 0-9, "_", "." and "-": ${describeChar(char)} at ${i}`,
      char,
      index: i,
    });
  }
  if (value.length === 0) {
    return err({
      code: 'SELECTOR_EMPTY_VALUE',
      message: 'selector value (after the first ":") must not be empty',
    });
  }
  const valueBytes = utf8ByteLength(value);
  if (valueBytes > MAX_SELECTOR_VALUE_BYTES) {
    return err({
      code: 'SELECTOR_VALUE_TOO_LONG',
      message: `selector value is ${valueBytes} bytes; the maximum is ${MAX_SELECTOR_VALUE_BYTES}`,
      max: MAX_SELECTOR_VALUE_BYTES,
      actual: valueBytes,
    });
  }
  const base = type.length + 1;
  for (let i = 0; i < value.length; i++) {
    const cp = value.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(cp);
    if (isControl(cp)) {
      return err({
        code: 'SELECTOR_CONTROL_CHAR',
        message: `selector value must not contain control characters: ${describeChar(char)} at ${base + i}`,
        char,
        index: base + i,
      });
    }
    if (isSurrogate(cp)) {
      return err({
        code: 'SELECTOR_INVALID_UNICODE',
        message: `selector value contains an unpaired surrogate ${describeChar(char)} at ${base + i}`,
        char,
        index: base + i,
      });
    }
    if (cp > 0xffff) i++;
  }
  return ok(Object.freeze({ type, value }));
}

/** The `type:value` string form of a selector (inverse of {@link parseSelector}). */
export function formatSelector(selector: Selector): string {
  return `${selector.type}:${selector.value}`;
}

/**
 * Total order used for canonical selector lists: by type, then value, comparing UTF-16 code units
 * (locale-independent, so every process sorts identically).
 */
export function compareSelectors(a: Selector, b: Selector): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return 0;
}

/** Sorted by {@link compareSelectors}, duplicates removed; a new frozen array of new objects. */
export function canonicalSelectors(selectors: Iterable<Selector>): readonly Selector[] {
  const sorted = [...selectors]
    .map((s) => ({ type: s.type, value: s.value }))
    .sort(compareSelectors);
  const out: Selector[] = [];
  for (const s of sorted) {
    const prev = out[out.length - 1];
    if (prev === undefined || compareSelectors(prev, s) !== 0) out.push(Object.freeze(s));
  }
  return Object.freeze(out);
}

/**
 * Whether a registration entry applies to a workload, with SPIRE's semantics: every selector of
 * the entry is among the workload's discovered selectors (a subset test; order and duplicates do
 * not matter). An entry with no selectors matches nothing: failing closed, since an empty set is a
 * subset of everything.
 */
export function selectorsMatch(
  workloadSelectors: Iterable<Selector>,
  entrySelectors: Iterable<Selector>,
): boolean {
  const discovered = new Set<string>();
  for (const s of workloadSelectors) discovered.add(selectorKey(s));
  let any = false;
  for (const s of entrySelectors) {
    any = true;
    if (!discovered.has(selectorKey(s))) return false;
  }
  return any;
}

/** Unambiguous set key, even for hand-built selectors whose type contains `:`. */
function selectorKey(s: Selector): string {
  return `${s.type.length}:${s.type}:${s.value}`;
}
