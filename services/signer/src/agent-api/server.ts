/**
 * The agent-facing gRPC API of the signer (proto/trustplane/agent/v1/agent.proto).
 *
 * One TLS listener serves every trust domain: the agent's SNI (`<td id>.agents.trustplane`)
 * selects the trust domain's serving certificate and the CA certificates client certificates
 * are verified with. Verified connections are handed to grpc-js through a connection injector;
 * each gets a synthetic `remoteAddress` (`agent-conn-<n>`) that grpc-js reports as
 * `call.getPeer()`, so handlers find the connection's certificate facts. Every RPC except
 * AttestAgent maps the client certificate to an attested, not banned agent on every call.
 *
 * Entry and bundle streams are pushed, never polled: the signer's projection announces
 * committed changes with Postgres NOTIFY and the streams recompute and send what changed.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import {
  Server as GrpcServer,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { cryptoErrorKind, isCryptoError, parseCsr, inspectPublicKey } from '@trustplane/crypto';
import { DomainError, uuidv7 } from '@trustplane/events';
import {
  ConcurrencyError,
  handleCommand,
  type CommandContext,
  type EventLog,
} from '@trustplane/eventstore';
import { isKeyManagerError } from '@trustplane/keymanager';
import { agentApi } from '@trustplane/proto';
import { isReservedSpiffeId } from '@trustplane/spiffe';
import {
  AGENT,
  JOIN_TOKEN,
  agentDecider,
  agentIdFor,
  agentSpiffeId,
  joinTokenDecider,
  validateNodeName,
} from '@trustplane/registry-domain';
import type { Clock } from '@trustplane/platform';
import { Client as PgClient } from 'pg';
import type { Logger } from 'pino';
import {
  SignerRequestError,
  SignerUnavailableError,
  type CaService,
  type ServedDeployment,
} from '../ca-service.js';
import { agentModelChannel } from '../projection.js';
import {
  AgentApiError,
  checkClusterKey,
  checkJoinToken,
  type AttestationEvidence,
} from './attestation.js';
import { PostgresNonceStore } from './nonce-store.js';
import { AgentModel, type AgentRow, type EntryRow, type TrustDomainRow } from './model.js';
import {
  normalizeSerial,
  peerCertificateOf,
  ServingContexts,
  servedTrustDomain,
  taintedAuthorities,
  trustDomainIdOfSni,
  trustMaterial,
  type PeerCertificate,
} from './trust.js';

/** Largest request accepted (a batch of 1,000 CSRs). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Most CSRs in one BatchSignX509Svids call. */
const MAX_BATCH = 1000;
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
  readonly pool: import('pg').Pool;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** One TLS connection and what its client certificate established. */
interface Connection {
  readonly socket: TLSSocket;
  readonly trustDomainId: string;
  /** Undefined when the client sent no certificate (attestation only). */
  readonly peer: PeerCertificate | undefined;
}

/** A caller mapped to its agent. */
interface AuthorizedAgent {
  readonly agent: AgentRow;
  readonly td: TrustDomainRow;
  readonly deployment: ServedDeployment;
}

interface OpenStream {
  readonly kind: 'entries' | 'bundles';
  readonly call: ServerWritableStream<unknown, unknown>;
  readonly peer: string;
  readonly caller: AuthorizedAgent;
  last: string | undefined;
  closed: boolean;
}

/** Serves the agent API over TLS (mutual TLS after attestation). */
export class AgentApiServer {
  private readonly model: AgentModel;
  private readonly contexts: ServingContexts;
  private readonly nonces: PostgresNonceStore;
  private readonly connections = new Map<string, Connection>();
  private readonly streams = new Set<OpenStream>();
  private grpc: GrpcServer | undefined;
  private injector: ReturnType<GrpcServer['createConnectionInjector']> | undefined;
  private tls: TlsServer | undefined;
  private listener: PgClient | undefined;
  private resync: NodeJS.Timeout | undefined;
  private nextConnection = 0;
  private refreshing: Promise<void> | undefined;
  private dirty = { entries: false, bundles: false };
  private stopping = false;
  private boundPort = 0;

