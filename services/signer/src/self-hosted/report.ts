import { createPublicKey } from 'node:crypto';
import type { ReportedAgent, ReportedKeyset } from '@trustplane/events';
import { quoteIdent } from '@trustplane/eventstore';
import type { Keyset } from '@trustplane/ca-domain';
import type { Pool } from 'pg';

/** What the self-hosted signer reports (the registry's `POST /api/v1/sync/report` body). */
export interface SignerReport {
  readonly appliedPosition: number;
  readonly keysets: readonly ReportedKeyset[];
  readonly agents: readonly ReportedAgent[];
  readonly status: { readonly state: 'serving' | 'degraded'; readonly detail: string };
}

/** The most keysets a report carries (the registry's bound), newest first kept. */
const MAX_KEYSETS = 16;
/** The most agents a report carries (the registry's bound). */
const MAX_AGENTS = 1000;

/**
 * The public half of the deployment's keysets still relevant to the bundle (revoked and dropped
 * ones are left out): the CA certificate and the JWT key as a public JWK. Never a key handle.
 */
export function reportedKeysets(keysets: readonly Keyset[]): ReportedKeyset[] {
  return keysets
    .filter((k) => k.status !== 'revoked' && k.status !== 'dropped')
    .slice(-MAX_KEYSETS)
    .map((k) => ({
      keysetId: k.keysetId,
      state: k.status,
      x509Authorities: [k.x509.certificate],
      jwtAuthorities: [
        {
          kid: k.jwt.keyId,
          publicKeyJwk: createPublicKey({ key: Buffer.from(k.jwt.publicKey, 'base64'), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Record<string, string>,
        },
      ],
      notAfter: new Date(k.notAfter).toISOString(),
    }));
}

/** The deployment's agents, from the signer's read model. */
export async function reportedAgents(pool: Pool, schema: string, trustDomainId: string): Promise<ReportedAgent[]> {
  const rows = await pool.query<{ id: string; spiffe_id: string; cluster_id: string; node_name: string; expires_at: string | Date; banned: boolean }>(
    `SELECT id, spiffe_id, cluster_id, node_name, expires_at, banned FROM ${quoteIdent(schema)}.agents WHERE trust_domain_id = $1 ORDER BY id LIMIT ${MAX_AGENTS}`,
    [trustDomainId],
  );
  return rows.rows.map((r) => ({
    agentId: r.id,
    spiffeId: r.spiffe_id,
    clusterId: r.cluster_id,
    nodeName: r.node_name,
    expiresAt: new Date(r.expires_at).toISOString(),
    banned: r.banned,
  }));
}
