/**
 * The SPIFFE Workload API on a Unix-domain socket.
 *
 * Connections are accepted on our own `net.Server`, so the kernel's peer credentials
 * (SO_PEERCRED) can be read from the accepted socket before gRPC sees a byte; the socket is then
 * handed to grpc-js through a connection injector. Each injected socket gets a synthetic
 * `remoteAddress` (`peer-<n>`), which grpc-js reports as `call.getPeer()`: handlers look the
 * connection's attestation up by it. The caller's identity therefore comes only from the kernel
 * and /proc, never from anything the client sends.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  Server as GrpcServer,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { PeerCredError, PeerProcessHandle, getPeerCredentials } from '@trustplane/peercred';
import { workload } from '@trustplane/proto';
import type { Logger } from 'pino';
import {
  AttestationError,
  UnixWorkloadAttestor,
  type WorkloadAttestation,
} from '../attestation/unix-attestor.js';
import type { IdentitySource, WorkloadIdentity } from '../identity-source.js';
import { JwtSvidCache, type Clock } from './jwt-cache.js';
import { JwtValidationError, validateWorkloadJwt } from './jwt-validate.js';
import { WorkloadApiStats, type WorkloadMethod } from './stats.js';
import { WorkloadView, type WorkloadMatch } from './view.js';

/** The metadata key every Workload API call must carry with the value `true`. */
export const SECURITY_HEADER = 'workload.spiffe.io';

/** Default cap on open connections. */
const DEFAULT_MAX_CONNECTIONS = 10_000;

/** The answer to the WIT-SVID profile's RPCs. */
const WIT_PROFILE_UNSUPPORTED = 'this agent does not support the WIT-SVID profile';

/** Largest request message accepted (requests are tiny; a JWT-SVID is at most 16 KiB). */
const MAX_REQUEST_BYTES = 64 * 1024;

/** Options of {@link WorkloadApiServer}. */
export interface WorkloadApiServerOptions {
  /** Filesystem path of the socket; its parent directory is created if missing. */
  readonly socketPath: string;
  /** Where identities come from (the agent core, or a StaticIdentitySource in tests). */
  readonly source: IdentitySource;
  /** Logger; keys and tokens are never passed to it. */
  readonly logger: Logger;
  /** Workload attestor (default: /proc, /etc/passwd, /etc/group, with executable hashing). */
  readonly attestor?: UnixWorkloadAttestor;
  /** Clock for JWT cache and validation (default: system time). */
  readonly clock?: Clock;
  /** Permission bits of the socket file (default 0o777: any local user may dial; identity comes from SO_PEERCRED). */
  readonly socketMode?: number;
  /** Largest number of cached JWT-SVIDs (default 10,000). */
  readonly jwtCacheSize?: number;
  /** Most connections open at once; more are closed at accept (default 10,000). */
  readonly maxConnections?: number;
  /** Counters (default: a fresh instance, see {@link WorkloadApiServer.stats}). */
  readonly stats?: WorkloadApiStats;
}

