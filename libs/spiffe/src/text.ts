// Internal text helpers shared by the parsers. Not exported from the package.

/** Number of bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes, as encoders do). */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** The full code point starting at UTF-16 offset `index` (one or two code units). */
export function codePointAt(s: string, index: number): string {
  const cp = s.codePointAt(index);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

/** `"x" (U+0078)`: a printable, unambiguous description of one character for error messages. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(ch)} (U+${hex})`;
}

/** True for C0 controls, DEL and C1 controls. */
export function isControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

/** True when `cp` is a surrogate code point (i.e. `s` had an unpaired surrogate there). */
export function isSurrogate(cp: number): boolean {
  return cp >= 0xd800 && cp <= 0xdfff;
}

/** True for ASCII a-z. */
export function isLowerAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

/** True for ASCII A-Z. */
export function isUpperAlpha(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/** True for ASCII 0-9. */
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
