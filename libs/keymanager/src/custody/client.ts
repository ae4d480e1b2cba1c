/**
 * The parent side of key custody: a KeyManager that forwards every call over the custody Unix
 * socket. Calls are pipelined on one connection (request ids, answers in any order); all frames
 * issued in one tick go out in one write. When the connection is down, calls fail at once with
 * CUSTODY_UNAVAILABLE; calls in flight fail when it drops or when their deadline passes.
 */
import * as net from 'node:net';
import { KeyManagerError, UNHEALTHY_BACKEND_CODES } from '../errors.js';
import { assertKeyId, assertKeyType, assertSignRequest } from '../keys.js';
import { parseKeyManagerConfig, type KeyManagerConfig } from '../config.js';
import {
  systemClock,
  type Clock,
  type KeyInfo,
  type KeyManager,
  type KeyManagerHealth,
  type KeyType,
  type SignRequest,
} from '../types.js';
import { FrameDecoder } from './frame.js';
import {
  decodeResponse,
  encodeRequest,
  type CustodyRequest,
  type CustodyResponse,
} from './protocol.js';

/** Options of the custody client. */
export interface CustodyClientOptions {
  /** Per-call deadline in ms; default 10 000. */
  readonly callTimeoutMs?: number;
  /** Injected clock (deadlines, health timestamps). */
  readonly clock?: Clock;
}

interface Pending {
  resolve(res: CustodyResponse): void;
  reject(err: KeyManagerError): void;
  deadline: number;
}


/** KeyManager that talks to the key custody child process. */
export class CustodyClient implements KeyManager {
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending>();
  #socket: net.Socket | undefined;
  #decoder = new FrameDecoder();
  #out: Buffer[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  #health: KeyManagerHealth;

  constructor(options: CustodyClientOptions = {}) {
    this.#timeoutMs = options.callTimeoutMs ?? 10_000;
    this.#clock = options.clock ?? systemClock;
    this.#health = this.#down('CUSTODY_UNAVAILABLE', 'not connected to key custody');
  }

