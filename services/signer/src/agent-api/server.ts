/**
 * The agent-facing gRPC API of the signer (proto/trustplane/agent/v1/agent.proto).
 *
 * One TLS listener serves every trust domain: the agent's SNI (`<td id>.agents.trustplane`)
 * selects the trust domain's serving certificate and the CA certificates client certificates
 * are verified with. Verified connections are handed to grpc-js through a connection injector;
 * each gets a synthetic `remoteAddress` (`agent-conn-<n>`) that grpc-js reports as
 * `call.getPeer()`, so the edge (edge.ts) finds the connection's certificate facts. Each RPC has
 * its own handler (attest.ts, renew.ts, batch-sign.ts, mint-jwt.ts, streams.ts); every one except
 * AttestAgent maps the client certificate to an attested, not banned agent on every call.
 *
 * Entry and bundle streams are pushed, never polled: the signer's projection announces
 * committed changes with Postgres NOTIFY; the streams recompute and send what changed, and
 * attestations and renewals waiting for their event to be applied (read-your-writes) check again.
 */
import { FederatedBundles } from '../federation/federated-bundles.js';
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import {
  Server as GrpcServer,
  ServerCredentials,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { EventLog } from '@trustplane/eventstore';
import { agentApi } from '@trustplane/proto';
import type { Clock } from '@trustplane/platform';
import { Client as PgClient, type Pool } from 'pg';
import type { Logger } from 'pino';
import type { CaService } from '../ca-service.js';
import { agentModelChannel, signerProjection } from '../projection.js';
import { attestAgent, type AttestDeps } from './attest.js';
import { batchSignX509Svids } from './batch-sign.js';
import { AgentApiEdge } from './edge.js';
import { mintJwtSvid } from './mint-jwt.js';
import { AgentModel } from './model.js';
import { PostgresNonceStore } from './nonce-store.js';
import { ReadModelWatermark } from './read-your-writes.js';
import { renewAgentSvid } from './renew.js';
import { AgentStreams } from './streams.js';
import {
  peerCertificateOf,
  ServingContexts,
  trustDomainIdOfSni,
  type PeerCertificate,
} from './trust.js';

/** Largest request accepted (a batch of 1,000 CSRs). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Safety net: streams are also re-evaluated this often, in case a notification was lost. */
const RESYNC_MS = 30_000;

/** Options of {@link AgentApiServer}. */
export interface AgentApiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly agentSvidTtlSeconds: number;
  readonly databaseUrl: string;
  readonly schema: string;
  readonly ca: CaService;
  readonly log: EventLog;
  readonly pool: Pool;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts attestations and renewals answered before the read model showed their event. */
  readonly onReadModelLate?: (operation: 'attest' | 'renew') => void;
}

/** Serves the agent API over TLS (mutual TLS after attestation). */
export class AgentApiServer {
  private readonly model: AgentModel;
  private readonly contexts: ServingContexts;
  private readonly readModel: ReadModelWatermark;
  /** The connections, authorization and status mapping every handler shares. */
  readonly edge: AgentApiEdge;
  /** The handlers' dependencies (also what in-process tests call the handlers with). */
  readonly deps: AttestDeps;
  private readonly streams: AgentStreams;
  private grpc: GrpcServer | undefined;
  private injector: ReturnType<GrpcServer['createConnectionInjector']> | undefined;
  private tls: TlsServer | undefined;
  private listener: PgClient | undefined;
  private resync: NodeJS.Timeout | undefined;
  private nextConnection = 0;
  private stopping = false;
  private boundPort = 0;

  constructor(private readonly options: AgentApiServerOptions) {
    this.model = new AgentModel(options.pool, options.schema);
    this.contexts = new ServingContexts(options.ca, () => options.clock.now(), options.logger);
    this.readModel = new ReadModelWatermark(options.pool, options.schema, signerProjection.name);
    this.edge = new AgentApiEdge(this.model, options.ca, options.clock, options.logger);
    this.streams = new AgentStreams(this.edge, this.model, options.ca, new FederatedBundles(options.pool, options.schema));
    this.deps = {
      edge: this.edge,
      model: this.model,
      ca: options.ca,
      log: options.log,
      clock: options.clock,
      logger: options.logger,
      agentSvidTtlSeconds: options.agentSvidTtlSeconds,
      readModel: this.readModel,
      nonces: new PostgresNonceStore(options.pool, options.schema),
      ...(options.onReadModelLate === undefined
        ? {}
        : { onReadModelLate: options.onReadModelLate }),
    };
  }

  /** The TCP port listened on. */
  get port(): number {
    return this.boundPort;
  }

  /** One handler per RPC, each behind the edge (authorization, status mapping). */
  private handlers(): UntypedServiceImplementation {
    const edge = this.edge;
    const deps = this.deps;
    return {
      attestAgent: edge.unary<agentApi.AttestAgentRequest, agentApi.AttestAgentResponse>(
        async (call) =>
          attestAgent(deps, edge.connection(call.getPeer()).trustDomainId, call.request),
      ),
      renewAgentSvid: edge.authorized((caller, request: agentApi.RenewAgentSvidRequest) =>
        renewAgentSvid(deps, caller, request),
      ),
      batchSignX509Svids: edge.authorized((caller, request: agentApi.BatchSignX509SvidsRequest) =>
        batchSignX509Svids(deps, caller, request),
      ),
      mintJwtSvid: edge.authorized((caller, request: agentApi.MintJwtSvidRequest) =>
        mintJwtSvid(deps, caller, request),
      ),
      syncEntries: (
        call: ServerWritableStream<agentApi.SyncEntriesRequest, agentApi.SyncEntriesResponse>,
      ) => this.streams.open('entries', call as ServerWritableStream<unknown, unknown>),
      streamBundles: (
        call: ServerWritableStream<agentApi.StreamBundlesRequest, agentApi.StreamBundlesResponse>,
      ) => this.streams.open('bundles', call as ServerWritableStream<unknown, unknown>),
    };
  }

