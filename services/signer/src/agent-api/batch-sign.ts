/**
 * BatchSignX509Svids: up to 1,000 workload CSRs, each for an entry authorized for the calling
 * agent. Each result succeeds or carries its own error code; only an outage of the CA fails
 * the whole call.
 */
import { status } from '@grpc/grpc-js';
import type { agentApi } from '@trustplane/proto';
import { isReservedSpiffeId } from '@trustplane/spiffe';
import type { CaService } from '../ca-service.js';
import { AgentApiError } from './attestation.js';
import { toGrpcStatus, type AuthorizedAgent } from './edge.js';
import { authorizedEntries } from './entries.js';
import type { AgentModel } from './model.js';
import type { Logger } from 'pino';

/** Most CSRs in one BatchSignX509Svids call. */
export const MAX_BATCH = 1000;

/** What BatchSignX509Svids needs. */
export interface BatchSignDeps {
  readonly model: AgentModel;
  readonly ca: CaService;
  readonly logger: Logger;
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

/** Signs each CSR for its entry, with the entry's SPIFFE ID, DNS names and TTL only. */
export async function batchSignX509Svids(
  deps: BatchSignDeps,
  caller: AuthorizedAgent,
  request: agentApi.BatchSignX509SvidsRequest,
): Promise<agentApi.BatchSignX509SvidsResponse> {
  const params = request.params;
  if (params.length === 0 || params.length > MAX_BATCH)
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'BATCH_SIZE_INVALID',
      `give 1 to ${MAX_BATCH} CSRs`,
    );
  const authorized = await authorizedEntries(deps.model, caller);
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
      minter ??= deps.ca.x509Minter(caller.deployment);
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
      const { code, details } = toGrpcStatus(error, deps.logger);
      if (code === status.UNAVAILABLE || code === status.INTERNAL) throw error;
      results.push(failure(param.entryId, errorCodeOf(error), details));
    }
  }
  return { results };
}
