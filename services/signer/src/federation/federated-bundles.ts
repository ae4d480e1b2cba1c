/**
 * The federated bundles of a trust domain as the agent bundle stream carries them: for every
 * live federation relationship, the peer's bundle — a peer of this installation straight from
 * the log (like the own bundle), an external one as last recorded by the federation service. A
 * peer whose bundle is not known yet is left out; it never holds up anything else.
 */
import type { agentApi } from '@trustplane/proto';
import type { Pool } from 'pg';
import type { CaService } from '../ca-service.js';
import type { TrustDomainRow } from '../agent-api/model.js';
import { trustMaterial } from '../agent-api/trust.js';

interface FederationRow {
  peer_kind: string;
  peer_trust_domain: string;
  peer_trust_domain_id: string | null;
  document: { keys?: { use?: string; x5c?: string[] }[]; spiffe_sequence?: number } | string | null;
}

/** Reads the relationships of a trust domain from the signer's read model. */
export class FederatedBundles {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  async of(ca: CaService, td: TrustDomainRow): Promise<agentApi.Bundle[]> {
    const rows = await this.pool.query<FederationRow>(
      // A peer of this installation that has been deleted is no longer trusted (its bundle stays in the log).
      `SELECT f.peer_kind, f.peer_trust_domain, f.peer_trust_domain_id, f.document FROM "${this.schema}".federations f
        WHERE f.trust_domain_id = $1 AND f.tenant_id = $2 AND NOT f.deleted
          AND (f.peer_kind <> 'internal' OR EXISTS (SELECT 1 FROM "${this.schema}".trust_domains t WHERE t.id = f.peer_trust_domain_id AND t.tenant_id = f.tenant_id))
        ORDER BY f.peer_trust_domain`,
      [td.id, td.tenant],
    );
    const bundles: agentApi.Bundle[] = [];
    for (const row of rows.rows) {
      if (row.peer_kind === 'internal' && row.peer_trust_domain_id !== null) {
        const material = await trustMaterial(ca, { id: row.peer_trust_domain_id, tenant: td.tenant, name: row.peer_trust_domain });
        if (material === undefined) continue;
        bundles.push({ trustDomain: row.peer_trust_domain, x509Authorities: [...material.x509Authorities], jwtAuthorities: material.jwks, sequence: BigInt(material.sequence) });
      } else if (row.document !== null) {
        const document = typeof row.document === 'string' ? (JSON.parse(row.document) as Exclude<FederationRow['document'], string | null>) : row.document;
        const keys = document.keys ?? [];
        bundles.push({
          trustDomain: row.peer_trust_domain,
          x509Authorities: keys.filter((k) => k.use === 'x509-svid' && k.x5c?.[0] !== undefined).map((k) => Buffer.from(k.x5c?.[0] ?? '', 'base64')),
          jwtAuthorities: Buffer.from(JSON.stringify({ keys: keys.filter((k) => k.use === 'jwt-svid') }), 'utf8'),
          sequence: BigInt(document.spiffe_sequence ?? 0),
        });
      }
    }
    return bundles;
  }
}
