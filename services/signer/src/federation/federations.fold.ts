/**
 * The signer's `federations` table: one row per federation relationship of a trust domain this
 * installation serves, with the peer's last recorded bundle (external peers). A deleted
 * relationship keeps its row (marked) so that a re-created one finds the peer's recorded bundle.
 */
import { tableFold, type TableRow } from '@trustplane/eventstore';

export const federationsFold = tableFold<TableRow>({
  table: 'federations',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'peer_kind', 'peer_trust_domain', 'peer_trust_domain_id', 'deleted', 'document', 'version'],
  keyOf: (e) => (e.aggregateType === 'federation' || e.aggregateType === 'federatedbundle' ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'federation.created': {
        const peer = e.data.peer;
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          peer_kind: peer.kind,
          peer_trust_domain: peer.trustDomain,
          peer_trust_domain_id: peer.kind === 'internal' ? peer.trustDomainId : null,
          deleted: false,
          document: row?.['document'] ?? null,
          version: seq,
        };
      }
      case 'federation.deleted':
        return row && { ...row, deleted: true, version: seq };
      case 'federatedbundle.updated':
        return row && { ...row, document: JSON.stringify(e.data.document), version: seq };
      default:
        return row;
    }
  },
});
