/**
 * The edge every agent API handler goes through: the verified TLS connections (what each
 * client certificate established), authorization of a caller as an attested, unbanned agent of
 * an active cluster, and the one mapping from internal errors to gRPC statuses. Handlers receive
 * an authorized caller and a request, and return a response or throw; nothing else about gRPC.
 */
import type { TLSSocket } from 'node:tls';
import {
  status,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { cryptoErrorKind, isCryptoError } from '@trustplane/crypto';
import { DomainError } from '@trustplane/events';
import { ConcurrencyError } from '@trustplane/eventstore';
import { isKeyManagerError } from '@trustplane/keymanager';
import { infrastructureFailureOf, type Clock } from '@trustplane/platform';
import type { Logger } from 'pino';
import {
  SignerRequestError,
  SignerUnavailableError,
  type CaService,
  type ServedDeployment,
} from '../ca-service.js';
import { AgentApiError } from './attestation.js';
import type { AgentModel, AgentRow, TrustDomainRow } from './model.js';
import { normalizeSerial, servedTrustDomain, type PeerCertificate } from './trust.js';

/** One TLS connection and what its client certificate established. */
export interface AgentConnection {
  readonly socket: TLSSocket;
  /** The trust domain the client asked for by SNI. */
  readonly trustDomainId: string;
  /** Undefined when the client sent no certificate (attestation only). */
  readonly peer: PeerCertificate | undefined;
}

/** A caller mapped to its agent. */
export interface AuthorizedAgent {
  readonly agent: AgentRow;
  readonly td: TrustDomainRow;
  readonly deployment: ServedDeployment;
}

/** A gRPC status and the details the caller sees. */
export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
}

/** The error object grpc-js sends for a status. */
export function grpcError(mapped: GrpcStatus): {
  code: status;
  details: string;
  name: string;
  message: string;
} {
  return {
    code: mapped.code,
    details: mapped.details,
    name: 'AgentApiError',
    message: mapped.details,
  };
}

/**
 * The one mapping from internal errors to gRPC statuses. Typed refusals keep their code in the
 * details; anything unexpected is logged and answered INTERNAL without its message.
 */
export function toGrpcStatus(error: unknown, logger: Logger): GrpcStatus {
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
  // The event log, NATS or PostgreSQL cannot serve right now: the agent retries later.
  const unavailable = infrastructureFailureOf(error);
  if (unavailable !== undefined) {
    logger.warn({ err: error, code: unavailable.code }, 'agent API call failed: a dependency is unavailable');
    return { code: status.UNAVAILABLE, details: `${unavailable.code}: ${unavailable.detail}` };
  }
  logger.error({ err: error }, 'agent API call failed');
  return { code: status.INTERNAL, details: 'internal error' };
}

/** The connections of the agent API and the authorization and status mapping of its calls. */
export class AgentApiEdge {
  /** Verified connections by the synthetic peer address grpc-js reports for them. */
  readonly connections = new Map<string, AgentConnection>();

  constructor(
    private readonly model: AgentModel,
    private readonly ca: CaService,
    private readonly clock: Clock,
    readonly logger: Logger,
  ) {}

  /** The connection a call arrived on. @throws AgentApiError UNAVAILABLE when it is gone */
  connection(peerId: string): AgentConnection {
    const connection = this.connections.get(peerId);
    if (connection === undefined)
      throw new AgentApiError(status.UNAVAILABLE, 'CONNECTION_GONE', 'connection closed');
    return connection;
  }

  /** The agent behind a call's client certificate, checked again on every call. @throws AgentApiError */
  async authorize(peerId: string): Promise<AuthorizedAgent> {
    const connection = this.connection(peerId);
    return this.authorizePeer(connection.trustDomainId, connection.peer);
  }

  /**
   * The agent a verified client certificate of `trustDomainId` belongs to: not expired, its
   * SPIFFE ID an attested agent's, not banned, its serial the agent's current or previous SVID's,
   * its cluster active, the trust domain served here. @throws AgentApiError
   */
  async authorizePeer(
    trustDomainId: string,
    peer: PeerCertificate | undefined,
  ): Promise<AuthorizedAgent> {
    if (peer === undefined)
      throw new AgentApiError(
        status.UNAUTHENTICATED,
        'AGENT_CERTIFICATE_REQUIRED',
        'an agent X.509-SVID is required',
      );
    if (peer.notAfter.getTime() <= this.clock.now().getTime())
      throw new AgentApiError(
        status.UNAUTHENTICATED,
        'AGENT_SVID_EXPIRED',
        'the agent X.509-SVID has expired',
      );
    const agent = await this.model.agentBySpiffeId(trustDomainId, peer.spiffeId);
    if (agent === undefined)
      throw new AgentApiError(
        status.PERMISSION_DENIED,
        'AGENT_UNKNOWN',
        'no attested agent has this identity',
      );
    if (agent.banned)
      throw new AgentApiError(status.PERMISSION_DENIED, 'AGENT_BANNED', 'the agent is banned');
    const serial = normalizeSerial(peer.serialNumber);
    const known = [agent.serialNumber, agent.previousSerialNumber].flatMap((s) =>
      s === null ? [] : [normalizeSerial(s)],
    );
    if (!known.includes(serial)) {
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
    const td = await this.trustDomain(trustDomainId);
    return { agent, td: td.row, deployment: td.deployment };
  }

  /** A trust domain this signer serves, and its deployment. @throws AgentApiError NOT_FOUND */
  async trustDomain(
    trustDomainId: string,
  ): Promise<{ row: TrustDomainRow; deployment: ServedDeployment }> {
    const served = await servedTrustDomain(this.ca, trustDomainId);
    if (served === undefined)
      throw new AgentApiError(
        status.NOT_FOUND,
        'TRUST_DOMAIN_NOT_SERVED',
        'trust domain not served here',
      );
    return served;
  }

  /** Maps an error to its status (see {@link toGrpcStatus}). */
  toStatus(error: unknown): GrpcStatus {
    return toGrpcStatus(error, this.logger);
  }

  /** A unary gRPC handler: runs `handle` and answers its response or the mapped status. */
  unary<Req, Res>(
    handle: (call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      handle(call).then(
        (response) => callback(null, response),
        (error: unknown) => callback(grpcError(this.toStatus(error)), null),
      );
    };
  }

  /** A unary handler of an authorized agent: authorizes the caller first. */
  authorized<Req, Res>(
    handle: (caller: AuthorizedAgent, request: Req) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return this.unary(async (call) => handle(await this.authorize(call.getPeer()), call.request));
  }
}