  /** Connects to the custody socket (called by the supervisor once the child is listening). */
  async connect(socketPath: string): Promise<void> {
    if (this.#closed) throw new KeyManagerError('CLOSED', 'custody client closed');
    this.disconnect('reconnecting');
    const socket = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (cause) =>
        reject(
          new KeyManagerError(
            'CUSTODY_UNAVAILABLE',
            `cannot connect to key custody at ${socketPath}`,
            { cause },
          ),
        ),
      );
    });
    socket.removeAllListeners('error');
    socket.setNoDelay?.(true);
    this.#decoder = new FrameDecoder();
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#socket === socket) this.disconnect('key custody connection closed');
    });
    // Ask for the child's backend health so ready() reflects it right away.
    const res = await this.#call({ op: 'health' });
    if (res.kind === 'health') this.#health = res.health;
  }

  /** Drops the connection and fails every call in flight with CUSTODY_UNAVAILABLE. */
  disconnect(reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#out = [];
    if (socket !== undefined) socket.destroy();
    if (
      !this.#health.ready &&
      this.#health.lastErrorCode === 'CUSTODY_UNAVAILABLE' &&
      this.#pending.size === 0
    )
      return;
    this.#health = this.#down('CUSTODY_UNAVAILABLE', reason);
    this.#failAll(reason);
  }

  /** True while connected to the child. */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** Calls in flight (for tests and metrics). */
  get inFlight(): number {
    return this.#pending.size;
  }

  async create(keyId: string, keyType: KeyType): Promise<KeyInfo> {
    assertKeyId(keyId);
    assertKeyType(keyType);
    const res = await this.#call({ op: 'create', keyId, keyType });
    if (res.kind !== 'keyInfo' || res.info.keyId !== keyId || res.info.keyType !== keyType)
      throw unexpected(res);
    return res.info;
  }

  async list(): Promise<KeyInfo[]> {
    const res = await this.#call({ op: 'list' });
    if (res.kind !== 'keyList') throw unexpected(res);
    return [...res.keys];
  }

  async publicKey(keyId: string): Promise<KeyInfo> {
    assertKeyId(keyId);
    const res = await this.#call({ op: 'publicKey', keyId });
    if (res.kind !== 'keyInfo' || res.info.keyId !== keyId) throw unexpected(res);
    return res.info;
  }

  async sign(keyId: string, request: SignRequest): Promise<Uint8Array> {
    assertKeyId(keyId);
    assertSignRequest(request);
    const res = await this.#call({ op: 'sign', keyId, request });
    if (res.kind !== 'signature') throw unexpected(res);
    return res.signature;
  }

  async release(keyId: string): Promise<void> {
    assertKeyId(keyId);
    const res = await this.#call({ op: 'release', keyId });
    if (res.kind !== 'ok') throw unexpected(res);
  }

  /** Switches the child's KeyManager to `config` at runtime (validated here first). */
  async reconfigure(config: KeyManagerConfig): Promise<void> {
    const res = await this.#call({ op: 'reconfigure', config: parseKeyManagerConfig(config) });
    if (res.kind !== 'ok') throw unexpected(res);
    await this.refreshHealth();
  }

  /** Asks the child for its backend health and returns it. */
  async refreshHealth(): Promise<KeyManagerHealth> {
    const res = await this.#call({ op: 'health' });
    if (res.kind !== 'health') throw unexpected(res);
    this.#health = res.health;
    return res.health;
  }

  ready(): boolean {
    return this.#socket !== undefined && this.#health.ready;
  }

  health(): KeyManagerHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.disconnect('custody client closed');
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #down(code: string, message: string): KeyManagerHealth {
    return {
      ready: false,
      lastErrorCode: code,
      lastErrorMessage: message,
      since: this.#clock.now(),
    };
  }

  #call(req: CustodyRequest): Promise<CustodyResponse> {
    if (this.#closed) return Promise.reject(new KeyManagerError('CLOSED', 'custody client closed'));
    if (this.#socket === undefined) {
      return Promise.reject(
        new KeyManagerError('CUSTODY_UNAVAILABLE', 'key custody is not available (restarting?)'),
      );
    }
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    let frame: Buffer;
    try {
      frame = encodeRequest(id, req);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<CustodyResponse>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: this.#clock.now() + this.#timeoutMs });
      this.#ensureSweeper();
      this.#out.push(frame);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Coalesce every request issued in this tick into one write.
        process.nextTick(() => this.#flush());
      }
    }).then((res) => {
      if (res.kind === 'error') {
        if (UNHEALTHY_BACKEND_CODES.has(res.code)) this.#health = this.#down(res.code, res.message);
        throw new KeyManagerError(res.code, res.message);
      }
      if (!this.#health.ready && this.#socket !== undefined && res.kind !== 'health') {
        this.#health = { ready: true, since: this.#clock.now() };
      }
      return res;
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const socket = this.#socket;
    if (socket === undefined || this.#out.length === 0) return;
    const data = this.#out.length === 1 ? (this.#out[0] as Buffer) : Buffer.concat(this.#out);
    this.#out = [];
    socket.write(data);
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    let frames;
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      if (this.#socket === socket)
        this.disconnect(`protocol error from key custody: ${String(err)}`);
      return;
    }
    for (const frame of frames) {
      const pending = this.#pending.get(frame.id);
      if (pending === undefined) continue; // timed out earlier
      this.#pending.delete(frame.id);
      try {
        pending.resolve(decodeResponse(frame));
      } catch (err) {
        pending.reject(
          err instanceof KeyManagerError
            ? err
            : new KeyManagerError('PROTOCOL_ERROR', 'bad custody response', { cause: err }),
        );
      }
    }
  }

  #failAll(reason: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending)
      p.reject(new KeyManagerError('CUSTODY_UNAVAILABLE', `key custody unavailable: ${reason}`));
  }

  #ensureSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const every = Math.max(20, Math.min(1000, Math.floor(this.#timeoutMs / 10)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(id);
        p.reject(
          new KeyManagerError(
            'CUSTODY_UNAVAILABLE',
            `key custody did not answer within ${this.#timeoutMs}ms`,
          ),
        );
      }
    }
    if (this.#pending.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}

function unexpected(res: CustodyResponse): KeyManagerError {
  return new KeyManagerError('PROTOCOL_ERROR', `unexpected custody response ${res.kind}`);
}
