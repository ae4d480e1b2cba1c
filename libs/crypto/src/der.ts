/**
 * A minimal DER (ITU-T X.690 §10, distinguished encoding rules) encoder and reader: only the
 * universal types and tag forms that X.509 (RFC 5280), PKCS#10 (RFC 2986) and the algorithm
 * RFCs need. Buffer-based, no intermediate trees on the write side, zero-copy on the read side.
 *
 * Only low-tag-number form (tag number < 31, X.690 §8.1.2.2) and definite lengths
 * (X.690 §10.1) are supported; anything else is rejected as malformed.
 */
import { CryptoError } from './errors';

/** Universal and context tags used by this library (identifier octet, X.690 §8.1.2). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Identifier octet of a context-specific tag: constructed `[n]` (EXPLICIT or constructed IMPLICIT). */
export function contextConstructed(n: number): number {
  return 0xa0 | n;
}

/** Identifier octet of a context-specific primitive `[n] IMPLICIT` tag. */
export function contextPrimitive(n: number): number {
  return 0x80 | n;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** Number of octets the DER length field for `len` takes (X.690 §8.1.3, short/long form). */
export function lengthSize(len: number): number {
  if (len < 0x80) return 1;
  if (len < 0x100) return 2;
  if (len < 0x10000) return 3;
  if (len < 0x1000000) return 4;
  return 5;
}

/** Size of a whole TLV whose value is `len` octets (one identifier octet). */
export function tlvSize(len: number): number {
  return 1 + lengthSize(len) + len;
}

/** Writes identifier + length at `offset` in `out`; returns the offset of the value. */
export function writeHeader(out: Buffer, offset: number, tag: number, len: number): number {
  out[offset++] = tag;
  if (len < 0x80) {
    out[offset++] = len;
  } else if (len < 0x100) {
    out[offset++] = 0x81;
    out[offset++] = len;
  } else if (len < 0x10000) {
    out[offset++] = 0x82;
    out[offset++] = len >>> 8;
    out[offset++] = len & 0xff;
  } else if (len < 0x1000000) {
    out[offset++] = 0x83;
    out[offset++] = len >>> 16;
    out[offset++] = (len >>> 8) & 0xff;
    out[offset++] = len & 0xff;
  } else {
    out[offset++] = 0x84;
    out.writeUInt32BE(len, offset);
    offset += 4;
  }
  return offset;
}

/** Encodes one TLV from its value octets. */
export function tlv(tag: number, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(tlvSize(value.length));
  const at = writeHeader(out, 0, tag, value.length);
  out.set(value, at);
  return out;
}

/** Encodes a constructed TLV whose value is the concatenation of already-encoded parts. */
export function constructed(tag: number, parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(tlvSize(len));
  let at = writeHeader(out, 0, tag, len);
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SEQUENCE (X.690 §8.9) of already-encoded elements. */
export function sequence(...parts: Uint8Array[]): Buffer {
  return constructed(Tag.SEQUENCE, parts);
}

/** SET (X.690 §8.11) of already-encoded elements; DER SET OF needs sorted elements (§11.6). */
export function setOf(...parts: Uint8Array[]): Buffer {
  const sorted = [...parts].sort((a, b) => Buffer.compare(a, b));
  return constructed(Tag.SET, sorted);
}

/** `[n] EXPLICIT` wrapper around one encoded element. */
export function explicit(n: number, inner: Uint8Array): Buffer {
  return tlv(contextConstructed(n), inner);
}

/**
 * INTEGER from unsigned big-endian magnitude octets (X.690 §8.3): strips redundant leading zero
 * octets and adds one 0x00 when the high bit is set, so the value stays positive and minimal.
 */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  const pad = body.length === 0 || (body[0]! & 0x80) !== 0 ? 1 : 0;
  const out = Buffer.allocUnsafe(tlvSize(body.length + pad));
  let at = writeHeader(out, 0, Tag.INTEGER, body.length + pad);
  if (pad) out[at++] = 0;
  out.set(body, at);
  return out;
}

/** INTEGER from a small non-negative JavaScript number. */
export function smallInteger(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative integer: ${n}`);
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  return unsignedInteger(Uint8Array.from(bytes));
}

/** BOOLEAN (X.690 §11.1: TRUE is 0xFF in DER). */
export function boolean(value: boolean): Buffer {
  return Buffer.from([Tag.BOOLEAN, 1, value ? 0xff : 0x00]);
}

/** NULL (X.690 §8.8). */
export const DER_NULL: Buffer = Buffer.from([Tag.NULL, 0]);

/** OCTET STRING (X.690 §8.7, primitive in DER). */
export function octetString(value: Uint8Array): Buffer {
  return tlv(Tag.OCTET_STRING, value);
}

/** BIT STRING (X.690 §8.6) with `unusedBits` unused bits in the last octet. */
export function bitString(value: Uint8Array, unusedBits = 0): Buffer {
  const out = Buffer.allocUnsafe(tlvSize(value.length + 1));
  const at = writeHeader(out, 0, Tag.BIT_STRING, value.length + 1);
  out[at] = unusedBits;
  out.set(value, at + 1);
  return out;
}

/**
 * A BIT STRING holding named bits (bit 0 = most significant bit of the first octet). DER
 * removes trailing zero bits (X.690 §11.2.2), which sets the unused-bits count.
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return Buffer.from([Tag.BIT_STRING, 1, 0]);
  const highest = Math.max(...bits);
  const octets = Buffer.alloc((highest >> 3) + 1);
  for (const b of bits) octets[b >> 3]! |= 0x80 >> (b & 7);
  return bitString(octets, 7 - (highest & 7));
}

/** OBJECT IDENTIFIER value octets (X.690 §8.19) from dotted notation. */
export function oidValue(dotted: string): Buffer {
  const arcs = dotted.split('.').map((s) => {
    if (!/^(0|[1-9]\d*)$/.test(s)) throw new RangeError(`bad OID arc in ${dotted}`);
    return Number(s);
  });
  if (arcs.length < 2 || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39)) {
    throw new RangeError(`bad OID ${dotted}`);
  }
  const out: number[] = [];
  const first = arcs[0]! * 40 + arcs[1]!;
  for (const arc of [first, ...arcs.slice(2)]) {
    const base128: number[] = [];
    let v = arc;
    do {
      base128.unshift(v % 128);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < base128.length - 1; i++) base128[i]! |= 0x80;
    out.push(...base128);
  }
  return Buffer.from(out);
}

/** OBJECT IDENTIFIER TLV from dotted notation. */
export function oid(dotted: string): Buffer {
  return tlv(Tag.OID, oidValue(dotted));
}

/** A string type TLV (UTF8String, PrintableString, IA5String, ...). */
export function stringOf(tag: number, value: string): Buffer {
  return tlv(tag, Buffer.from(value, tag === Tag.UTF8_STRING ? 'utf8' : 'latin1'));
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Time per RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for years 1950–2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050; seconds always present, no fractions, always Zulu.
 * `epochSeconds` must be a whole number of seconds.
 */
export function time(epochSeconds: number): Buffer {
  const d = new Date(epochSeconds * 1000);
  const year = d.getUTCFullYear();
  if (!Number.isInteger(epochSeconds) || year < 1950 || year > 9999) {
    throw new RangeError(`time not encodable in X.509: ${epochSeconds}`);
  }
  const rest =
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds()) +
    'Z';
  return year < 2050
    ? stringOf(Tag.UTC_TIME, pad2(year % 100) + rest)
    : stringOf(Tag.GENERALIZED_TIME, String(year) + rest);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** One TLV located inside a buffer; the value is `buf[valueStart, end)`. */
export interface DerNode {
  /** Identifier octet. */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first value octet. */
  readonly valueStart: number;
  /** Offset one past the last value octet. */
  readonly end: number;
}

function malformed(message: string): CryptoError {
  return new CryptoError('DER_MALFORMED', message);
}

/**
 * Reads the TLV at `pos`, which must end at or before `limit`. Rejects high tag numbers,
 * indefinite lengths and non-minimal length encodings (X.690 §10.1).
 */
export function readNode(buf: Uint8Array, pos: number, limit: number): DerNode {
  if (pos + 2 > limit) throw malformed(`truncated TLV at ${pos}`);
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw malformed(`high tag number form at ${pos}`);
  let at = pos + 1;
  const first = buf[at++]!;
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw malformed(`indefinite length at ${pos}`);
    if (n > 4) throw malformed(`length too large at ${pos}`);
    if (at + n > limit) throw malformed(`truncated length at ${pos}`);
    if (buf[at] === 0) throw malformed(`non-minimal length at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at++]!;
    if (len < 0x80) throw malformed(`non-minimal length at ${pos}`);
  }
  const end = at + len;
  if (end > limit) throw malformed(`value overruns its container at ${pos}`);
  return { tag, start: pos, valueStart: at, end };
}