  constructor(private readonly options: AgentApiServerOptions) {
    this.model = new AgentModel(options.pool, options.schema);
    this.nonces = new PostgresNonceStore(options.pool, options.schema);
    this.contexts = new ServingContexts(options.ca, () => options.clock.now(), options.logger);
  }

  /** The TCP port listened on. */
  get port(): number {
    return this.boundPort;
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
    this.resync = setInterval(() => this.schedule({ entries: true, bundles: true }), RESYNC_MS);
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
    for (const stream of [...this.streams])
      this.endStream(stream, status.UNAVAILABLE, 'the signer is shutting down');
    const closed =
      this.tls === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.tls?.close(() => resolve()));
    this.grpc?.forceShutdown();
    this.injector?.destroy();
    for (const connection of this.connections.values()) connection.socket.destroy();
    await closed;
    await this.listener?.end().catch(() => undefined);
  }

  // -- connections and change notifications ------------------------------------------------

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
    this.connections.set(id, { socket, trustDomainId, peer });
    socket.once('close', () => this.connections.delete(id));
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
      if (bundles) this.contexts.invalidate();
      this.schedule({ entries, bundles });
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
    this.schedule({ entries: true, bundles: true });
  }

  /** Coalesces notifications: one refresh at a time, then one more if anything arrived meanwhile. */
  private schedule(what: { entries: boolean; bundles: boolean }): void {
    this.dirty = {
      entries: this.dirty.entries || what.entries,
      bundles: this.dirty.bundles || what.bundles,
    };
    if (this.refreshing !== undefined || this.stopping) return;
    this.refreshing = (async () => {
      while (this.dirty.entries || this.dirty.bundles) {
        const { entries, bundles } = this.dirty;
        this.dirty = { entries: false, bundles: false };
        await this.refreshStreams(entries, bundles).catch((error: unknown) =>
          this.options.logger.warn({ err: error }, 'agent stream refresh failed'),
        );
      }
    })().finally(() => {
      this.refreshing = undefined;
    });
  }

  private async refreshStreams(entries: boolean, bundles: boolean): Promise<void> {
    const entryCache = new Map<string, Promise<{ revision: number; entries: EntryRow[] }>>();
    const bundleCache = new Map<string, Promise<agentApi.StreamBundlesResponse | undefined>>();
    for (const stream of [...this.streams]) {
      if (stream.closed) continue;
      if (stream.kind === 'entries' && entries) {
        // Re-authorize: a banned agent or disabled cluster loses its stream at once.
        const caller = await this.reauthorize(stream);
        if (caller === undefined) continue;
        const key = caller.td.id;
        let all = entryCache.get(key);
        if (all === undefined) {
          all = this.allEntries(caller.td.id);
          entryCache.set(key, all);
        }
        this.write(stream, entriesMessage(caller, await all));
      } else if (stream.kind === 'bundles' && bundles) {
        let message = bundleCache.get(stream.caller.td.id);
        if (message === undefined) {
          message = this.bundleMessage(stream.caller.td);
          bundleCache.set(stream.caller.td.id, message);
        }
        const value = await message;
        if (value !== undefined) this.write(stream, value);
      }
    }
  }

  /** Every entry of a trust domain (one query, shared by all its streams), with the revision. */
  private allEntries(trustDomainId: string): Promise<{ revision: number; entries: EntryRow[] }> {
    return this.model.entriesFor(trustDomainId, undefined);
  }

  private async reauthorize(stream: OpenStream): Promise<AuthorizedAgent | undefined> {
    try {
      return await this.authorizeConnection(stream.peer);
    } catch (error) {
      const mapped = this.toStatus(error);
      this.endStream(stream, mapped.code, mapped.details);
      return undefined;
    }
  }

  private write(stream: OpenStream, message: unknown): void {
    const key = JSON.stringify(message, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v,
    );
    if (stream.last === key || stream.closed) return;
    stream.last = key;
    stream.call.write(message);
  }

  private endStream(stream: OpenStream, code: status, details: string): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream);
    stream.call.emit('error', { code, details, name: 'AgentApiError', message: details });
  }

  // -- authorization --------------------------------------------------------------------------

  /** The agent behind a call's client certificate. @throws AgentApiError */
  private async authorizeConnection(peerId: string): Promise<AuthorizedAgent> {
    const connection = this.connections.get(peerId);
    if (connection === undefined)
      throw new AgentApiError(status.UNAVAILABLE, 'CONNECTION_GONE', 'connection closed');
    const peer = connection.peer;
    if (peer === undefined)
      throw new AgentApiError(
        status.UNAUTHENTICATED,
        'AGENT_CERTIFICATE_REQUIRED',
        'an agent X.509-SVID is required',
      );
    const now = this.options.clock.now();
    if (peer.notAfter.getTime() <= now.getTime())
      throw new AgentApiError(
        status.UNAUTHENTICATED,
        'AGENT_SVID_EXPIRED',
        'the agent X.509-SVID has expired',
      );
    const agent = await this.model.agentBySpiffeId(connection.trustDomainId, peer.spiffeId);
    if (agent === undefined)
      throw new AgentApiError(
        status.PERMISSION_DENIED,
        'AGENT_UNKNOWN',
        'no attested agent has this identity',
      );
    if (agent.banned)
      throw new AgentApiError(status.PERMISSION_DENIED, 'AGENT_BANNED', 'the agent is banned');
    const serial = normalizeSerial(peer.serialNumber);
    if (
      serial !== normalizeSerial(agent.serialNumber) &&
      (agent.previousSerialNumber === null ||
        serial !== normalizeSerial(agent.previousSerialNumber))
    ) {
      throw new AgentApiError(
        status.PERMISSION_DENIED,
        'AGENT_SVID_SUPERSEDED',
        'this agent X.509-SVID is no longer current',
      );
    }
    const cluster = await this.model.cluster(agent.clusterId);
    if (cluster === undefined || cluster.status !== 'active')
      throw new AgentApiError(
        status.PERMISSION_DENIED,
        'CLUSTER_DISABLED',
        'the agent cluster is not active',
      );
    const td = await this.trustDomain(connection.trustDomainId);
    return { agent, td: td.row, deployment: td.deployment };
  }

  private async trustDomain(
    trustDomainId: string,
  ): Promise<{ row: TrustDomainRow; deployment: ServedDeployment }> {
    const served = await servedTrustDomain(this.options.ca, trustDomainId);
    if (served === undefined)
      throw new AgentApiError(
        status.NOT_FOUND,
        'TRUST_DOMAIN_NOT_SERVED',
        'trust domain not served here',
      );
    return served;
  }

  // -- handlers -------------------------------------------------------------------------------

  private handlers(): UntypedServiceImplementation {
    return {
      attestAgent: (
        call: ServerUnaryCall<agentApi.AttestAgentRequest, agentApi.AttestAgentResponse>,
        cb: sendUnaryData<agentApi.AttestAgentResponse>,
      ) => this.unary(cb, () => this.attest(call)),
      renewAgentSvid: (
        call: ServerUnaryCall<agentApi.RenewAgentSvidRequest, agentApi.RenewAgentSvidResponse>,
        cb: sendUnaryData<agentApi.RenewAgentSvidResponse>,
      ) => this.unary(cb, () => this.renew(call)),
      batchSignX509Svids: (
        call: ServerUnaryCall<
          agentApi.BatchSignX509SvidsRequest,
          agentApi.BatchSignX509SvidsResponse
        >,
        cb: sendUnaryData<agentApi.BatchSignX509SvidsResponse>,
      ) => this.unary(cb, () => this.batchSign(call)),
      mintJwtSvid: (
        call: ServerUnaryCall<agentApi.MintJwtSvidRequest, agentApi.MintJwtSvidResponse>,
        cb: sendUnaryData<agentApi.MintJwtSvidResponse>,
      ) => this.unary(cb, () => this.mintJwt(call)),
      syncEntries: (
        call: ServerWritableStream<agentApi.SyncEntriesRequest, agentApi.SyncEntriesResponse>,
      ) => this.openStream('entries', call),
      streamBundles: (
        call: ServerWritableStream<agentApi.StreamBundlesRequest, agentApi.StreamBundlesResponse>,
      ) => this.openStream('bundles', call),
    };
  }

  private unary<T>(callback: sendUnaryData<T>, run: () => Promise<T>): void {
    run().then(
      (response) => callback(null, response),
      (error: unknown) => {
        const { code, details } = this.toStatus(error);
        callback({ code, details, name: 'AgentApiError', message: details }, null);
      },
    );
  }

  private openStream(
    kind: 'entries' | 'bundles',
    call: ServerWritableStream<unknown, unknown>,
  ): void {
    const peer = call.getPeer();
    this.authorizeConnection(peer).then(
      async (caller) => {
        const stream: OpenStream = { kind, call, peer, caller, last: undefined, closed: false };
        this.streams.add(stream);
        const cleanup = (): void => {
          stream.closed = true;
          this.streams.delete(stream);
        };
        call.once('cancelled', cleanup);
        call.once('close', cleanup);
        call.on('error', () => undefined);
        try {
          if (kind === 'entries')
            this.write(stream, entriesMessage(caller, await this.allEntries(caller.td.id)));
          else {
            const message = await this.bundleMessage(caller.td);
            if (message !== undefined) this.write(stream, message);
          }
        } catch (error) {
          const { code, details } = this.toStatus(error);
          this.endStream(stream, code, details);
        }
      },
      (error: unknown) => {
        const { code, details } = this.toStatus(error);
        call.on('error', () => undefined);
        call.emit('error', { code, details, name: 'AgentApiError', message: details });
      },
    );
  }

  private async attest(
    call: ServerUnaryCall<agentApi.AttestAgentRequest, agentApi.AttestAgentResponse>,
  ): Promise<agentApi.AttestAgentResponse> {
    const request = call.request;
    const connection = this.connections.get(call.getPeer());
    if (connection === undefined)
      throw new AgentApiError(status.UNAVAILABLE, 'CONNECTION_GONE', 'connection closed');
    if (request.trustDomainId !== connection.trustDomainId) {
      throw new AgentApiError(
        status.INVALID_ARGUMENT,
        'TRUST_DOMAIN_MISMATCH',
        'trust_domain_id does not match the server name the client asked for',
      );
    }
    const nodeError = validateNodeName(request.nodeName);
    if (nodeError !== undefined) throw nodeError;
    this.checkCsr(request.csr, request.publicKey);
    const { row: td, deployment } = await this.trustDomain(request.trustDomainId);
    const now = this.options.clock.now();
    let evidence: AttestationEvidence;
    if (request.joinToken !== undefined) {
      evidence = await checkJoinToken(this.model, td, request.joinToken, now);
    } else if (request.clusterKey !== undefined) {
      evidence = await checkClusterKey(
        this.model,
        td,
        request.nodeName,
        { statement: request.clusterKey.statement, signature: request.clusterKey.signature },
        now,
        this.nonces,
      );
    } else {
      throw new AgentApiError(
        status.INVALID_ARGUMENT,
        'ATTESTATION_REQUIRED',
        'give a join token or a cluster-key assertion',
      );
    }
    const cluster = evidence.cluster;
    const agentId = agentIdFor(cluster.id, request.nodeName);
    const existing = await this.model.agentById(agentId);
    if (existing?.banned === true)
      throw new AgentApiError(status.PERMISSION_DENIED, 'AGENT_BANNED', 'the agent is banned');
    const spiffeId = agentSpiffeId(td.name, cluster.name, request.nodeName);
    // Mint first (harmless if discarded), then spend the token and record the attestation.
    const { svid } = await this.options.ca.mintX509(deployment, {
      spiffeId,
      csr: request.csr,
      ttlSeconds: this.ttl(),
    });
    const context = this.context(agentId);
    if (evidence.joinTokenId !== undefined) {
      await handleCommand(
        this.options.log,
        joinTokenDecider,
        { tenant: td.tenant, aggregateType: JOIN_TOKEN, aggregateId: evidence.joinTokenId },
        { kind: 'use', agentId, nodeName: request.nodeName, now },
        context,
        // A replica spending the same token at the same moment wins the append; the retry then
        // decides on the reloaded state and refuses with JOIN_TOKEN_USED.
        { maxAttempts: 2 },
      );
    }
    await handleCommand(
      this.options.log,
      agentDecider,
      { tenant: td.tenant, aggregateType: AGENT, aggregateId: agentId },
      {
        kind: 'attest',
        trustDomainId: td.id,
        trustDomain: td.name,
        clusterId: cluster.id,
        clusterName: cluster.name,
        nodeName: request.nodeName,
        method: evidence.method,
        serialNumber: svid.serialNumber,
        expiresAt: svid.notAfter,
      },
      context,
    );
    const material = await trustMaterial(this.options.ca, td);
    this.options.logger.info(
      { agentId, spiffeId, method: evidence.method, serial: svid.serialNumber },
      'agent attested',
    );
    return {
      svidChain: [...svid.chain],
      bundle: [...(material?.x509Authorities ?? [])],
      trustDomain: td.name,
      spiffeId,
      clusterId: cluster.id,
    };
  }

  private async renew(
    call: ServerUnaryCall<agentApi.RenewAgentSvidRequest, agentApi.RenewAgentSvidResponse>,
  ): Promise<agentApi.RenewAgentSvidResponse> {
    const caller = await this.authorizeConnection(call.getPeer());
    this.checkCsr(call.request.csr);
    const { svid } = await this.options.ca.mintX509(caller.deployment, {
      spiffeId: caller.agent.spiffeId,
      csr: call.request.csr,
      ttlSeconds: this.ttl(),
    });
    await handleCommand(
      this.options.log,
      agentDecider,
      { tenant: caller.td.tenant, aggregateType: AGENT, aggregateId: caller.agent.id },
      { kind: 'renew', serialNumber: svid.serialNumber, expiresAt: svid.notAfter },
      this.context(caller.agent.id),
    );
    this.options.logger.info(
      { agentId: caller.agent.id, serial: svid.serialNumber },
      'agent SVID renewed',
    );
    return { svidChain: [...svid.chain] };
  }

  private async batchSign(
    call: ServerUnaryCall<agentApi.BatchSignX509SvidsRequest, agentApi.BatchSignX509SvidsResponse>,
  ): Promise<agentApi.BatchSignX509SvidsResponse> {
    const caller = await this.authorizeConnection(call.getPeer());
    const params = call.request.params;
    if (params.length === 0 || params.length > MAX_BATCH)
      throw new AgentApiError(
        status.INVALID_ARGUMENT,
        'BATCH_SIZE_INVALID',
        `give 1 to ${MAX_BATCH} CSRs`,
      );
    const authorized = await this.authorizedEntries(caller);
    const results: agentApi.X509SvidResult[] = [];
    // The CA state is read once per batch, when the first authorized CSR needs it.
    let minter: ReturnType<CaService['x509Minter']> | undefined;
    for (const param of params) {
      const entry = authorized.get(param.entryId);
      if (entry === undefined) {
        results.push(
          failure(
            param.entryId,
            'ENTRY_NOT_AUTHORIZED',
            'the entry does not exist or is not authorized for this agent',
          ),
        );
        continue;
      }
      if (isReservedSpiffeId(entry.spiffeId)) {
        results.push(
          failure(param.entryId, 'ENTRY_RESERVED', 'the entry names a reserved SPIFFE ID'),
        );
        continue;
      }
      try {
        minter ??= this.options.ca.x509Minter(caller.deployment);
        const { svid } = await (
          await minter
        )({
          spiffeId: entry.spiffeId,
          csr: param.csr,
          dnsNames: entry.dnsNames,
          ...(entry.x509SvidTtl === null ? {} : { ttlSeconds: entry.x509SvidTtl }),
        });
        results.push({
          entryId: param.entryId,
          svidChain: [...svid.chain],
          errorCode: '',
          errorMessage: '',
        });
      } catch (error) {
        const { code, details } = this.toStatus(error);
        if (code === status.UNAVAILABLE || code === status.INTERNAL) throw error;
        results.push(failure(param.entryId, errorCodeOf(error), details));
      }
    }
    return { results };
  }

  private async mintJwt(
    call: ServerUnaryCall<agentApi.MintJwtSvidRequest, agentApi.MintJwtSvidResponse>,
  ): Promise<agentApi.MintJwtSvidResponse> {
    const caller = await this.authorizeConnection(call.getPeer());
    const entry = (await this.authorizedEntries(caller)).get(call.request.entryId);
    if (entry === undefined)
      throw new AgentApiError(
        status.PERMISSION_DENIED,
        'ENTRY_NOT_AUTHORIZED',
        'the entry does not exist or is not authorized for this agent',
      );
    if (isReservedSpiffeId(entry.spiffeId))
      throw new AgentApiError(
        status.PERMISSION_DENIED,
        'ENTRY_RESERVED',
        'the entry names a reserved SPIFFE ID',
      );
    const audience = call.request.audience;
    if (
      audience.length === 0 ||
      audience.length > 32 ||
      audience.some((a) => a.length === 0 || a.length > 1024)
    ) {
      throw new AgentApiError(
        status.INVALID_ARGUMENT,
        'AUDIENCE_INVALID',
        'give 1 to 32 non-empty audiences',
      );
    }
    const svid = await this.options.ca.mintJwt(caller.deployment, {
      spiffeId: entry.spiffeId,
      audience,
      ...(entry.jwtSvidTtl === null ? {} : { ttlSeconds: entry.jwtSvidTtl }),
    });
    return { token: svid.token, expiresAt: BigInt(Math.floor(svid.expiresAt.getTime() / 1000)) };
  }

  private async authorizedEntries(caller: AuthorizedAgent): Promise<Map<string, EntryRow>> {
    const entries = await this.model.entries(caller.td.id, parentIdsOf(caller.agent, caller.td));
    return new Map(entries.map((e) => [e.id, e]));
  }

  private async bundleMessage(
    td: TrustDomainRow,
  ): Promise<agentApi.StreamBundlesResponse | undefined> {
    const material = await trustMaterial(this.options.ca, td);
    if (material === undefined) return undefined;
    return {
      bundle: {
        trustDomain: td.name,
        x509Authorities: [...material.x509Authorities],
        jwtAuthorities: material.jwks,
        sequence: BigInt(material.sequence),
      },
      federatedBundles: [],
      taintedX509Authorities: await taintedAuthorities(this.options.ca, td),
    };
  }

  // -- helpers --------------------------------------------------------------------------------

  private ttl(): number {
    return Math.min(
      this.options.agentSvidTtlSeconds,
      this.options.ca.settings.maxX509SvidTtlSeconds,
    );
  }

  private checkCsr(csr: Buffer, publicKey?: Buffer): void {
    if (csr.length === 0)
      throw new AgentApiError(status.INVALID_ARGUMENT, 'CSR_REQUIRED', 'csr is required');
    const parsed = parseCsr(csr);
    if (publicKey !== undefined) {
      const key = inspectPublicKey(publicKey);
      if (key.keyType !== 'ec-p256' || !Buffer.from(parsed.publicKey.spki).equals(publicKey)) {
        throw new AgentApiError(
          status.INVALID_ARGUMENT,
          'PUBLIC_KEY_MISMATCH',
          'public_key must be the EC P-256 key of the CSR',
        );
      }
    }
  }

  private context(agentId: string): CommandContext {
    const id = uuidv7();
    return {
      actor: { kind: 'service', id: `signer/agent-api/${agentId}` },
      correlationId: id,
      causationId: randomUUID(),
      now: this.options.clock.now(),
    };
  }

  /** The one edge mapping from internal errors to gRPC statuses; internals are not disclosed. */
  private toStatus(error: unknown): { code: status; details: string } {
    if (error instanceof AgentApiError) return { code: error.status, details: error.message };
    if (error instanceof DomainError) {
      const code = (
        {
          invalid: status.INVALID_ARGUMENT,
          conflict: status.PERMISSION_DENIED,
          not_found: status.PERMISSION_DENIED,
          forbidden: status.PERMISSION_DENIED,
        } as const
      )[error.kind];
      return { code, details: `${error.code}: ${error.message}` };
    }
    if (error instanceof SignerRequestError)
      return { code: status.INVALID_ARGUMENT, details: `${error.code}: ${error.message}` };
    if (error instanceof ConcurrencyError)
      return { code: status.ABORTED, details: 'a concurrent change won; try again' };
    if (error instanceof SignerUnavailableError)
      return { code: status.UNAVAILABLE, details: error.message };
    if (isCryptoError(error) && cryptoErrorKind(error.code) === 'invalid_input')
      return { code: status.INVALID_ARGUMENT, details: `${error.code}: ${error.message}` };
    if (isKeyManagerError(error))
      return { code: status.UNAVAILABLE, details: 'key manager unavailable' };
    this.options.logger.error({ err: error }, 'agent API call failed');
    return { code: status.INTERNAL, details: 'internal error' };
  }
}

