/**
 * Framing of the key custody socket protocol. Every frame:
 *
 *   u32 BE  length    number of bytes that follow (op + id + payload), ≤ MAX_FRAME_LENGTH
 *   u8      op        message type (see protocol.ts)
 *   u32 BE  id        request id, echoed by the response (responses may come out of order)
 *   …       payload   op-specific fields: u8, str (u16 BE length + UTF-8), bytes (u32 BE length + raw)
 *
 * Frames are self-delimiting, so many requests can be in flight on one connection.
 */
import { KeyManagerError } from '../errors.js';

/** Largest accepted frame body (op + id + payload). */
export const MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** Bytes of the frame header: length + op + id. */
export const FRAME_HEADER_LENGTH = 9;

/** One decoded frame. */
export interface Frame {
  /** Message type. */
  readonly op: number;
  /** Request id. */
  readonly id: number;
  /** Op-specific payload (a view into the receive buffer). */
  readonly payload: Buffer;
}

/** Builds one frame; the length prefix is patched in by finish(). */
export class FrameWriter {
  #buf: Buffer;
  #pos = FRAME_HEADER_LENGTH;

  constructor(op: number, id: number, sizeHint = 64) {
    this.#buf = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + sizeHint);
    this.#buf.writeUInt8(op, 4);
    this.#buf.writeUInt32BE(id >>> 0, 5);
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  /** Appends one byte. */
  u8(v: number): this {
    this.#reserve(1);
    this.#buf.writeUInt8(v, this.#pos);
    this.#pos += 1;
    return this;
  }

  /** Appends a float64 (timestamps). */
  f64(v: number): this {
    this.#reserve(8);
    this.#buf.writeDoubleBE(v, this.#pos);
    this.#pos += 8;
    return this;
  }

  /** Appends a u32. */
  u32(v: number): this {
    this.#reserve(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#pos);
    this.#pos += 4;
    return this;
  }

  /** Appends a UTF-8 string with a u16 length (≤ 65535 bytes). */
  str(v: string): this {
    const len = Buffer.byteLength(v, 'utf8');
    if (len > 0xffff)
      throw new KeyManagerError('INVALID_ARGUMENT', 'string field longer than 65535 bytes');
    this.#reserve(2 + len);
    this.#buf.writeUInt16BE(len, this.#pos);
    this.#buf.write(v, this.#pos + 2, len, 'utf8');
    this.#pos += 2 + len;
    return this;
  }

  /** Appends bytes with a u32 length. */
  bytes(v: Uint8Array): this {
    this.#reserve(4 + v.length);
    this.#buf.writeUInt32BE(v.length, this.#pos);
    this.#buf.set(v, this.#pos + 4);
    this.#pos += 4 + v.length;
    return this;
  }

  /** The finished frame. */
  finish(): Buffer {
    const bodyLength = this.#pos - 4;
    if (bodyLength > MAX_FRAME_LENGTH)
      throw new KeyManagerError('INVALID_ARGUMENT', 'frame too large');
    this.#buf.writeUInt32BE(bodyLength, 0);
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Reads the fields of one payload in order; throws PROTOCOL_ERROR on truncation. */
export class PayloadReader {
  #pos = 0;

  constructor(private readonly buf: Buffer) {}

  #need(n: number): void {
    if (this.#pos + n > this.buf.length)
      throw new KeyManagerError('PROTOCOL_ERROR', 'truncated frame payload');
  }

  /** Reads one byte. */
  u8(): number {
    this.#need(1);
    return this.buf.readUInt8(this.#pos++);
  }

  /** Reads a u32. */
  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a float64. */
  f64(): number {
    this.#need(8);
    const v = this.buf.readDoubleBE(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** Reads a u16-prefixed UTF-8 string. */
  str(): string {
    this.#need(2);
    const len = this.buf.readUInt16BE(this.#pos);
    this.#need(2 + len);
    const v = this.buf.toString('utf8', this.#pos + 2, this.#pos + 2 + len);
    this.#pos += 2 + len;
    return v;
  }

  /** Reads u32-prefixed bytes (copied, so the receive buffer can be reused). */
  bytes(): Uint8Array {
    const len = this.u32();
    this.#need(len);
    const v = new Uint8Array(len);
    v.set(this.buf.subarray(this.#pos, this.#pos + len));
    this.#pos += len;
    return v;
  }

  /** Throws PROTOCOL_ERROR if bytes are left over. */
  end(): void {
    if (this.#pos !== this.buf.length)
      throw new KeyManagerError('PROTOCOL_ERROR', 'trailing bytes in frame payload');
  }
}

/**
 * Incremental frame decoder: feed socket chunks, get whole frames. Throws PROTOCOL_ERROR on an
 * oversized or undersized length (the connection must then be dropped).
 */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameLength = MAX_FRAME_LENGTH) {}

  /** Adds a chunk and returns every frame it completes. */
  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: Frame[] = [];
    let pos = 0;
    const buf = this.#buf;
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos);
      if (len < FRAME_HEADER_LENGTH - 4 || len > this.maxFrameLength) {
        throw new KeyManagerError('PROTOCOL_ERROR', `bad frame length ${len}`);
      }
      if (buf.length - pos - 4 < len) break;
      frames.push({
        op: buf.readUInt8(pos + 4),
        id: buf.readUInt32BE(pos + 5),
        payload: buf.subarray(pos + FRAME_HEADER_LENGTH, pos + 4 + len),
      });
      pos += 4 + len;
    }
    // Keep only the incomplete tail (copied so a big chunk is not pinned by a small remainder).
    this.#buf =
      pos === buf.length ? Buffer.alloc(0) : pos === 0 ? buf : Buffer.from(buf.subarray(pos));
    return frames;
  }

  /** Bytes buffered towards an incomplete frame. */
  get pending(): number {
    return this.#buf.length;
  }
}
