import type { DomainEnvelope } from '@trustplane/events';
import { applyRowFold, tableFold, type PositionedEvent, type Projection, type ProjectionTx, type TableRow } from '@trustplane/eventstore';
import { AGENT, CLUSTER, CLUSTER_CONFIG_VERSIONS_KEPT, CONFIG_SECTION, DEPLOYMENT, ENTRY, API_TOKEN, JOIN_TOKEN, TRUST_DOMAIN } from '@trustplane/registry-domain';

type Row = TableRow;
const stamp = (event: DomainEnvelope, sequence: number) => ({ version: sequence, updated_at: event.occurredAt });

const trustDomains = tableFold<Row>({
  table: 'trust_domains',
  columns: ['id', 'tenant_id', 'name', 'description', 'kind', 'status', 'version', 'created_at', 'updated_at'],
  keyOf: (e) => (e.aggregateType === TRUST_DOMAIN ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'trustdomain.created':
        return { id: e.aggregateId, tenant_id: e.tenant, name: e.data.name, description: e.data.description, kind: e.data.kind, status: e.data.status, created_at: e.occurredAt, ...stamp(e, seq) };
      case 'trustdomain.status_changed':
        return row && { ...row, status: e.data.status, ...stamp(e, seq) };
      case 'trustdomain.described':
        return row && { ...row, description: e.data.description, ...stamp(e, seq) };
      case 'trustdomain.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

/** The first CA activation of any deployment makes its trust domain `available`. */
const trustDomainAvailability = tableFold<Row>({
  table: 'trust_domains',
  columns: ['id', 'tenant_id', 'name', 'description', 'kind', 'status', 'version', 'created_at', 'updated_at'],
  keyOf: (e) => (e.type === 'ca.keyset_activated' ? e.data.trustDomainId : undefined),
  fold(row, e, seq) {
    return row !== undefined && row['status'] !== 'available' ? { ...row, status: 'available', ...stamp(e, seq) } : row;
  },
});

const deployments = tableFold<Row>({
  table: 'deployments',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'name', 'region', 'managed', 'active_keys', 'version', 'created_at', 'updated_at'],
  keyOf: (e) => (e.aggregateType === DEPLOYMENT ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'deployment.created':
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          name: e.data.name,
          region: e.data.region,
          managed: e.data.managed,
          active_keys: 0,
          created_at: e.occurredAt,
          ...stamp(e, seq),
        };
      case 'deployment.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

const clusters = tableFold<Row>({
  table: 'clusters',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'name', 'platform', 'description', 'status', 'version', 'created_at', 'updated_at'],
  keyOf: (e) => (e.aggregateType === CLUSTER ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'cluster.created':
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          name: e.data.name,
          platform: e.data.platform,
          description: e.data.description,
          status: 'active',
          created_at: e.occurredAt,
          ...stamp(e, seq),
        };
      case 'cluster.disabled':
        return row && { ...row, status: 'disabled', ...stamp(e, seq) };
      case 'cluster.config_version_added':
        return row && { ...row, ...stamp(e, seq) };
      case 'cluster.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

const entries = tableFold<Row>({
  table: 'entries',
  columns: [
    'id', 'tenant_id', 'trust_domain_id', 'spiffe_id', 'parent_id', 'selectors', 'x509_svid_ttl', 'jwt_svid_ttl',
    'dns_names', 'federates_with', 'admin', 'downstream', 'hint', 'expires_at', 'revision', 'version', 'created_at', 'updated_at',
  ],
  keyOf: (e) => (e.aggregateType === ENTRY ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'entry.created':
      case 'entry.updated': {
        const d = e.data;
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: d.trustDomainId,
          spiffe_id: d.spiffeId,
          parent_id: d.parentId,
          selectors: d.selectors,
          x509_svid_ttl: d.x509SvidTtl,
          jwt_svid_ttl: d.jwtSvidTtl,
          dns_names: d.dnsNames,
          federates_with: d.federatesWith,
          admin: d.admin,
          downstream: d.downstream,
          hint: d.hint,
          expires_at: d.expiresAt,
          revision: d.revision,
          created_at: row?.['created_at'] ?? e.occurredAt,
          ...stamp(e, seq),
        };
      }
      case 'entry.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

const apiTokens = tableFold<Row>({
  table: 'api_tokens',
  columns: ['id', 'tenant_id', 'name', 'scopes', 'salt', 'hash', 'expires_at', 'revoked', 'created_at', 'updated_at'],
  keyOf: (e) => (e.aggregateType === API_TOKEN ? e.aggregateId : undefined),
  fold(row, e) {
    switch (e.type) {
      case 'apitoken.created':
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          name: e.data.name,
          scopes: e.data.scopes,
          salt: e.data.salt,
          hash: e.data.hash,
          expires_at: e.data.expiresAt,
          revoked: false,
          created_at: e.occurredAt,
          updated_at: e.occurredAt,
        };
      case 'apitoken.revoked':
        return row && { ...row, revoked: true, updated_at: e.occurredAt };
      default:
        return row;
    }
  },
});

const joinTokens = tableFold<Row>({
  table: 'join_tokens',
  columns: [
    'id', 'tenant_id', 'trust_domain_id', 'cluster_id', 'salt', 'hash', 'expires_at', 'used_at', 'used_by_agent_id', 'used_by_node_name',
    'version', 'created_at', 'updated_at',
  ],
  keyOf: (e) => (e.aggregateType === JOIN_TOKEN ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'jointoken.created':
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          cluster_id: e.data.clusterId,
          salt: e.data.salt,
          hash: e.data.hash,
          expires_at: e.data.expiresAt,
          used_at: null,
          used_by_agent_id: null,
          used_by_node_name: null,
          created_at: e.occurredAt,
          ...stamp(e, seq),
        };
      case 'jointoken.used':
        return row && { ...row, used_at: e.data.usedAt, used_by_agent_id: e.data.agentId, used_by_node_name: e.data.nodeName, ...stamp(e, seq) };
      default:
        return row;
    }
  },
});

const agents = tableFold<Row>({
  table: 'agents',
  columns: [
    'id', 'tenant_id', 'trust_domain_id', 'cluster_id', 'cluster_name', 'node_name', 'spiffe_id', 'method', 'serial_number', 'expires_at',
    'banned', 'ban_reason', 'attested_at', 'version', 'created_at', 'updated_at',
  ],
  keyOf: (e) => (e.aggregateType === AGENT ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'agent.attested':
        // Re-attestation replaces the SVID facts; a ban (should one precede it) is kept.
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          cluster_id: e.data.clusterId,
          cluster_name: e.data.clusterName,
          node_name: e.data.nodeName,
          spiffe_id: e.data.spiffeId,
          method: e.data.method,
          serial_number: e.data.serialNumber,
          expires_at: e.data.expiresAt,
          banned: row?.['banned'] ?? false,
          ban_reason: row?.['ban_reason'] ?? null,
          attested_at: e.occurredAt,
          created_at: row?.['created_at'] ?? e.occurredAt,
          ...stamp(e, seq),
        };
      case 'agent.renewed':
        return row && { ...row, serial_number: e.data.serialNumber, expires_at: e.data.expiresAt, ...stamp(e, seq) };
      case 'agent.banned':
        return row && { ...row, banned: true, ban_reason: e.data.reason, ...stamp(e, seq) };
      default:
        return row;
    }
  },
});

/** The public attestation keys of each cluster (and none of a deleted one). */
async function applyClusterKeys(tx: ProjectionTx, events: readonly PositionedEvent[]): Promise<void> {
  for (const { event } of events) {
    if (event.type === 'cluster.key_registered') {
      await tx.query(
        `INSERT INTO cluster_keys (id, tenant_id, trust_domain_id, cluster_id, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
        [event.data.keyId, event.tenant, event.data.trustDomainId, event.aggregateId, event.data.publicKey, event.occurredAt],
      );
    } else if (event.type === 'cluster.deleted') {
      await tx.query('DELETE FROM cluster_keys WHERE cluster_id = $1', [event.aggregateId]);
    }
  }
}

/** Keeps the newest configuration versions of each cluster (and none of a deleted one). */
async function applyConfigVersions(tx: ProjectionTx, events: readonly PositionedEvent[]): Promise<void> {
  for (const { event } of events) {
    if (event.type === 'cluster.config_version_added') {
      await tx.query(
        `INSERT INTO cluster_config_versions (id, tenant_id, cluster_id, config, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING`,
        [event.data.versionId, event.tenant, event.aggregateId, JSON.stringify(event.data.config), event.occurredAt],
      );
      await tx.query(
        `DELETE FROM cluster_config_versions WHERE cluster_id = $1 AND id NOT IN (
           SELECT id FROM cluster_config_versions WHERE cluster_id = $1 ORDER BY created_at DESC, id DESC LIMIT ${CLUSTER_CONFIG_VERSIONS_KEPT})`,
        [event.aggregateId],
      );
    } else if (event.type === 'cluster.deleted') {
      await tx.query('DELETE FROM cluster_config_versions WHERE cluster_id = $1', [event.aggregateId]);
    }
  }
}

/**
 * The current document of each config section, in log order; a deleted deployment or cluster
 * takes its sections with it.
 */
async function applyConfigSections(tx: ProjectionTx, events: readonly PositionedEvent[]): Promise<void> {
  for (const { event, sequence } of events) {
    if (event.type === 'configsection.set') {
      const d = event.data;
      await tx.query(
        `INSERT INTO config_sections (id, tenant_id, target_kind, target_id, trust_domain_id, section, schema, spec, config_version, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
         ON CONFLICT (id) DO UPDATE SET schema = EXCLUDED.schema, spec = EXCLUDED.spec, config_version = EXCLUDED.config_version,
           version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
        [event.aggregateId, event.tenant, d.targetKind, d.targetId, d.trustDomainId, d.section, d.schema, JSON.stringify(d.spec), d.version, sequence, event.occurredAt],
      );
    } else if (event.type === 'deployment.deleted' || event.type === 'cluster.deleted') {
      await tx.query('DELETE FROM config_sections WHERE tenant_id = $1 AND target_id = $2', [event.tenant, event.aggregateId]);
    }
  }
}

/** The registry's read model of trust domains, deployments, clusters, entries, tokens, join tokens and agents. */
export const registryModelProjection: Projection = {
  name: 'registry.model',
  aggregateTypes: [TRUST_DOMAIN, DEPLOYMENT, CLUSTER, ENTRY, API_TOKEN, 'ca', CONFIG_SECTION, JOIN_TOKEN, AGENT],
  tables: [
    { name: 'trust_domains', orderBy: ['id'] },
    { name: 'deployments', orderBy: ['id'] },
    { name: 'clusters', orderBy: ['id'] },
    { name: 'cluster_config_versions', orderBy: ['id'] },
    { name: 'entries', orderBy: ['id'] },
    { name: 'api_tokens', orderBy: ['id'] },
    { name: 'config_sections', orderBy: ['id'] },
    { name: 'cluster_keys', orderBy: ['id'] },
    { name: 'join_tokens', orderBy: ['id'] },
    { name: 'agents', orderBy: ['id'] },
  ],
  async applyBatch(tx, events) {
    for (const fold of [trustDomains, trustDomainAvailability, deployments, clusters, entries, apiTokens, joinTokens, agents]) await applyRowFold(tx, fold, events);
    await applyConfigVersions(tx, events);
    await applyClusterKeys(tx, events);
    await applyConfigSections(tx, events);
  },
};
