/**
 * A response body prepared once, when the document changes: the JSON bytes, their gzip and
 * brotli encodings and a validator. Serving a request is a lookup and a write.
 */
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Content codings offered (RFC 9110 §8.4.1), most preferred first. */
export type ContentCoding = 'br' | 'gzip' | 'identity';

/** One prepared response. */
export interface Representation {
  readonly contentType: string;
  /** Weak entity tag (the same for every content coding of the same JSON). */
  readonly etag: string;
  readonly cacheControl: string;
  readonly bodies: Readonly<Record<ContentCoding, Buffer>>;
}

/** Prepares a JSON document; `maxAgeSeconds` becomes `Cache-Control: public, max-age=…`. */
export function prepareJson(value: unknown, maxAgeSeconds: number, contentType = 'application/json'): Representation {
  const identity = Buffer.from(JSON.stringify(value));
  const digest = createHash('sha256').update(identity).digest('base64url').slice(0, 27);
  return {
    contentType,
    etag: `W/"${digest}"`,
    cacheControl: `public, max-age=${Math.max(0, Math.floor(maxAgeSeconds))}`,
    bodies: {
      identity,
      gzip: gzipSync(identity, { level: 9 }),
      br: brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    },
  };
}

/**
 * The coding to answer with for an `Accept-Encoding` header (RFC 9110 §12.5.3): br or gzip
 * whenever the client accepts one (q > 0; the higher q wins, br on a tie), else identity.
 * `*` stands for codings not named; q=0 refuses one.
 */
export function negotiateCoding(header: string | undefined): ContentCoding {
  if (header === undefined || header.trim() === '') return 'identity';
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (name === '') continue;
    let q = 1;
    for (const param of params) {
      const [k, v] = param.trim().split('=');
      if (k === 'q' && v !== undefined) {
        const parsed = Number(v);
        q = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 0;
      }
    }
    weights.set(name, q);
  }
  const br = weights.get('br') ?? weights.get('*') ?? 0;
  const gzip = weights.get('gzip') ?? weights.get('x-gzip') ?? weights.get('*') ?? 0;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return 'identity';
}

/** Whether an `If-None-Match` header matches the tag (weak comparison, RFC 9110 §13.1.2). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const mine = opaque(etag);
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === mine);
}
