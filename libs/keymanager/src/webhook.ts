/**
 * The `webhook` KeyManager: a client of the Key Manager Extension contract. Keys live behind
 * an HTTPS service; this side holds only public keys and fingerprints, and verifies every
 * signature it gets back against the known public key before returning it.
 *
 * Contract (JSON bodies, binary fields base64):
 *   POST /keys                {key_id, key_type}            → 201 {public_key (SPKI DER), fingerprint}
 *   GET  /keys                                              → 200 {keys: [{key_id, key_type, public_key, fingerprint}]}
 *   POST /keys/{id}/sign      {digest, hash_algorithm}      → 200 {signature (DER), key_fingerprint}
 *   POST /keys/{id}/release                                 → 200 or 204
 * fingerprint = lowercase hex SHA-256 of the SPKI DER.
 */
import { readFileSync, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { KeyManagerError, toKeyManagerError, UNHEALTHY_BACKEND_CODES } from './errors.js';
import {
  assertKeyId,
  assertKeyType,
  assertSignRequest,
  fingerprintOf,
  hashMessage,
  keyInfoFromSpki,
  verifySignature,
} from './keys.js';
import { parseGoDuration } from './duration.js';
import {
  isDigestRequest,
  systemClock,
  type Clock,
  type KeyInfo,
  type KeyManager,
  type KeyManagerHealth,
  type KeyType,
  type SignRequest,
} from './types.js';

/** Options of the webhook KeyManager (the `webhook` KeyManager config section). */
export interface WebhookKeyManagerOptions {
  /** Base URL of the Key Manager Extension, e.g. https://km.internal:8443. Required. */
  readonly webhookURL: string;
  /** How to authenticate to the webhook. Default "none". */
  readonly authType?: 'none' | 'bearer';
  /** File holding the bearer token (read on every request, so it can be rotated). Required for bearer unless `token` is given. */
  readonly tokenPath?: string;
  /** The bearer token itself (a token the signer unsealed); instead of tokenPath. */
  readonly token?: string;
  /** Per-request timeout as a Go duration string. Default "30s". */
  readonly timeout?: string;
  /** PEM CA certificate(s) to trust for the webhook's TLS certificate (instead of the system roots). */
  readonly caCertPath?: string;
  /** Allow plain http:// URLs. Tests only. */
  readonly allowInsecureForTests?: boolean;
  /** Injected clock (health timestamps). */
  readonly clock?: Clock;
}

const DEFAULT_TIMEOUT = '30s';
const MAX_RESPONSE_BYTES = 1024 * 1024;
const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

interface HttpResult {
  status: number;
  body: unknown;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function protocolError(what: string): KeyManagerError {
  return new KeyManagerError('WEBHOOK_PROTOCOL', `webhook response: ${what}`);
}

function base64Field(obj: JsonObject, name: string): Uint8Array {
  const v = obj[name];
  if (typeof v !== 'string' || v.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw protocolError(`${name} must be a non-empty base64 string`);
  }
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function fingerprintField(obj: JsonObject, name: string): string {
  const v = obj[name];
  if (typeof v !== 'string' || !FINGERPRINT_PATTERN.test(v.toLowerCase())) {
    throw protocolError(`${name} must be a hex SHA-256 fingerprint`);
  }
  return v.toLowerCase();
}

/** Checks a key record from the webhook: SPKI of the declared type whose SHA-256 is the fingerprint. */
function keyInfoFromWire(keyId: string, keyType: KeyType, obj: JsonObject): KeyInfo {
  const spki = base64Field(obj, 'public_key');
  const claimed = fingerprintField(obj, 'fingerprint');
  if (fingerprintOf(spki) !== claimed) {
    throw new KeyManagerError(
      'FINGERPRINT_MISMATCH',
      `webhook reported fingerprint ${claimed} for key ${keyId}, but its public key hashes to ${fingerprintOf(spki)}`,
    );
  }
  try {
    return keyInfoFromSpki(keyId, keyType, spki);
  } catch (cause) {
    throw new KeyManagerError(
      'WEBHOOK_PROTOCOL',
      `webhook returned an unusable public key for ${keyId}`,
      { cause },
    );
  }
}

/** A webhook setting that cannot work, and why (the option named by `key`). */
export interface WebhookEndpointProblem {
  readonly key: 'webhookURL' | 'timeout' | 'caCertPath';
  readonly message: string;
}

/**
 * The rules of a webhook's endpoint settings, in one place for everyone who reads them: the
 * registry before it stores a config section, parseKeyManagerConfig, and the KeyManager itself.
 */
export function webhookEndpointProblems(options: {
  readonly webhookURL: string;
  readonly timeout?: string | undefined;
  readonly caCertPath?: string | undefined;
  readonly allowInsecureForTests?: boolean | undefined;
}): WebhookEndpointProblem[] {
  const problems: WebhookEndpointProblem[] = [];
  let url: URL | undefined;
  try {
    url = new URL(options.webhookURL);
  } catch {
    problems.push({ key: 'webhookURL', message: `not a URL: ${options.webhookURL}` });
  }
  if (url !== undefined) {
    if (
      url.protocol !== 'https:' &&
      !(url.protocol === 'http:' && options.allowInsecureForTests === true)
    ) {
      problems.push({
        key: 'webhookURL',
        message: `must be https:// (got ${url.protocol}); plain http only with allowInsecureForTests`,
      });
    }
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      problems.push({
        key: 'webhookURL',
        message: 'must not carry credentials, a query or a fragment',
      });
    }
    if (options.caCertPath !== undefined && url.protocol !== 'https:') {
      problems.push({ key: 'caCertPath', message: 'only meaningful with an https:// webhookURL' });
    }
  }
  let timeoutMs = Number.NaN;
  try {
    timeoutMs = parseGoDuration(options.timeout ?? DEFAULT_TIMEOUT);
  } catch {
    problems.push({ key: 'timeout', message: `${String(options.timeout)} is not a Go duration` });
  }
  if (!Number.isNaN(timeoutMs) && !(timeoutMs > 0))
    problems.push({ key: 'timeout', message: 'must be positive' });
  return problems;
}

/** KeyManager backed by a Key Manager Extension webhook. Call start() before use. */
export class WebhookKeyManager implements KeyManager {
  readonly #base: URL;
  readonly #authType: 'none' | 'bearer';
  readonly #tokenPath: string | undefined;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  readonly #clock: Clock;
  readonly #keys = new Map<string, KeyInfo>();
  #discovered = false;
  #closed = false;
  #health: KeyManagerHealth;

  /** Validates the options (CONFIG_INVALID naming the option) and prepares the HTTP agent. */
  constructor(options: WebhookKeyManagerOptions) {
    const bad: (key: string, why: string) => never = (key, why) => {
      throw new KeyManagerError('CONFIG_INVALID', `webhook key manager: ${key}: ${why}`);
    };
    this.#clock = options.clock ?? systemClock;
    this.#health = {
      ready: false,
      lastErrorCode: 'NOT_STARTED',
      lastErrorMessage: 'keys not discovered yet',
      since: this.#clock.now(),
    };
    if (typeof options.webhookURL !== 'string' || options.webhookURL === '')
      bad('webhookURL', 'required');
    const endpoint = webhookEndpointProblems(options);
    const first = (key: WebhookEndpointProblem['key']): void => {
      const problem = endpoint.find((p) => p.key === key);
      if (problem !== undefined) bad(problem.key, problem.message);
    };
    first('webhookURL');
    const base = new URL(options.webhookURL);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#base = base;

    const authType = options.authType ?? 'none';
    if (authType !== 'none' && authType !== 'bearer')
      bad('authType', `must be none or bearer, got ${String(authType)}`);
    this.#authType = authType;
    const hasToken = typeof options.token === 'string' && options.token !== '';
    if (
      authType === 'bearer' &&
      !hasToken &&
      (typeof options.tokenPath !== 'string' || options.tokenPath === '')
    ) {
      bad('tokenPath', 'required when authType is bearer (or a token)');
    }
    if (hasToken && /[\r\n]/.test(options.token ?? '')) bad('token', 'must be one line');
    this.#tokenPath = options.tokenPath;
    this.#token = hasToken ? options.token : undefined;

    first('timeout');
    this.#timeoutMs = parseGoDuration(options.timeout ?? DEFAULT_TIMEOUT);

    let ca: Buffer | undefined;
    first('caCertPath');
    if (options.caCertPath !== undefined) {
      try {
        ca = readFileSync(options.caCertPath);
      } catch (cause) {
        throw new KeyManagerError(
          'CONFIG_INVALID',
          `webhook key manager: caCertPath: cannot read ${options.caCertPath}`,
          {
            cause,
          },
        );
      }
    }
    if (base.protocol === 'https:') {
      this.#transport = https;
      this.#agent = new https.Agent({
        keepAlive: true,
        maxSockets: 64,
        ...(ca === undefined ? {} : { ca }),
      });
    } else {
      this.#transport = http;
      this.#agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    }
  }

  /**
   * Discovers the keys the webhook already holds (GET /keys). On failure the KeyManager stays
   * not ready and the typed error is thrown; later calls retry discovery.
   */
  async start(): Promise<void> {
    await this.#refresh();
  }

  async create(keyId: string, keyType: KeyType): Promise<KeyInfo> {
    this.#assertOpen();
    assertKeyId(keyId);
    assertKeyType(keyType);
    return this.#tracked(async () => {
      const res = await this.#request('POST', 'keys', { key_id: keyId, key_type: keyType });
      if (res.status === 409)
        throw new KeyManagerError('KEY_EXISTS', `key ${keyId} already exists in the webhook`);
      this.#expectStatus(res, [200, 201], `create ${keyId}`);
      if (!isObject(res.body)) throw protocolError('create: body must be a JSON object');
      const info = keyInfoFromWire(keyId, keyType, res.body);
      this.#keys.set(keyId, info);
      return info;
    });
  }

  async list(): Promise<KeyInfo[]> {
    this.#assertOpen();
    await this.#tracked(() => this.#refresh());
    return this.#sorted();
  }

  async publicKey(keyId: string): Promise<KeyInfo> {
    this.#assertOpen();
    assertKeyId(keyId);
    return this.#known(keyId);
  }

  async sign(keyId: string, request: SignRequest): Promise<Uint8Array> {
    this.#assertOpen();
    assertKeyId(keyId);
    assertSignRequest(request);
    const info = await this.#known(keyId);
    const digest = isDigestRequest(request)
      ? request.digest
      : hashMessage(request.hashAlgorithm, request.message);
    return this.#tracked(async () => {
      const res = await this.#request('POST', `keys/${encodeURIComponent(keyId)}/sign`, {
        digest: Buffer.from(digest).toString('base64'),
        hash_algorithm: request.hashAlgorithm,
      });
      if (res.status === 404)
        throw new KeyManagerError('KEY_NOT_FOUND', `key ${keyId} not found in the webhook`);
      this.#expectStatus(res, [200], `sign with ${keyId}`);
      if (!isObject(res.body)) throw protocolError('sign: body must be a JSON object');
      const signature = base64Field(res.body, 'signature');
      const reported = fingerprintField(res.body, 'key_fingerprint');
      if (reported !== info.fingerprint) {
        throw new KeyManagerError(
          'FINGERPRINT_MISMATCH',
          `webhook signed with key fingerprint ${reported}, expected ${info.fingerprint} for ${keyId}`,
        );
      }
      // Verify against the public key we know: a webhook that lies about the key is caught here.
      if (!verifySignature(info, request, signature)) {
        throw new KeyManagerError(
          'SIGNATURE_INVALID',
          `webhook returned a signature that does not verify under ${keyId}`,
        );
      }
      return signature;
    });
  }

  async release(keyId: string): Promise<void> {
    this.#assertOpen();
    assertKeyId(keyId);
    await this.#tracked(async () => {
      const res = await this.#request('POST', `keys/${encodeURIComponent(keyId)}/release`, {});
      if (res.status === 404)
        throw new KeyManagerError('KEY_NOT_FOUND', `key ${keyId} not found in the webhook`);
      this.#expectStatus(res, [200, 204], `release ${keyId}`);
      this.#keys.delete(keyId);
    });
  }

  ready(): boolean {
    return this.#health.ready;
  }

  health(): KeyManagerHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#setHealth(false, 'CLOSED', 'key manager closed');
    this.#agent.destroy();
  }

  #sorted(): KeyInfo[] {
    return [...this.#keys.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
  }

  /** A known key, re-listing once on a miss (or before first discovery). */
  async #known(keyId: string): Promise<KeyInfo> {
    let info = this.#keys.get(keyId);
    if (info === undefined) {
      await this.#tracked(() => this.#refresh());
      info = this.#keys.get(keyId);
    }
    if (info === undefined) throw new KeyManagerError('KEY_NOT_FOUND', `key ${keyId} not found`);
    return info;
  }

  async #refresh(): Promise<void> {
    await this.#tracked(async () => {
      const res = await this.#request('GET', 'keys', undefined);
      this.#expectStatus(res, [200], 'list keys');
      if (!isObject(res.body) || !Array.isArray(res.body.keys))
        throw protocolError('list: body must be {keys: [...]}');
      const next = new Map<string, KeyInfo>();
      for (const entry of res.body.keys) {
        if (!isObject(entry)) throw protocolError('list: every key must be an object');
        const keyId = entry.key_id;
        const keyType = entry.key_type;
        try {
          assertKeyId(keyId);
          assertKeyType(keyType);
        } catch (cause) {
          throw new KeyManagerError(
            'WEBHOOK_PROTOCOL',
            `webhook response: list: bad key_id/key_type`,
            { cause },
          );
        }
        next.set(keyId, keyInfoFromWire(keyId, keyType, entry));
      }
      this.#keys.clear();
      for (const [id, info] of next) this.#keys.set(id, info);
      this.#discovered = true;
    });
  }

  /** Runs a webhook interaction, updating health: success → ready; backend failure → not ready. */
  async #tracked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const out = await fn();
      if (this.#discovered && !this.#health.ready && !this.#closed) this.#setHealth(true);
      return out;
    } catch (err) {
      const e = toKeyManagerError(err, 'INTERNAL', 'webhook key manager failed');
      if (UNHEALTHY_BACKEND_CODES.has(e.code)) this.#setHealth(false, e.code, e.message);
      throw e;
    }
  }

  #setHealth(ready: boolean, code?: string, message?: string): void {
    const since = this.#clock.now();
    this.#health = ready
      ? { ready, since }
      : { ready, lastErrorCode: code, lastErrorMessage: message, since };
  }

  #expectStatus(res: HttpResult, ok: readonly number[], what: string): void {
    if (ok.includes(res.status)) return;
    if (res.status === 401 || res.status === 403) {
      throw new KeyManagerError(
        'WEBHOOK_UNAUTHORIZED',
        `webhook refused our credentials (${res.status}) on ${what}`,
      );
    }
    const detail =
      isObject(res.body) && typeof res.body.error === 'string'
        ? `: ${res.body.error.slice(0, 200)}`
        : '';
    throw new KeyManagerError(
      'WEBHOOK_ERROR',
      `webhook answered ${res.status} on ${what}${detail}`,
    );
  }

  async #authHeader(): Promise<Record<string, string>> {
    if (this.#authType !== 'bearer') return {};
    if (this.#token !== undefined) return { authorization: `Bearer ${this.#token}` };
    if (this.#tokenPath === undefined) return {};
    let token: string;
    try {
      token = (await fs.readFile(this.#tokenPath, 'utf8')).trim();
    } catch (cause) {
      throw new KeyManagerError(
        'CONFIG_INVALID',
        `webhook key manager: tokenPath: cannot read ${this.#tokenPath}`,
        {
          cause,
        },
      );
    }
    if (token === '' || /[\r\n]/.test(token)) {
      throw new KeyManagerError(
        'CONFIG_INVALID',
        `webhook key manager: tokenPath: ${this.#tokenPath} holds no usable token`,
      );
    }
    return { authorization: `Bearer ${token}` };
  }

  async #request(method: 'GET' | 'POST', path: string, body: unknown): Promise<HttpResult> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(await this.#authHeader()),
    };
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const url = new URL(path, this.#base);
    const timeoutMs = this.#timeoutMs;
    return new Promise<HttpResult>((resolve, reject) => {
      let timedOut = false;
      let settled = false;
      const finish = (err: KeyManagerError | undefined, result?: HttpResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== undefined) reject(err);
        else resolve(result as HttpResult);
      };
      const req = this.#transport.request(url, { method, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            finish(protocolError(`body larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          if (text.trim() !== '') {
            try {
              parsed = JSON.parse(text);
            } catch {
              if ((res.statusCode ?? 0) < 300) {
                finish(protocolError(`${method} ${url.pathname}: body is not JSON`));
                return;
              }
            }
          }
          finish(undefined, { status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', (cause) => finish(this.#transportError(cause, timedOut, url)));
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
        finish(
          new KeyManagerError(
            'WEBHOOK_TIMEOUT',
            `webhook ${method} ${url.pathname} timed out after ${timeoutMs}ms`,
          ),
        );
      }, timeoutMs);
      req.on('error', (cause) => finish(this.#transportError(cause, timedOut, url)));
      req.end(payload);
    });
  }

  #transportError(cause: unknown, timedOut: boolean, url: URL): KeyManagerError {
    if (timedOut)
      return new KeyManagerError('WEBHOOK_TIMEOUT', `webhook ${url.origin} timed out`, { cause });
    const code = (cause as NodeJS.ErrnoException).code ?? 'unknown';
    return new KeyManagerError(
      'WEBHOOK_UNREACHABLE',
      `webhook ${url.origin} unreachable (${code})`,
      { cause },
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeyManagerError('CLOSED', 'key manager closed');
  }
}