/** Parent IDs whose entries an agent may serve: its own SPIFFE ID and its cluster's. */
export function parentIdsOf(agent: AgentRow, td: TrustDomainRow): string[] {
  return [agent.spiffeId, `spiffe://${td.name}/agent/${agent.clusterName}`];
}

function entriesMessage(
  caller: AuthorizedAgent,
  all: { revision: number; entries: EntryRow[] },
): agentApi.SyncEntriesResponse {
  const parents = new Set(parentIdsOf(caller.agent, caller.td));
  return {
    revision: BigInt(all.revision),
    entries: all.entries
      .filter((e) => parents.has(e.parentId) && !isReservedSpiffeId(e.spiffeId))
      .map((e) => ({
        id: e.id,
        spiffeId: e.spiffeId,
        parentId: e.parentId,
        selectors: [...e.selectors],
        x509SvidTtl: e.x509SvidTtl ?? 0,
        jwtSvidTtl: e.jwtSvidTtl ?? 0,
        dnsNames: [...e.dnsNames],
        federatesWith: [...e.federatesWith],
        hint: e.hint ?? '',
        revision: BigInt(e.revision),
      })),
  };
}

function failure(entryId: string, code: string, message: string): agentApi.X509SvidResult {
  return { entryId, svidChain: [], errorCode: code, errorMessage: message };
}

function errorCodeOf(error: unknown): string {
  if (
    error !== null &&
    typeof error === 'object' &&
    'code' in error &&
    typeof error.code === 'string'
  )
    return error.code;
  return 'SIGN_FAILED';
}
