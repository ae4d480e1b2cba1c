/**
 * The custody side of the socket: accepts connections only from peers whose kernel-reported uid
 * (SO_PEERCRED) equals our own, decodes pipelined request frames, answers each as soon as it is
 * done (possibly out of order) and coalesces the answers of one tick into one write.
 */
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import { getPeerCredentials } from '@trustplane/peercred';
import { KeyManagerError, isKeyManagerError } from '../errors.js';
import { openKeyManager, type KeyManagerConfig } from '../config.js';
import { isSyncSigner } from '../local.js';
import type { KeyManager } from '../types.js';
import { FrameDecoder, type Frame } from './frame.js';
import {
  decodeRequest,
  encodeResponse,
  type CustodyRequest,
  type CustodyResponse,
} from './protocol.js';

/** Structured log sink (one object per event; never carries key material). */
export type CustodyLog = (event: Record<string, unknown>) => void;

/** Options of the custody server. */
export interface CustodyServerOptions {
  /** Path of the Unix socket to listen on (its directory must exist, 0700). */
  readonly socketPath: string;
  /** The KeyManager to serve. */
  readonly keyManager: KeyManager;
  /** Uid allowed to connect; default our own effective uid. */
  readonly allowedUid?: number;
  /** Log sink. */
  readonly log?: CustodyLog;
}

/** Requests in flight per connection before we stop reading from it (backpressure). */
const MAX_IN_FLIGHT = 8192;

/** A KeyManager generation: retired generations close once their last call finishes. */
interface Generation {
  readonly km: KeyManager;
  inFlight: number;
  retired: boolean;
}

/** Listens on a Unix socket and serves a KeyManager to same-uid peers. */
export class CustodyServer {
  readonly #server: net.Server;
  readonly #allowedUid: number;
  readonly #log: CustodyLog;
  readonly #socketPath: string;
  readonly #connections = new Set<net.Socket>();
  #gen: Generation;
  #reconfiguring: Promise<void> = Promise.resolve();

