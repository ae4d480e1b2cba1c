import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';
import { FEDERATION } from '@trustplane/federation-domain';

const federations = tableFold<TableRow>({
  table: 'federations',
  columns: [
    'id', 'tenant_id', 'trust_domain_id', 'trust_domain', 'peer_trust_domain', 'peer_kind', 'peer_trust_domain_id',
    'bundle_endpoint_url', 'profile', 'endpoint_spiffe_id', 'bootstrap_bundle', 'refresh_requested_at', 'version', 'created_at', 'updated_at',
  ],
  keyOf: (e) => (e.aggregateType === FEDERATION ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'federation.created': {
        const peer = e.data.peer;
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          trust_domain: e.data.trustDomain,
          peer_trust_domain: peer.trustDomain,
          peer_kind: peer.kind,
          peer_trust_domain_id: peer.kind === 'internal' ? peer.trustDomainId : null,
          bundle_endpoint_url: peer.kind === 'external' ? peer.bundleEndpointUrl : null,
          profile: peer.kind === 'external' ? peer.profile : null,
          endpoint_spiffe_id: peer.kind === 'external' ? (peer.endpointSpiffeId ?? null) : null,
          bootstrap_bundle: peer.kind === 'external' ? (peer.bootstrapBundle ?? null) : null,
          refresh_requested_at: null,
          version: seq,
          created_at: e.occurredAt,
          updated_at: e.occurredAt,
        };
      }
      case 'federation.refresh_requested':
        return row && { ...row, refresh_requested_at: e.data.requestedAt, version: seq, updated_at: e.occurredAt };
      case 'federation.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

/** Federation relationships (`federation.*`), one row per live relationship. */
export const federationsProjection: Projection = {
  name: 'registry.federations',
  aggregateTypes: [FEDERATION],
  tables: [{ name: 'federations', orderBy: ['id'] }],
  applyBatch: (tx, events) => applyRowFold(tx, federations, events),
};