/** A Workload API failure with the gRPC status it maps to; the message goes to the caller. */
export class WorkloadApiError extends Error {
  override readonly name = 'WorkloadApiError';
  constructor(
    readonly status: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One accepted connection and its attestation (a promise: attestation starts at accept). */
interface Connection {
  readonly id: string;
  readonly socket: Socket;
  readonly attestation: Promise<WorkloadAttestation>;
}

/** The three server-streaming methods; their responses are written pre-encoded. */
type StreamKind = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles';

/** One open stream. */
interface StreamState {
  readonly kind: StreamKind;
  readonly call: ServerWritableStream<unknown, Buffer>;
  readonly attestation: WorkloadAttestation;
  /** The last message written (by reference; equal content is also detected). */
  last: Buffer | undefined;
  /** A write is buffered; newer state is sent on 'drain'. */
  blocked: boolean;
  closed: boolean;
}

/**
 * The generated service definition with the stream responses taken as already-encoded bytes:
 * the encoded X509SVIDResponse for an identity set is computed once and written to every stream
 * that gets that set.
 */
const PRECODED_SERVICE: ServiceDefinition = {
  ...workload.SpiffeWorkloadAPIService,
  fetchX509Svid: {
    ...workload.SpiffeWorkloadAPIService.fetchX509Svid,
    responseSerialize: passThrough,
  },
  fetchX509Bundles: {
    ...workload.SpiffeWorkloadAPIService.fetchX509Bundles,
    responseSerialize: passThrough,
  },
  fetchJwtBundles: {
    ...workload.SpiffeWorkloadAPIService.fetchJwtBundles,
    responseSerialize: passThrough,
  },
};

function passThrough(value: Buffer): Buffer {
  return value;
}

/** The status name of a gRPC code, for counters and logs. */
function statusName(code: number): string {
  return status[code] ?? String(code);
}

/** `unix:///path`, the form of SPIFFE_ENDPOINT_SOCKET. */
export function endpointSocketUri(socketPath: string): string {
  return `unix://${socketPath}`;
}

/** Serves the SPIFFE Workload API on a Unix-domain socket. */
export class WorkloadApiServer {
  /** Counters: active streams, finished calls by method and status. */
  readonly stats: WorkloadApiStats;
  private readonly logger: Logger;
  private readonly attestor: UnixWorkloadAttestor;
  private readonly clock: Clock;
  private readonly jwtCache: JwtSvidCache;
  private readonly connections = new Map<string, Connection>();
  private readonly streams = new Set<StreamState>();
  private grpc: GrpcServer | undefined;
  private injector: ReturnType<GrpcServer['createConnectionInjector']> | undefined;
  private net: NetServer | undefined;
  private socketInode: bigint | undefined;
  private unsubscribe: (() => void) | undefined;
  private view: WorkloadView | undefined;
  private refreshScheduled = false;
  private nextConnectionId = 0;
  private stopping = false;

  constructor(private readonly options: WorkloadApiServerOptions) {
    this.logger = options.logger;
    this.stats = options.stats ?? new WorkloadApiStats();
    this.attestor =
      options.attestor ??
      new UnixWorkloadAttestor({
        onWarning: (message, details) => this.logger.debug(details, message),
      });
    this.clock = options.clock ?? { now: () => new Date() };
    this.jwtCache = new JwtSvidCache(
      (id, audience) => options.source.mintJwtSvid(id, audience),
      this.clock,
      options.jwtCacheSize,
    );
  }

  /** The socket path. */
  get socketPath(): string {
    return this.options.socketPath;
  }

  /** `unix:///…`: the value to advertise as SPIFFE_ENDPOINT_SOCKET. */
  get endpoint(): string {
    return endpointSocketUri(this.options.socketPath);
  }

  /** Creates the socket (replacing a stale one) and starts serving. */
  async start(): Promise<void> {
    if (this.net !== undefined) throw new Error('the Workload API server is already started');
    const path = this.options.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    removeStaleSocket(path);

    const grpc = new GrpcServer({
      'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    });
    grpc.addService(PRECODED_SERVICE, this.handlers());
    this.grpc = grpc;
    this.injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
    this.unsubscribe = this.options.source.onChange(() => this.scheduleRefresh());

    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('drop', () => {
      this.stats.connectionDropped();
      this.logger.debug('connection refused: too many open Workload API connections');
    });
    this.net = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error }, 'Workload API socket error'));
    chmodSync(path, this.options.socketMode ?? 0o777);
    this.socketInode = lstatSync(path, { bigint: true }).ino;
    this.logger.info({ socketPath: path }, 'Workload API listening');
  }

  /** Stops accepting, ends every stream (Unavailable), closes connections and removes the socket. */
  async stop(): Promise<void> {
    if (this.net === undefined || this.stopping) return;
    this.stopping = true;
    this.unsubscribe?.();
    const server = this.net;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const stream of [...this.streams]) {
      this.endStream(stream, status.UNAVAILABLE, 'the agent is shutting down');
    }
    this.grpc?.forceShutdown();
    this.injector?.destroy();
    for (const connection of this.connections.values()) connection.socket.destroy();
    await closed;
    try {
      // Remove the socket only if it is still ours (not replaced by another agent).
      if (lstatSync(this.options.socketPath, { bigint: true }).ino === this.socketInode) {
        unlinkSync(this.options.socketPath);
      }
    } catch {
      // Already gone.
    }
    this.net = undefined;
    this.grpc = undefined;
    this.injector = undefined;
    this.stopping = false;
    this.logger.info({ socketPath: this.options.socketPath }, 'Workload API stopped');
  }

