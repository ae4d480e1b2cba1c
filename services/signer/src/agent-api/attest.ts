/**
 * AttestAgent: a node proves itself with a join token or a cluster-key assertion (no client
 * certificate yet) and gets its agent X.509-SVID, `spiffe://<td>/agent/<cluster>/<node>`. The
 * answer comes only once the read model knows the agent, so its first call with that SVID —
 * on this replica or another — is authorized.
 */
import { status } from '@grpc/grpc-js';
import { handleCommand } from '@trustplane/eventstore';
import type { agentApi } from '@trustplane/proto';
import {
  AGENT,
  JOIN_TOKEN,
  agentDecider,
  agentIdFor,
  agentSpiffeId,
  joinTokenDecider,
  validateNodeName,
} from '@trustplane/registry-domain';
import {
  agentCommandContext,
  agentSvidTtl,
  awaitReadModel,
  checkAgentCsr,
  type AgentSvidDeps,
} from './agent-svid.js';
import {
  AgentApiError,
  checkClusterKey,
  checkJoinToken,
  type AssertionNonceStore,
  type AttestationEvidence,
} from './attestation.js';
import type { AgentApiEdge } from './edge.js';
import type { TrustDomainRow } from './model.js';
import { trustMaterial } from './trust.js';

/** What AttestAgent needs besides what every SVID-issuing handler needs. */
export interface AttestDeps extends AgentSvidDeps {
  readonly edge: AgentApiEdge;
  readonly nonces: AssertionNonceStore;
}

/**
 * Attests a node that connected for `trustDomainId` (its SNI). Refusals are typed
 * (AgentApiError, DomainError) and write nothing; a spent join token or nonce is never spent
 * twice, even by two replicas at once.
 */
export async function attestAgent(
  deps: AttestDeps,
  trustDomainId: string,
  request: agentApi.AttestAgentRequest,
): Promise<agentApi.AttestAgentResponse> {
  if (request.trustDomainId !== trustDomainId) {
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'TRUST_DOMAIN_MISMATCH',
      'trust_domain_id does not match the server name the client asked for',
    );
  }
  const nodeError = validateNodeName(request.nodeName);
  if (nodeError !== undefined) throw nodeError;
  checkAgentCsr(request.csr, request.publicKey);
  const { row: td, deployment } = await deps.edge.trustDomain(request.trustDomainId);
  const evidence = await checkEvidence(deps, td, request);
  const cluster = evidence.cluster;
  const agentId = agentIdFor(cluster.id, request.nodeName);
  const existing = await deps.model.agentById(agentId);
  if (existing?.banned === true)
    throw new AgentApiError(status.PERMISSION_DENIED, 'AGENT_BANNED', 'the agent is banned');
  const spiffeId = agentSpiffeId(td.name, cluster.name, request.nodeName);
  // Mint first (harmless if discarded), then spend the token and record the attestation.
  const { svid } = await deps.ca.mintX509(deployment, {
    spiffeId,
    csr: request.csr,
    ttlSeconds: agentSvidTtl(deps),
  });
  const context = agentCommandContext(deps.clock, agentId);
  if (evidence.joinTokenId !== undefined) {
    await handleCommand(
      deps.log,
      joinTokenDecider,
      { tenant: td.tenant, aggregateType: JOIN_TOKEN, aggregateId: evidence.joinTokenId },
      { kind: 'use', agentId, nodeName: request.nodeName, now: context.now },
      context,
      // A replica spending the same token at the same moment wins the append; the retry then
      // decides on the reloaded state and refuses with JOIN_TOKEN_USED.
      { maxAttempts: 2 },
    );
  }
  const attested = await handleCommand(
    deps.log,
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
  const [material] = await Promise.all([
    trustMaterial(deps.ca, td),
    awaitReadModel(deps, 'attest', attested.version, agentId),
  ]);
  deps.logger.info(
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

/** Checks the join token or cluster-key assertion the request carries. */
async function checkEvidence(
  deps: AttestDeps,
  td: TrustDomainRow,
  request: agentApi.AttestAgentRequest,
): Promise<AttestationEvidence> {
  const now = deps.clock.now();
  if (request.joinToken !== undefined)
    return checkJoinToken(deps.model, td, request.joinToken, now);
  if (request.clusterKey !== undefined) {
    return checkClusterKey(
      deps.model,
      td,
      request.nodeName,
      { statement: request.clusterKey.statement, signature: request.clusterKey.signature },
      now,
      deps.nonces,
    );
  }
  throw new AgentApiError(
    status.INVALID_ARGUMENT,
    'ATTESTATION_REQUIRED',
    'give a join token or a cluster-key assertion',
  );
}
