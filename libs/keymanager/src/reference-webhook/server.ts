/**
 * Reference implementation of the Key Manager Extension webhook contract, over HTTPS, with its
 * keys in its own KeyManager (memory by default). Writes one JSON log line per sign request,
 * including its own pid, so tests can tell which process signed.
 */
import { timingSafeEqual, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isKeyManagerError } from '../errors.js';
import { LocalKey, assertHashAlgorithm } from '../keys.js';
import { MemoryKeyManager } from '../memory.js';
import { DIGEST_LENGTH, type KeyInfo, type KeyManager, type KeyType } from '../types.js';

/** Deliberate misbehaviour, for testing clients. */
export type ReferenceWebhookFault =
  /** Behave. */
  | 'none'
  /** Sign correctly but report a wrong key_fingerprint. */
  | 'wrong-fingerprint'
  /** Report the right fingerprint but sign with a different key. */
  | 'wrong-key'
  /** Delay every response by faultDelayMs. */
  | 'slow';

/** Options of the reference webhook. */
export interface ReferenceWebhookOptions {
  /** Interface to bind; default 127.0.0.1. */
  readonly host?: string;
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** PEM server certificate (chain). */
  readonly cert: string | Buffer;
  /** PEM private key of the server certificate. */
  readonly key: string | Buffer;
  /** File holding the bearer token clients must present; no auth when absent. */
  readonly tokenFile?: string;
  /** Where keys live; default a fresh MemoryKeyManager. */
  readonly keyManager?: KeyManager;
  /** Log sink, one JSON object per line; default stdout. */
  readonly log?: (line: string) => void;
  /** Misbehaviour for client tests; default none. */
  readonly fault?: ReferenceWebhookFault;
  /** Delay for the `slow` fault, ms. */
  readonly faultDelayMs?: number;
}

/** A running reference webhook. */
export interface ReferenceWebhook {
  /** Bound port. */
  readonly port: number;
  /** Base URL, https://host:port. */
  readonly url: string;
  /** Stops listening and drops connections. */
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function wireKey(info: KeyInfo): Record<string, string> {
  return {
    key_id: info.keyId,
    key_type: info.keyType,
    public_key: Buffer.from(info.publicKeyDer).toString('base64'),
    fingerprint: info.fingerprint,
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'body must be an object');
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Starts the reference webhook over HTTPS. */
export async function startReferenceWebhook(
  options: ReferenceWebhookOptions,
): Promise<ReferenceWebhook> {
  const km = options.keyManager ?? new MemoryKeyManager();
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const fault = options.fault ?? 'none';
  const decoys = new Map<KeyType, LocalKey>();

  const checkAuth = (req: IncomingMessage): void => {
    if (options.tokenFile === undefined) return;
    const expected = Buffer.from(`Bearer ${readFileSync(options.tokenFile, 'utf8').trim()}`);
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      throw new HttpError(401, 'unauthorized');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://reference.invalid');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    checkAuth(req);
    if (fault === 'slow') await new Promise((r) => setTimeout(r, options.faultDelayMs ?? 1000));
    if (url.pathname === '/keys') {
      if (req.method === 'GET') return send(res, 200, { keys: (await km.list()).map(wireKey) });
      if (req.method === 'POST') {
        const body = await readJson(req);
        const info = await km.create(body.key_id as string, body.key_type as KeyType);
        const { public_key, fingerprint } = wireKey(info);
        return send(res, 201, {
          key_id: info.keyId,
          key_type: info.keyType,
          public_key,
          fingerprint,
        });
      }
      throw new HttpError(405, 'method not allowed');
    }
    const m = /^\/keys\/([^/]+)\/(sign|release)$/.exec(url.pathname);
    if (m === null) throw new HttpError(404, 'no such route');
    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    const keyId = decodeURIComponent(m[1] as string);
    const body = await readJson(req);
    if (m[2] === 'release') {
      await km.release(keyId);
      return send(res, 204);
    }
    const hashAlgorithm = body.hash_algorithm;
    assertHashAlgorithm(hashAlgorithm);
    if (typeof body.digest !== 'string') throw new HttpError(400, 'digest must be base64');
    const digest = new Uint8Array(Buffer.from(body.digest, 'base64'));
    if (digest.length !== DIGEST_LENGTH[hashAlgorithm])
      throw new HttpError(400, 'digest length does not match hash_algorithm');
    const info = await km.publicKey(keyId);
    let signature: Uint8Array;
    if (fault === 'wrong-key') {
      let decoy = decoys.get(info.keyType);
      if (decoy === undefined) {
        decoy = await LocalKey.generate('decoy', info.keyType);
        decoys.set(info.keyType, decoy);
      }
      signature = decoy.sign({ digest, hashAlgorithm });
    } else {
      signature = await km.sign(keyId, { digest, hashAlgorithm });
    }
    const keyFingerprint =
      fault === 'wrong-fingerprint'
        ? createHash('sha256').update(randomBytes(32)).digest('hex')
        : info.fingerprint;
    log(
      JSON.stringify({
        ts: new Date().toISOString(),
        pid: process.pid,
        event: 'sign',
        key_id: keyId,
        hash_algorithm: hashAlgorithm,
        key_fingerprint: info.fingerprint,
      }),
    );
    return send(res, 200, {
      signature: Buffer.from(signature).toString('base64'),
      key_fingerprint: keyFingerprint,
    });
  };

  const server = https.createServer({ cert: options.cert, key: options.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return send(res, err.status, { error: err.message });
      if (isKeyManagerError(err)) {
        const status =
          err.code === 'KEY_NOT_FOUND'
            ? 404
            : err.code === 'KEY_EXISTS'
              ? 409
              : ['INVALID_ARGUMENT', 'UNSUPPORTED_KEY_TYPE', 'UNSUPPORTED_HASH_ALGORITHM'].includes(
                    err.code,
                  )
                ? 400
                : 500;
        return send(res, status, { error: err.message, code: err.code });
      }
      log(
        JSON.stringify({
          ts: new Date().toISOString(),
          pid: process.pid,
          event: 'error',
          error: String(err),
        }),
      );
      return send(res, 500, { error: 'internal error' });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  return {
    port,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
