// The one rule every free-text value passes before it is written to the event log: what the
// log, PostgreSQL (text and jsonb) and a terminal can all hold without surprise. Pure code.
import { err, ok, type CodedError, type Result } from './result.js';
import { isControl, isSurrogate } from './text.js';

/** What a free-text field allows. Lengths are in Unicode code points after normalization. */
export interface TextRule {
  /** Most code points. */
  readonly maxLength: number;
  /** Fewest code points (default 0). */
  readonly minLength?: number;
  /** Tab, line feed and carriage return are allowed (descriptions, reasons). Default: one line. */
  readonly multiline?: boolean;
}

/** Why a text value is refused. */
export type TextErrorCode =
  /** U+0000: PostgreSQL text and jsonb cannot hold it. */
  | 'TEXT_NUL'
  /** A UTF-16 surrogate without its partner: not a character, not encodable as UTF-8. */
  | 'TEXT_LONE_SURROGATE'
  /** A C0/C1 control character (or a line break in a one-line field). */
  | 'TEXT_CONTROL_CHAR'
  /** A bidirectional override or isolate, which can make text display as something else. */
  | 'TEXT_BIDI_CONTROL'
  /** A Unicode noncharacter (U+FDD0–U+FDEF, U+xxFFFE, U+xxFFFF). */
  | 'TEXT_NONCHARACTER'
  | 'TEXT_TOO_LONG'
  | 'TEXT_TOO_SHORT';

/** A refused text value: the rule broken and, for a bad character, where it is. */
export interface TextError extends CodedError {
  readonly code: TextErrorCode;
  /** UTF-16 offset of the offending character in the input, for character errors. */
  readonly index?: number;
}

const BIDI_CONTROLS = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);
const LINE_CONTROLS = new Set([0x09, 0x0a, 0x0d]);
/** U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR break lines like LF does. */
const UNICODE_LINE_BREAKS = new Set([0x2028, 0x2029]);

function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

/** The first character of `value` the rule refuses, if any. `value` may hold lone surrogates. */
function firstBadCharacter(value: string, multiline: boolean): TextError | undefined {
  for (let i = 0; i < value.length; i++) {
    const cp = value.codePointAt(i) ?? 0;
    if (cp > 0xffff) {
      if (isNoncharacter(cp)) return { code: 'TEXT_NONCHARACTER', message: `noncharacter U+${hex(cp)} at ${i}`, index: i };
      i++;
      continue;
    }
    if (cp === 0) return { code: 'TEXT_NUL', message: `NUL (U+0000) at ${i}`, index: i };
    if (isSurrogate(cp)) return { code: 'TEXT_LONE_SURROGATE', message: `unpaired surrogate U+${hex(cp)} at ${i}`, index: i };
    if (isControl(cp) && !(multiline && LINE_CONTROLS.has(cp))) {
      return { code: 'TEXT_CONTROL_CHAR', message: `control character U+${hex(cp)} at ${i}`, index: i };
    }
    if (!multiline && UNICODE_LINE_BREAKS.has(cp)) return { code: 'TEXT_CONTROL_CHAR', message: `line break U+${hex(cp)} at ${i}`, index: i };
    if (BIDI_CONTROLS.has(cp)) return { code: 'TEXT_BIDI_CONTROL', message: `bidirectional control U+${hex(cp)} at ${i}`, index: i };
    if (isNoncharacter(cp)) return { code: 'TEXT_NONCHARACTER', message: `noncharacter U+${hex(cp)} at ${i}`, index: i };
  }
  return undefined;
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, '0');
}

function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/**
 * Checks one free-text value and returns it in Unicode normalization form C (so equal-looking
 * names are equal bytes), or the first rule it breaks. Refused: NUL, unpaired surrogates, control
 * characters (tab and line breaks only in multi-line fields), bidirectional overrides and
 * isolates, noncharacters, and lengths outside the rule's bounds.
 */
export function checkText(value: string, rule: TextRule): Result<string, TextError> {
  // Surrogates first: normalize() passes them through, and they make the length meaningless.
  const bad = firstBadCharacter(value, rule.multiline === true);
  if (bad !== undefined) return err(bad);
  const normalized = value.normalize('NFC');
  const length = codePointLength(normalized);
  if (length > rule.maxLength) return err({ code: 'TEXT_TOO_LONG', message: `${length} characters; at most ${rule.maxLength}` });
  if (length < (rule.minLength ?? 0)) return err({ code: 'TEXT_TOO_SHORT', message: `${length} characters; at least ${rule.minLength ?? 0}` });
  return ok(normalized);
}

/** Bounds of a JSON document checked by {@link checkJsonText}. */
export interface JsonTextRule {
  /** Deepest nesting of objects and arrays (the document itself is depth 1). */
  readonly maxDepth: number;
  /** Rule for object keys. */
  readonly key: TextRule;
  /** Rule for string values. */
  readonly value: TextRule;
}

/** A refused string inside a JSON document, with the path to it (`spec.a[2]`). */
export interface JsonTextError extends CodedError {
  readonly code: TextErrorCode | 'JSON_TOO_DEEP' | 'JSON_NOT_PLAIN';
  readonly path: string;
}

/**
 * Checks every key and string value of a parsed JSON document with the text rule and bounds its
 * depth; returns a copy with every string normalized (NFC), or the first problem found.
 * Non-finite numbers and values JSON cannot hold (functions, undefined in arrays) are refused.
 */
export function checkJsonText(document: unknown, rule: JsonTextRule, path = '$'): Result<unknown, JsonTextError> {
  return walk(document, rule, path, 1);
}

function walk(value: unknown, rule: JsonTextRule, path: string, depth: number): Result<unknown, JsonTextError> {
  if (value === null || typeof value === 'boolean') return ok(value);
  if (typeof value === 'number') {
    return Number.isFinite(value) ? ok(value) : err({ code: 'JSON_NOT_PLAIN', message: `${path}: numbers must be finite`, path });
  }
  if (typeof value === 'string') {
    const checked = checkText(value, rule.value);
    return checked.ok ? checked : err({ code: checked.error.code, message: `${path}: ${checked.error.message}`, path });
  }
  if (typeof value !== 'object') return err({ code: 'JSON_NOT_PLAIN', message: `${path}: not a JSON value`, path });
  if (depth > rule.maxDepth) return err({ code: 'JSON_TOO_DEEP', message: `${path}: nested deeper than ${rule.maxDepth} levels`, path });
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = walk(value[i], rule, `${path}[${i}]`, depth + 1);
      if (!item.ok) return item;
      out.push(item.value);
    }
    return ok(out);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const checkedKey = checkText(key, rule.key);
    if (!checkedKey.ok) return err({ code: checkedKey.error.code, message: `${path}: key ${JSON.stringify(key)}: ${checkedKey.error.message}`, path });
    const childPath = `${path}.${checkedKey.value}`;
    if (Object.hasOwn(out, checkedKey.value)) return err({ code: 'JSON_NOT_PLAIN', message: `${childPath}: two keys are the same once normalized`, path: childPath });
    const child = walk(item, rule, childPath, depth + 1);
    if (!child.ok) return child;
    out[checkedKey.value] = child.value;
  }
  return ok(out);
}