  private constructor(options: CustodyServerOptions) {
    this.#socketPath = options.socketPath;
    this.#allowedUid = options.allowedUid ?? process.geteuid?.() ?? -1;
    this.#log = options.log ?? (() => undefined);
    this.#gen = { km: options.keyManager, inFlight: 0, retired: false };
    this.#server = net.createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  /** Starts listening; the socket file is chmod 0600 before the first accept. */
  static async listen(options: CustodyServerOptions): Promise<CustodyServer> {
    const server = new CustodyServer(options);
    await server.#listen();
    return server;
  }

  async #listen(): Promise<void> {
    try {
      const st = await fs.lstat(this.#socketPath);
      // Only ever remove a stale socket, never a regular file someone pointed us at.
      if (!st.isSocket())
        throw new KeyManagerError(
          'CONFIG_INVALID',
          `${this.#socketPath} exists and is not a socket`,
        );
      await fs.unlink(this.#socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#socketPath, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    await fs.chmod(this.#socketPath, 0o600);
  }

  /** The KeyManager currently served. */
  get keyManager(): KeyManager {
    return this.#gen.km;
  }

  /** Switches to a freshly built KeyManager; the old one is closed when its last call finishes. */
  async reconfigure(config: KeyManagerConfig): Promise<void> {
    const run = async (): Promise<void> => {
      const km = await openKeyManager(config, { requireReady: true });
      const old = this.#gen;
      this.#gen = { km, inFlight: 0, retired: false };
      old.retired = true;
      this.#maybeCloseRetired(old);
      this.#log({ event: 'reconfigured', kind: config.kind });
    };
    // Serialise reconfigures so the last one wins deterministically.
    const next = this.#reconfiguring.then(run, run);
    this.#reconfiguring = next.catch(() => undefined);
    return next;
  }

  /** Stops accepting, drops connections, removes the socket file and closes the KeyManager. */
  async close(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await fs.rm(this.#socketPath, { force: true });
    await this.#gen.km.close();
  }

  #maybeCloseRetired(gen: Generation): void {
    if (gen.retired && gen.inFlight === 0) {
      gen.km
        .close()
        .catch((err: unknown) => this.#log({ event: 'close_failed', error: String(err) }));
    }
  }

  #accept(socket: net.Socket): void {
    let creds: { pid: number; uid: number; gid: number };
    try {
      creds = getPeerCredentials(socket);
    } catch (err) {
      this.#log({ event: 'peer_rejected', reason: 'no peer credentials', error: String(err) });
      socket.destroy();
      return;
    }
    if (creds.uid !== this.#allowedUid) {
      // Checked before a single byte is read from the peer.
      this.#log({
        event: 'peer_rejected',
        reason: 'uid mismatch',
        peerUid: creds.uid,
        peerPid: creds.pid,
      });
      socket.destroy();
      return;
    }
    this.#log({ event: 'peer_accepted', peerUid: creds.uid, peerPid: creds.pid });
    this.#connections.add(socket);
    new Connection(socket, this, this.#log, () => this.#connections.delete(socket));
    socket.resume();
  }

  /** Runs one request against the current KeyManager; sync fast path for local signing. */
  handle(req: CustodyRequest, respond: (res: CustodyResponse) => void): void {
    const gen = this.#gen;
    if (req.op === 'sign' && isSyncSigner(gen.km)) {
      try {
        respond({ kind: 'signature', signature: gen.km.signSync(req.keyId, req.request) });
      } catch (err) {
        respond(errorResponse(err));
      }
      return;
    }
    gen.inFlight++;
    this.#run(gen.km, req)
      .then(respond, (err: unknown) => respond(errorResponse(err)))
      .finally(() => {
        gen.inFlight--;
        this.#maybeCloseRetired(gen);
      });
  }

  async #run(km: KeyManager, req: CustodyRequest): Promise<CustodyResponse> {
    switch (req.op) {
      case 'create':
        return { kind: 'keyInfo', info: await km.create(req.keyId, req.keyType) };
      case 'list':
        return { kind: 'keyList', keys: await km.list() };
      case 'publicKey':
        return { kind: 'keyInfo', info: await km.publicKey(req.keyId) };
      case 'sign':
        return { kind: 'signature', signature: await km.sign(req.keyId, req.request) };
      case 'release':
        await km.release(req.keyId);
        return { kind: 'ok' };
      case 'reconfigure':
        await this.reconfigure(req.config);
        return { kind: 'ok' };
      case 'health':
        return { kind: 'health', health: this.#gen.km.health() };
      default: {
        const never: never = req;
        throw new KeyManagerError('PROTOCOL_ERROR', `unknown request ${JSON.stringify(never)}`);
      }
    }
  }
}

/** Maps anything thrown to an error response; unknown failures do not leak their details. */
function errorResponse(err: unknown): CustodyResponse {
  if (isKeyManagerError(err)) return { kind: 'error', code: err.code, message: err.message };
  return { kind: 'error', code: 'INTERNAL', message: 'internal error in key custody' };
}

/** One accepted peer connection. */
class Connection {
  readonly #decoder = new FrameDecoder();
  #out: Buffer[] = [];
  #flushScheduled = false;
  #inFlight = 0;
  #paused = false;
  #closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly server: CustodyServer,
    private readonly log: CustodyLog,
    onClose: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#maybeResume());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      onClose();
    });
  }

  #onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.log({ event: 'protocol_error', error: String(err) });
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      let req: CustodyRequest;
      try {
        req = decodeRequest(frame);
      } catch (err) {
        this.#send(frame.id, errorResponse(err));
        continue;
      }
      this.#inFlight++;
      const id = frame.id;
      this.server.handle(req, (res) => {
        this.#inFlight--;
        this.#send(id, res);
      });
    }
    if (this.#inFlight >= MAX_IN_FLIGHT && !this.#paused) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  #send(id: number, res: CustodyResponse): void {
    if (this.#closed) return;
    this.#out.push(encodeResponse(id, res));
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Everything answered in this tick goes out in one write.
      process.nextTick(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#out.length === 0) return;
    const data = this.#out.length === 1 ? (this.#out[0] as Buffer) : Buffer.concat(this.#out);
    this.#out = [];
    const ok = this.socket.write(data);
    if (ok) this.#maybeResume();
    else if (!this.#paused) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#inFlight < MAX_IN_FLIGHT / 2 && this.socket.writableLength === 0) {
      this.#paused = false;
      this.socket.resume();
    }
  }
}
