/**
 * The SPIFFE IDs a trust domain keeps for its own infrastructure. One rule for everyone who
 * decides about an ID: the registry refuses registration entries under these paths, and the
 * signer never mints them for a workload (the agent API refuses such entries, and only the
 * signer's own attestation and serving code issues agent and server identities).
 */

/**
 * First path segments reserved for infrastructure: node agents (`/agent/<cluster>/<node>`),
 * the signer's serving identity (`/trustplane/server`, and anything else under `/trustplane/`)
 * and SPIRE's conventional `/spire/…` (agent and server IDs of SPIRE deployments).
 */
export const RESERVED_SPIFFE_PATH_SEGMENTS: readonly string[] = Object.freeze(['agent', 'spire', 'trustplane']);

/**
 * True when a first path segment is reserved. Compared without regard to case: `/Agent/…` is a
 * different SPIFFE ID, but one that an operator reading logs would take for an agent's.
 */
export function isReservedPathSegment(segment: string, reserved: readonly string[] = RESERVED_SPIFFE_PATH_SEGMENTS): boolean {
  return reserved.includes(segment.toLowerCase());
}

/**
 * True when a SPIFFE ID (`spiffe://<td><path>`) names infrastructure: its first path segment is
 * reserved, or it has no path at all (the trust domain's own ID). Anything that is not a
 * `spiffe://` URI counts as reserved, so a caller that forgot to validate fails closed.
 */
export function isReservedSpiffeId(spiffeId: string): boolean {
  if (!spiffeId.startsWith('spiffe://')) return true;
  const slash = spiffeId.indexOf('/', 'spiffe://'.length);
  if (slash < 0) return true;
  const next = spiffeId.indexOf('/', slash + 1);
  return isReservedPathSegment(spiffeId.slice(slash + 1, next < 0 ? undefined : next));
}