/** Reads a TLV and checks its identifier octet. */
export function expectNode(buf: Uint8Array, pos: number, limit: number, tag: number): DerNode {
  const node = readNode(buf, pos, limit);
  if (node.tag !== tag) {
    throw malformed(`expected tag 0x${tag.toString(16)} at ${pos}, got 0x${node.tag.toString(16)}`);
  }
  return node;
}

/** Reads exactly one top-level TLV spanning the whole buffer (no trailing octets). */
export function readRoot(buf: Uint8Array, tag: number): DerNode {
  const node = expectNode(buf, 0, buf.length, tag);
  if (node.end !== buf.length) throw malformed('trailing octets after the top-level element');
  return node;
}

/** The child TLVs of a constructed node, in order. */
export function children(buf: Uint8Array, node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let pos = node.valueStart;
  while (pos < node.end) {
    const child = readNode(buf, pos, node.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** True when the value octets of `node` equal `expected`, without allocating. */
export function valueEquals(buf: Uint8Array, node: DerNode, expected: Uint8Array): boolean {
  const len = expected.length;
  if (node.end - node.valueStart !== len) return false;
  // A plain loop beats Buffer#compare's argument checks for the short values compared here.
  for (let i = 0, j = node.valueStart; i < len; i++, j++) if (buf[j] !== expected[i]) return false;
  return true;
}

/**
 * Magnitude octets of a DER INTEGER (X.690 §8.3) that must be positive, with the sign octet
 * removed. Rejects empty, non-minimal and negative encodings.
 */
export function readPositiveInteger(buf: Buffer, node: DerNode): Buffer {
  if (node.tag !== Tag.INTEGER) throw malformed('expected INTEGER');
  const len = node.end - node.valueStart;
  if (len === 0) throw malformed('empty INTEGER');
  const b0 = buf[node.valueStart]!;
  if (len > 1) {
    const b1 = buf[node.valueStart + 1]!;
    if ((b0 === 0 && (b1 & 0x80) === 0) || (b0 === 0xff && (b1 & 0x80) !== 0)) {
      throw malformed('non-minimal INTEGER');
    }
  }
  if (b0 & 0x80) throw malformed('negative INTEGER');
  const start = b0 === 0 && len > 1 ? node.valueStart + 1 : node.valueStart;
  return buf.subarray(start, node.end);
}

/** A small non-negative INTEGER as a number (up to 2^48). */
export function readSmallInteger(buf: Buffer, node: DerNode): number {
  const mag = readPositiveInteger(buf, node);
  if (mag.length > 6) throw malformed('INTEGER too large');
  let v = 0;
  for (const b of mag) v = v * 256 + b;
  return v;
}

/** A DER BOOLEAN (X.690 §11.1: only 0x00 and 0xFF are valid). */
export function readBoolean(buf: Buffer, node: DerNode): boolean {
  if (node.tag !== Tag.BOOLEAN || node.end - node.valueStart !== 1) throw malformed('bad BOOLEAN');
  const v = buf[node.valueStart];
  if (v === 0xff) return true;
  if (v === 0x00) return false;
  throw malformed('BOOLEAN not in DER form');
}

/** Content octets of a BIT STRING that must have zero unused bits (keys, signatures). */
export function readOctetAlignedBitString(buf: Buffer, node: DerNode): Buffer {
  if (node.tag !== Tag.BIT_STRING || node.end - node.valueStart < 1)
    throw malformed('bad BIT STRING');
  if (buf[node.valueStart] !== 0) throw malformed('BIT STRING with unused bits where none allowed');
  return buf.subarray(node.valueStart + 1, node.end);
}

/**
 * The set bit numbers of a named-bit BIT STRING (bit 0 = MSB of the first octet). Enforces the
 * DER rule that unused bits are zero and trailing zero bits are removed (X.690 §11.2).
 */
export function readNamedBits(buf: Buffer, node: DerNode): Set<number> {
  if (node.tag !== Tag.BIT_STRING) throw malformed('expected BIT STRING');
  const len = node.end - node.valueStart;
  if (len < 1) throw malformed('empty BIT STRING');
  const unused = buf[node.valueStart]!;
  if (unused > 7 || (len === 1 && unused !== 0)) throw malformed('bad unused-bit count');
  const bits = new Set<number>();
  for (let i = 1; i < len; i++) {
    const octet = buf[node.valueStart + i]!;
    for (let b = 0; b < 8; b++) if (octet & (0x80 >> b)) bits.add((i - 1) * 8 + b);
  }
  if (len > 1) {
    const last = buf[node.end - 1]!;
    if (last & ((1 << unused) - 1)) throw malformed('non-zero unused bits');
    if ((last & (1 << unused)) === 0) throw malformed('trailing zero bits not removed');
  }
  return bits;
}

function digits(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[at + i]! - 0x30;
    if (c < 0 || c > 9) throw malformed('non-digit in time');
    v = v * 10 + c;
  }
  return v;
}

/**
 * A Time (RFC 5280 §4.1.2.5) as epoch seconds: UTCTime YYMMDDHHMMSSZ (YY ≥ 50 → 19YY) or
 * GeneralizedTime YYYYMMDDHHMMSSZ. Other forms (no seconds, offsets, fractions) are rejected.
 */
export function readTime(buf: Buffer, node: DerNode): number {
  const len = node.end - node.valueStart;
  let at = node.valueStart;
  let year: number;
  if (node.tag === Tag.UTC_TIME && len === 13) {
    const yy = digits(buf, at, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at += 2;
  } else if (node.tag === Tag.GENERALIZED_TIME && len === 15) {
    year = digits(buf, at, 4);
    at += 4;
  } else {
    throw malformed('Time is not UTCTime/GeneralizedTime in RFC 5280 form');
  }
  if (buf[node.end - 1] !== 0x5a) throw malformed('Time not in Zulu');
  const month = digits(buf, at, 2);
  const day = digits(buf, at + 2, 2);
  const hour = digits(buf, at + 4, 2);
  const minute = digits(buf, at + 6, 2);
  const second = digits(buf, at + 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw malformed('Time field out of range');
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) throw malformed('Time names a non-existent day');
  return ms / 1000;
}

/** Dotted notation of OID value octets (X.690 §8.19); for messages and diagnostics. */
export function oidToString(value: Uint8Array): string {
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        arcs.push(first, v - first * 40);
      } else {
        arcs.push(v);
      }
      v = 0;
    }
  }
  return arcs.join('.');
}