  // -- connections -----------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    let credentials;
    let processHandle: PeerProcessHandle | undefined;
    try {
      credentials = getPeerCredentials(socket);
      processHandle = PeerProcessHandle.ofPeer(socket);
    } catch (error) {
      // A caller that connected and exited at once is routine (and must not flood the log).
      const gone = error instanceof PeerCredError && error.code === 'PEERCRED_PEER_GONE';
      if (gone) this.logger.debug('caller exited before it was accepted; connection dropped');
      else this.logger.warn({ err: error }, 'peer credentials unavailable; connection dropped');
      socket.destroy();
      return;
    }
    const id = `peer-${++this.nextConnectionId}`;
    let attestation: Promise<WorkloadAttestation>;
    try {
      // Pin the pid to its process right away, then resolve selectors in the background.
      const startTime = this.attestor.pin(credentials, processHandle);
      attestation = this.attestor.attest(credentials, startTime, processHandle);
    } catch (error) {
      attestation = Promise.reject(error);
    }
    // Failures are reported per call; keep an unobserved rejection from crashing the process.
    attestation.catch(() => undefined);
    // grpc-js reports `${remoteAddress}` (no port on Unix sockets) as call.getPeer().
    Object.defineProperty(socket, 'remoteAddress', { get: () => id, configurable: true });
    this.connections.set(id, { id, socket, attestation });
    this.stats.connectionDelta(1);
    socket.once('close', () => {
      processHandle?.close();
      this.connections.delete(id);
      this.stats.connectionDelta(-1);
    });
    this.logger.debug(
      { peer: id, pid: credentials.pid, uid: credentials.uid },
      'workload connected',
    );
    if (this.injector === undefined) socket.destroy();
    else this.injector.injectConnection(socket);
  }

  /**
   * Checks the security header and returns the caller's attestation, re-running the pid-reuse
   * guard. @throws WorkloadApiError
   */
  private async authenticate(call: {
    metadata: import('@grpc/grpc-js').Metadata;
    getPeer(): string;
  }): Promise<WorkloadAttestation> {
    const header = call.metadata.get(SECURITY_HEADER);
    if (header.length !== 1 || header[0] !== 'true') {
      throw new WorkloadApiError(status.INVALID_ARGUMENT, 'security header missing from request');
    }
    const connection = this.connections.get(call.getPeer());
    if (connection === undefined) {
      throw new WorkloadApiError(status.PERMISSION_DENIED, 'the caller could not be identified');
    }
    try {
      const attestation = await connection.attestation;
      this.attestor.verifyAttestation(attestation);
      return attestation;
    } catch (error) {
      if (error instanceof AttestationError) {
        throw new WorkloadApiError(
          status.PERMISSION_DENIED,
          `workload attestation failed: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  // -- snapshot views --------------------------------------------------------------------------

  /** The view of the current snapshot (rebuilt when the source holds a newer one). */
  private currentView(): WorkloadView {
    const snapshot = this.options.source.snapshot();
    if (this.view === undefined || this.view.snapshot !== snapshot) {
      this.view = new WorkloadView(snapshot, (message, details) =>
        this.logger.warn(details, message),
      );
    }
    return this.view;
  }

  /** Coalesces change events: one refresh per turn of the event loop, however many changes. */
  private scheduleRefresh(): void {
    if (this.refreshScheduled) return;
    this.refreshScheduled = true;
    setImmediate(() => {
      this.refreshScheduled = false;
      if (this.stopping) return;
      const view = this.currentView();
      for (const stream of [...this.streams]) this.push(stream, view);
    });
  }

  /** The identities granted to an attested caller. */
  private static matchOf(view: WorkloadView, attestation: WorkloadAttestation): WorkloadMatch {
    return view.match(attestation.selectorKey, attestation.parsedSelectors);
  }

  // -- streams ---------------------------------------------------------------------------------

  private openStream(kind: StreamKind, call: ServerWritableStream<unknown, Buffer>): void {
    this.authenticate(call).then(
      (attestation) => {
        if (call.cancelled || this.stopping) {
          this.finishCall(kind, status.CANCELLED);
          return;
        }
        const stream: StreamState = {
          kind,
          call,
          attestation,
          last: undefined,
          blocked: false,
          closed: false,
        };
        const view = this.currentView();
        const match = WorkloadApiServer.matchOf(view, attestation);
        if (match.identities.length === 0) {
          this.logger.debug(
            { method: kind, selectors: attestation.selectors },
            'no identity issued',
          );
          this.failCall(kind, call, status.PERMISSION_DENIED, 'no identity issued');
          return;
        }
        this.streams.add(stream);
        this.stats.streamOpened(kind);
        const cleanup = (): void => this.closeStream(stream, status.CANCELLED);
        call.once('cancelled', cleanup);
        call.once('close', cleanup);
        call.on('error', () => undefined);
        this.push(stream, view, true);
      },
      (error: unknown) => this.failCallWith(kind, call, error),
    );
  }

  /**
   * Writes the stream's current state if it changed; ends the stream when nothing is granted any
   * more. `justVerified`: the caller checked the process a moment ago (the stream's first push).
   */
  private push(stream: StreamState, view: WorkloadView, justVerified = false): void {
    if (stream.closed) return;
    if (stream.blocked) return; // sent on 'drain'
    try {
      if (!justVerified) this.attestor.verifyAttestation(stream.attestation);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'attestation failed';
      this.endStream(stream, status.PERMISSION_DENIED, `workload attestation failed: ${message}`);
      return;
    }
    const match = WorkloadApiServer.matchOf(view, stream.attestation);
    if (match.identities.length === 0) {
      this.endStream(stream, status.PERMISSION_DENIED, 'no identity issued');
      return;
    }
    let message: Buffer | undefined;
    switch (stream.kind) {
      case 'FetchX509SVID':
        // Matching entries whose SVIDs are not minted yet: wait for the update that brings them.
        message = view.x509SvidResponse(match);
        break;
      case 'FetchX509Bundles':
        message = view.x509BundlesResponse(match);
        break;
      case 'FetchJWTBundles':
        message = view.jwtBundlesResponse(match);
        break;
      default: {
        const never: never = stream.kind;
        throw new Error(`unknown stream kind ${String(never)}`);
      }
    }
    if (message === undefined) return;
    if (stream.last !== undefined && (stream.last === message || stream.last.equals(message)))
      return;
    stream.last = message;
    this.stats.messageSent();
    const flushed = stream.call.write(message);
    if (!flushed) {
      stream.blocked = true;
      stream.call.once('drain', () => {
        stream.blocked = false;
        this.push(stream, this.currentView());
      });
    }
  }

  private endStream(stream: StreamState, code: status, details: string): void {
    if (stream.closed) return;
    this.closeStream(stream, code);
    stream.call.emit('error', { code, details, name: 'WorkloadApiError', message: details });
  }

  private closeStream(stream: StreamState, code: status): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream);
    this.stats.streamClosed(stream.kind);
    this.finishCall(stream.kind, code);
  }

  // -- handlers --------------------------------------------------------------------------------

  private handlers(): UntypedServiceImplementation {
    return {
      fetchX509Svid: (call: ServerWritableStream<unknown, Buffer>) =>
        this.openStream('FetchX509SVID', call),
      fetchX509Bundles: (call: ServerWritableStream<unknown, Buffer>) =>
        this.openStream('FetchX509Bundles', call),
      fetchJwtBundles: (call: ServerWritableStream<unknown, Buffer>) =>
        this.openStream('FetchJWTBundles', call),
      fetchJwtsvid: (
        call: ServerUnaryCall<workload.JWTSVIDRequest, workload.JWTSVIDResponse>,
        callback: sendUnaryData<workload.JWTSVIDResponse>,
      ) => this.unary('FetchJWTSVID', callback, () => this.fetchJwtSvid(call)),
      validateJwtsvid: (
        call: ServerUnaryCall<workload.ValidateJWTSVIDRequest, workload.ValidateJWTSVIDResponse>,
        callback: sendUnaryData<workload.ValidateJWTSVIDResponse>,
      ) => this.unary('ValidateJWTSVID', callback, () => this.validateJwtSvid(call)),
      // The incubating WIT-SVID profile is not offered: the specification requires Unimplemented.
      fetchWitsvid: (call: ServerWritableStream<unknown, Buffer>) =>
        this.failCall('FetchWITSVID', call, status.UNIMPLEMENTED, WIT_PROFILE_UNSUPPORTED),
      fetchWitBundles: (call: ServerWritableStream<unknown, Buffer>) =>
        this.failCall('FetchWITBundles', call, status.UNIMPLEMENTED, WIT_PROFILE_UNSUPPORTED),
    };
  }

  private unary<T>(
    method: WorkloadMethod,
    callback: sendUnaryData<T>,
    run: () => Promise<T>,
  ): void {
    run().then(
      (response) => {
        this.finishCall(method, status.OK);
        callback(null, response);
      },
      (error: unknown) => {
        const { code, details } = this.toStatus(method, error);
        this.finishCall(method, code);
        callback({ code, details, name: 'WorkloadApiError', message: details }, null);
      },
    );
  }

  private async fetchJwtSvid(
    call: ServerUnaryCall<workload.JWTSVIDRequest, workload.JWTSVIDResponse>,
  ): Promise<workload.JWTSVIDResponse> {
    const attestation = await this.authenticate(call);
    const { audience, spiffeId } = call.request;
    if (audience.length === 0 || audience.some((a) => a === '')) {
      throw new WorkloadApiError(status.INVALID_ARGUMENT, 'audience must be specified');
    }
    const match = WorkloadApiServer.matchOf(this.currentView(), attestation);
    let identities = jwtIdentities(match.identities);
    if (identities.length === 0)
      throw new WorkloadApiError(status.PERMISSION_DENIED, 'no identity issued');
    if (spiffeId !== '') {
      identities = identities.filter((i) => i.spiffeId === spiffeId);
      if (identities.length === 0) {
        throw new WorkloadApiError(status.PERMISSION_DENIED, `no identity issued for ${spiffeId}`);
      }
    }
    const svids = await Promise.all(
      identities.map(async (identity) => {
        try {
          const minted = await this.jwtCache.get(identity.spiffeId, audience);
          return { spiffeId: identity.spiffeId, svid: minted.token, hint: identity.hint };
        } catch (cause) {
          this.logger.warn({ err: cause, spiffeId: identity.spiffeId }, 'JWT-SVID minting failed');
          throw new WorkloadApiError(status.UNAVAILABLE, 'could not obtain a JWT-SVID; try again', {
            cause,
          });
        }
      }),
    );
    return { svids };
  }

  private async validateJwtSvid(
    call: ServerUnaryCall<workload.ValidateJWTSVIDRequest, workload.ValidateJWTSVIDResponse>,
  ): Promise<workload.ValidateJWTSVIDResponse> {
    const attestation = await this.authenticate(call);
    const { audience, svid } = call.request;
    if (audience === '')
      throw new WorkloadApiError(status.INVALID_ARGUMENT, 'audience must be specified');
    if (svid === '') throw new WorkloadApiError(status.INVALID_ARGUMENT, 'svid must be specified');
    const view = this.currentView();
    const match = WorkloadApiServer.matchOf(view, attestation);
    if (match.identities.length === 0)
      throw new WorkloadApiError(status.PERMISSION_DENIED, 'no identity issued');
    try {
      const result = validateWorkloadJwt(view, match, svid, audience, this.clock.now());
      return { spiffeId: result.spiffeId, claims: result.claims };
    } catch (error) {
      if (error instanceof JwtValidationError) {
        throw new WorkloadApiError(status.INVALID_ARGUMENT, error.message, { cause: error });
      }
      throw error;
    }
  }

  // -- errors and counters ---------------------------------------------------------------------

  /** The one edge mapping from internal errors to gRPC statuses; internals are not disclosed. */
  private toStatus(method: WorkloadMethod, error: unknown): { code: status; details: string } {
    if (error instanceof WorkloadApiError) return { code: error.status, details: error.message };
    this.logger.error({ err: error, method }, 'Workload API call failed');
    return { code: status.INTERNAL, details: 'internal error' };
  }

  private failCallWith(
    method: StreamKind,
    call: ServerWritableStream<unknown, Buffer>,
    error: unknown,
  ): void {
    const { code, details } = this.toStatus(method, error);
    this.failCall(method, call, code, details);
  }

  private failCall(
    method: WorkloadMethod,
    call: ServerWritableStream<unknown, Buffer>,
    code: status,
    details: string,
  ): void {
    this.finishCall(method, code);
    call.on('error', () => undefined);
    call.emit('error', { code, details, name: 'WorkloadApiError', message: details });
  }

  private finishCall(method: WorkloadMethod, code: status): void {
    this.stats.callFinished(method, statusName(code));
  }
}

/** Identities to mint JWT-SVIDs for: one per SPIFFE ID, hints unique (first wins, as for X.509). */
function jwtIdentities(identities: readonly WorkloadIdentity[]): WorkloadIdentity[] {
  const ids = new Set<string>();
  const hints = new Set<string>();
  const out: WorkloadIdentity[] = [];
  for (const identity of identities) {
    if (ids.has(identity.spiffeId)) continue;
    if (identity.hint !== '' && hints.has(identity.hint)) continue;
    ids.add(identity.spiffeId);
    if (identity.hint !== '') hints.add(identity.hint);
    out.push(identity);
  }
  return out;
}

/** Removes a socket left behind by a previous run; refuses to delete anything that is not a socket. */
function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  }
  unlinkSync(path);
}