  /** Starts listening (TLS) and following the read model's change notifications. */
  async start(): Promise<void> {
    const grpc = new GrpcServer({
      'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    grpc.addService(agentApi.AgentAPIService, this.handlers());
    this.grpc = grpc;
    this.injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
    const tls = createTlsServer(
      {
        requestCert: true,
        // Attestation runs without a client certificate; a certificate that is sent must verify.
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        minVersion: 'TLSv1.2',
        SNICallback: (servername, callback) => {
          this.contexts.forServername(servername).then(
            (context) => callback(null, context),
            (error: unknown) => callback(error instanceof Error ? error : new Error('no context')),
          );
        },
      },
      (socket) => this.accept(socket),
    );
    tls.on('tlsClientError', (error) =>
      this.options.logger.debug({ err: error }, 'agent TLS handshake failed'),
    );
    this.tls = tls;
    await new Promise<void>((resolve, reject) => {
      tls.once('error', reject);
      tls.listen(this.options.port, this.options.host, () => {
        tls.off('error', reject);
        resolve();
      });
    });
    const address = tls.address();
    this.boundPort =
      typeof address === 'object' && address !== null ? address.port : this.options.port;
    await this.listen();
    this.resync = setInterval(
      () => this.streams.schedule({ entries: true, bundles: true }),
      RESYNC_MS,
    );
    this.resync.unref();
    this.options.logger.info(
      { host: this.options.host, port: this.boundPort },
      'agent API listening',
    );
  }

  /** Ends every stream (Unavailable) and connection, and stops listening. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.resync !== undefined) clearInterval(this.resync);
    this.streams.stop();
    this.readModel.stop();
    const closed =
      this.tls === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.tls?.close(() => resolve()));
    this.grpc?.forceShutdown();
    this.injector?.destroy();
    for (const connection of this.edge.connections.values()) connection.socket.destroy();
    await closed;
    await this.listener?.end().catch(() => undefined);
  }

  /** Takes a TLS connection whose client certificate (if any) verified, and hands it to grpc-js. */
  private accept(socket: TLSSocket): void {
    const trustDomainId = trustDomainIdOfSni(socket.servername);
    if (this.stopping || trustDomainId === undefined || this.injector === undefined) {
      socket.destroy();
      return;
    }
    const raw = socket.getPeerCertificate(false);
    const presented =
      raw !== null && typeof raw === 'object' && 'raw' in raw && Buffer.isBuffer(raw.raw);
    let peer: PeerCertificate | undefined;
    if (presented) {
      // A client certificate that does not chain to this trust domain's bundle ends the connection.
      peer = socket.authorized ? peerCertificateOf(raw.raw) : undefined;
      if (peer === undefined) {
        this.options.logger.info(
          { trustDomainId, reason: socket.authorizationError },
          'agent client certificate refused',
        );
        socket.destroy();
        return;
      }
    }
    const id = `agent-conn-${++this.nextConnection}`;
    Object.defineProperty(socket, 'remoteAddress', { get: () => id, configurable: true });
    Object.defineProperty(socket, 'remotePort', { get: () => undefined, configurable: true });
    this.edge.connections.set(id, { socket, trustDomainId, peer });
    socket.once('close', () => this.edge.connections.delete(id));
    socket.on('error', () => undefined);
    this.injector.injectConnection(socket);
  }

  /** LISTENs on the projection's channel; reconnects (and resyncs) when the connection drops. */
  private async listen(): Promise<void> {
    if (this.stopping) return;
    const client = new PgClient({ connectionString: this.options.databaseUrl });
    const retry = (): void => {
      if (this.stopping || this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 1_000).unref();
    };
    client.on('error', (error) => {
      this.options.logger.warn({ err: error }, 'agent API change listener failed; reconnecting');
      retry();
    });
    client.on('end', retry);
    client.on('notification', (message) => {
      const kinds = (message.payload ?? '').split(',');
      const entries = kinds.some((k) => k === 'entry' || k === 'agent' || k === 'cluster');
      const bundles = kinds.some((k) => k === 'bundle' || k === 'ca');
      // Federated bundles change with relationships, recorded peer bundles and peer deletion.
      const federated = kinds.some((k) => k === 'federation' || k === 'federatedbundle' || k === 'trustdomain');
      if (bundles) this.contexts.invalidate();
      this.readModel.poke();
      this.streams.schedule({ entries, bundles: bundles || federated });
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${agentModelChannel(this.options.schema)}"`);
      this.listener = client;
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'agent API change listener could not connect; retrying',
      );
      await client.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 1_000).unref();
      return;
    }
    // Anything committed while we were not listening.
    this.streams.schedule({ entries: true, bundles: true });
  }
}
