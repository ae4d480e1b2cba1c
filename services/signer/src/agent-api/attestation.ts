/**
 * Node attestation checks of the agent API: join tokens (salted hash, expiry, single use) and
 * cluster-key assertions (Ed25519 signature, freshness, nonce never seen twice).
 */
import { createPublicKey, verify } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { joinTokenMatches, parseJoinToken } from '@trustplane/registry-domain';
import type { AgentModel, ClusterRow, TrustDomainRow } from './model.js';

/** How far the assertion's `iat` may be from the signer's clock. */
export const ASSERTION_MAX_SKEW_SECONDS = 300;

/** A failure of an agent API call with the gRPC status it maps to; the message goes to the caller. */
export class AgentApiError extends Error {
  override readonly name = 'AgentApiError';
  constructor(
    readonly status: status,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The statement an agent signs with its cluster's Ed25519 key. */
export interface ClusterKeyStatement {
  readonly trustDomainId: string;
  readonly clusterId: string;
  readonly nodeName: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly nonce: string;
}

/** What a successful check established. */
export interface AttestationEvidence {
  readonly method: 'join_token' | 'cluster_key';
  readonly cluster: ClusterRow;
  /** The join token to spend (join_token only). */
  readonly joinTokenId?: string;
}

function denied(code: string, message: string): AgentApiError {
  return new AgentApiError(status.PERMISSION_DENIED, code, message);
}

/** Checks a join token against the read model (hash, trust domain, expiry, not yet used). */
export async function checkJoinToken(
  model: AgentModel,
  td: TrustDomainRow,
  presented: string,
  now: Date,
): Promise<AttestationEvidence> {
  const parsed = parseJoinToken(presented);
  if (parsed === undefined)
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'JOIN_TOKEN_MALFORMED',
      'join token is malformed',
    );
  const token = await model.joinToken(parsed.id);
  // One answer for unknown, foreign and wrong secrets: nothing to probe.
  if (
    token === undefined ||
    token.trustDomainId !== td.id ||
    !joinTokenMatches(parsed.secret, token.salt, token.hash)
  ) {
    throw denied('JOIN_TOKEN_INVALID', 'join token is not valid');
  }
  if (token.usedAt !== null) throw denied('JOIN_TOKEN_USED', 'join token has already been used');
  if (token.expiresAt.getTime() <= now.getTime())
    throw denied('JOIN_TOKEN_EXPIRED', 'join token has expired');
  const cluster = await activeCluster(model, td, token.clusterId);
  return { method: 'join_token', cluster, joinTokenId: token.id };
}

/** Where nonces of accepted assertions are remembered, for as long as they could be replayed. */
export interface AssertionNonceStore {
  /** Records `nonce` for `clusterId` for `retainSeconds`; false when it is already recorded and unexpired. */
  remember(clusterId: string, nonce: string, retainSeconds: number): Promise<boolean>;
}

/**
 * How long an accepted nonce is remembered: the whole window in which its `iat` counts as fresh
 * (±ASSERTION_MAX_SKEW_SECONDS), plus a minute for clock differences between replicas.
 */
export const NONCE_RETAIN_SECONDS = 2 * ASSERTION_MAX_SKEW_SECONDS + 60;

/** Verifies a cluster-key assertion: signed by a registered key of an active cluster, fresh, for this node. */
export async function checkClusterKey(
  model: AgentModel,
  td: TrustDomainRow,
  nodeName: string,
  assertion: { statement: Buffer; signature: Buffer },
  now: Date,
  nonces: AssertionNonceStore,
): Promise<AttestationEvidence> {
  if (
    assertion.statement.length === 0 ||
    assertion.statement.length > 4096 ||
    assertion.signature.length !== 64
  ) {
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'ASSERTION_MALFORMED',
      'cluster-key assertion is malformed',
    );
  }
  let statement: ClusterKeyStatement;
  try {
    statement = JSON.parse(assertion.statement.toString('utf8')) as ClusterKeyStatement;
  } catch {
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'ASSERTION_MALFORMED',
      'cluster-key statement is not JSON',
    );
  }
  if (
    typeof statement !== 'object' ||
    statement === null ||
    typeof statement.clusterId !== 'string' ||
    typeof statement.trustDomainId !== 'string' ||
    typeof statement.nodeName !== 'string' ||
    typeof statement.iat !== 'number' ||
    typeof statement.nonce !== 'string' ||
    statement.nonce.length < 16 ||
    statement.nonce.length > 128
  ) {
    throw new AgentApiError(
      status.INVALID_ARGUMENT,
      'ASSERTION_MALFORMED',
      'cluster-key statement lacks trustDomainId, clusterId, nodeName, iat or nonce',
    );
  }
  if (statement.trustDomainId !== td.id || statement.nodeName !== nodeName) {
    throw denied('ASSERTION_MISMATCH', 'the assertion is for another trust domain or node');
  }
  if (Math.abs(now.getTime() / 1000 - statement.iat) > ASSERTION_MAX_SKEW_SECONDS)
    throw denied('ASSERTION_STALE', 'the assertion is not fresh (iat)');
  const cluster = await activeCluster(model, td, statement.clusterId);
  const keys = await model.clusterKeys(cluster.id);
  const valid = keys.some((spki) => {
    try {
      return verify(
        null,
        assertion.statement,
        createPublicKey({ key: spki, format: 'der', type: 'spki' }),
        assertion.signature,
      );
    } catch {
      return false;
    }
  });
  if (!valid)
    throw denied('ASSERTION_INVALID', 'the assertion is not signed by a key of the cluster');
  if (!(await nonces.remember(cluster.id, statement.nonce, NONCE_RETAIN_SECONDS)))
    throw denied('ASSERTION_REPLAYED', 'the assertion was already used');
  return { method: 'cluster_key', cluster };
}

async function activeCluster(
  model: AgentModel,
  td: TrustDomainRow,
  clusterId: string,
): Promise<ClusterRow> {
  const cluster = await model.cluster(clusterId);
  if (cluster === undefined || cluster.trustDomainId !== td.id)
    throw denied('CLUSTER_NOT_FOUND', 'cluster not found');
  if (cluster.status !== 'active') throw denied('CLUSTER_DISABLED', 'cluster is disabled');
  return cluster;
}
