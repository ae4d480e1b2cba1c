/**
 * What AttestAgent and RenewAgentSvid share: the agent SVID's lifetime, the CSR checks, the
 * command context of the events they append, and waiting until the read model shows those
 * events before answering (read-your-writes, see read-your-writes.ts).
 */
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { inspectPublicKey, parseCsr } from '@trustplane/crypto';
import { uuidv7 } from '@trustplane/events';
import type { CommandContext, EventLog } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import type { Logger } from 'pino';
import type { CaService } from '../ca-service.js';
import { AgentApiError } from './attestation.js';
import type { AgentModel } from './model.js';
import type { ReadModelWatermark } from './read-your-writes.js';

/**
 * How long an attestation or renewal waits for the read model before answering anyway: the
 * event is committed, so the SVID is the agent's; an agent refused meanwhile retries (for 10 s
 * after attesting), and a stalled read model is the projection's alarm, not the agent's. Both
 * stay well inside the agent's call deadlines (10 s to attest, 5 s to renew): an answer that
 * arrives too late is lost, and a lost renewal leaves the agent on an SVID the signer is about
 * to stop honouring.
 */
export const READ_YOUR_WRITES_TIMEOUT_MS: Readonly<Record<'attest' | 'renew', number>> = {
  attest: 5_000,
  renew: 2_000,
};

/** What the handlers that issue agent SVIDs need. */
export interface AgentSvidDeps {
  readonly model: AgentModel;
  readonly ca: CaService;
  readonly log: EventLog;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Configured lifetime of agent SVIDs (capped by the CA's X.509-SVID ceiling). */
  readonly agentSvidTtlSeconds: number;
  readonly readModel: ReadModelWatermark;
  /** Counts answers given before the read model showed their event. */
  readonly onReadModelLate?: (operation: 'attest' | 'renew') => void;
}

/** The lifetime of an agent SVID. */
export function agentSvidTtl(deps: AgentSvidDeps): number {
  return Math.min(deps.agentSvidTtlSeconds, deps.ca.settings.maxX509SvidTtlSeconds);
}

/** Checks an agent's CSR (and, at attestation, that `publicKey` is its EC P-256 key). @throws AgentApiError */
export function checkAgentCsr(csr: Buffer, publicKey?: Buffer): void {
  if (csr.length === 0)
    throw new AgentApiError(status.INVALID_ARGUMENT, 'CSR_REQUIRED', 'csr is required');
  const parsed = parseCsr(csr);
  if (publicKey === undefined) return;
  const key = inspectPublicKey(publicKey);
  if (key.keyType !== 'ec-p256' || !Buffer.from(parsed.publicKey.spki).equals(publicKey)) {
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'PUBLIC_KEY_MISMATCH',
      'public_key must be the EC P-256 key of the CSR',
    );
  }
}

/** The context of events the agent API appends on behalf of `agentId`. */
export function agentCommandContext(clock: Clock, agentId: string): CommandContext {
  const id = uuidv7();
  return {
    actor: { kind: 'service', id: `signer/agent-api/${agentId}` },
    correlationId: id,
    causationId: randomUUID(),
    now: clock.now(),
  };
}

/** Waits (bounded) until the read model has applied `sequence`; logs and counts when it has not. */
export async function awaitReadModel(
  deps: AgentSvidDeps,
  operation: 'attest' | 'renew',
  sequence: number,
  agentId: string,
): Promise<void> {
  const timeoutMs = READ_YOUR_WRITES_TIMEOUT_MS[operation];
  if (await deps.readModel.reach(sequence, timeoutMs)) return;
  deps.onReadModelLate?.(operation);
  deps.logger.warn(
    { agentId, operation, sequence, waitedMs: timeoutMs },
    'the read model has not applied the agent event yet; answering anyway',
  );
}
