/**
 * RenewAgentSvid: an attested agent trades its current SVID (the client certificate) for a new
 * one with the key of its CSR. The answer comes only once the read model knows the new serial,
 * so the agent's next call with the new SVID is authorized on every replica.
 */
import { handleCommand } from '@trustplane/eventstore';
import type { agentApi } from '@trustplane/proto';
import { AGENT, agentDecider } from '@trustplane/registry-domain';
import {
  agentCommandContext,
  agentSvidTtl,
  awaitReadModel,
  checkAgentCsr,
  type AgentSvidDeps,
} from './agent-svid.js';
import type { AuthorizedAgent } from './edge.js';

/** Renews the caller's agent SVID. */
export async function renewAgentSvid(
  deps: AgentSvidDeps,
  caller: AuthorizedAgent,
  request: agentApi.RenewAgentSvidRequest,
): Promise<agentApi.RenewAgentSvidResponse> {
  checkAgentCsr(request.csr);
  const { svid } = await deps.ca.mintX509(caller.deployment, {
    spiffeId: caller.agent.spiffeId,
    csr: request.csr,
    ttlSeconds: agentSvidTtl(deps),
  });
  const renewed = await handleCommand(
    deps.log,
    agentDecider,
    { tenant: caller.td.tenant, aggregateType: AGENT, aggregateId: caller.agent.id },
    { kind: 'renew', serialNumber: svid.serialNumber, expiresAt: svid.notAfter },
    agentCommandContext(deps.clock, caller.agent.id),
  );
  await awaitReadModel(deps, 'renew', renewed.version, caller.agent.id);
  deps.logger.info({ agentId: caller.agent.id, serial: svid.serialNumber }, 'agent SVID renewed');
  return { svidChain: [...svid.chain] };
}
