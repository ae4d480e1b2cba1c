/**
 * MintJwtSvid: a JWT-SVID for an entry authorized for the calling agent, with the audiences the
 * workload asked for and the entry's TTL.
 */
import { status } from '@grpc/grpc-js';
import type { agentApi } from '@trustplane/proto';
import { isReservedSpiffeId } from '@trustplane/spiffe';
import type { CaService } from '../ca-service.js';
import { AgentApiError } from './attestation.js';
import type { AuthorizedAgent } from './edge.js';
import { authorizedEntries } from './entries.js';
import type { AgentModel } from './model.js';

/** Most audiences of one JWT-SVID. */
export const MAX_AUDIENCES = 32;

/** What MintJwtSvid needs. */
export interface MintJwtDeps {
  readonly model: AgentModel;
  readonly ca: CaService;
}

/** Mints a JWT-SVID for the entry; refused for entries not the caller's or naming reserved IDs. */
export async function mintJwtSvid(
  deps: MintJwtDeps,
  caller: AuthorizedAgent,
  request: agentApi.MintJwtSvidRequest,
): Promise<agentApi.MintJwtSvidResponse> {
  const entry = (await authorizedEntries(deps.model, caller)).get(request.entryId);
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
  const audience = request.audience;
  if (
    audience.length === 0 ||
    audience.length > MAX_AUDIENCES ||
    audience.some((a) => a.length === 0 || a.length > 1024)
  ) {
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'AUDIENCE_INVALID',
      `give 1 to ${MAX_AUDIENCES} non-empty audiences`,
    );
  }
  const svid = await deps.ca.mintJwt(caller.deployment, {
    spiffeId: entry.spiffeId,
    audience,
    ...(entry.jwtSvidTtl === null ? {} : { ttlSeconds: entry.jwtSvidTtl }),
  });
  return { token: svid.token, expiresAt: BigInt(Math.floor(svid.expiresAt.getTime() / 1000)) };
}
