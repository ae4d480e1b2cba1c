/**
 * The registration entries an agent may serve: those whose parent is its own SPIFFE ID or its
 * cluster's (`spiffe://<td>/agent/<cluster>`), never one naming a reserved SPIFFE ID.
 */
import type { agentApi } from '@trustplane/proto';
import { isReservedSpiffeId } from '@trustplane/spiffe';
import type { AuthorizedAgent } from './edge.js';
import type { AgentModel, AgentRow, EntryRow, TrustDomainRow } from './model.js';

/** Parent IDs whose entries an agent may serve: its own SPIFFE ID and its cluster's. */
export function parentIdsOf(agent: AgentRow, td: TrustDomainRow): string[] {
  return [agent.spiffeId, `spiffe://${td.name}/agent/${agent.clusterName}`];
}

/** The caller's entries by id (reserved ones included: minting refuses them with their own code). */
export async function authorizedEntries(
  model: AgentModel,
  caller: AuthorizedAgent,
): Promise<Map<string, EntryRow>> {
  const entries = await model.entries(caller.td.id, parentIdsOf(caller.agent, caller.td));
  return new Map(entries.map((e) => [e.id, e]));
}

/** A SyncEntries message for the caller out of all its trust domain's entries. */
export function entriesMessage(
  caller: AuthorizedAgent,
  all: { revision: number; entries: readonly EntryRow[] },
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
