import { keysetStatusAfter, retiredKeysetStatus } from '@trustplane/ca-domain';
import type { DomainEnvelope } from '@trustplane/events';
import { applyRowFold, tableFold, type PositionedEvent, type Projection, type ProjectionTx, type TableRow } from '@trustplane/eventstore';
import {
  AGENT,
  AGENT_ROW_COLUMNS,
  agentRowKey,
  API_TOKEN,
  API_TOKEN_ROW_COLUMNS,
  apiTokenRowKey,
  foldApiTokenRow,
  CLUSTER,
  CLUSTER_CONFIG_VERSIONS_KEPT,
  CONFIG_SECTION,
  DEPLOYMENT,
  ENTRY,
  foldAgentRow,
  JOIN_TOKEN,
  TRUST_DOMAIN,
  type AgentRow,
  type ApiTokenRow,
} from '@trustplane/registry-domain';

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

/**
 * The first CA activation of any deployment (managed), or the first self-hosted deployment
 * configured, makes its trust domain `available`.
 */
const trustDomainAvailability = tableFold<Row>({
  table: 'trust_domains',
  columns: ['id', 'tenant_id', 'name', 'description', 'kind', 'status', 'version', 'created_at', 'updated_at'],
  keyOf: (e) => (e.type === 'ca.keyset_activated' || e.type === 'deployment.configured' ? e.data.trustDomainId : undefined),
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

/** API tokens: the one fold every authenticating service uses (libs/registry-domain). */
const apiTokens = tableFold<ApiTokenRow>({ table: 'api_tokens', columns: API_TOKEN_ROW_COLUMNS, keyOf: apiTokenRowKey, fold: foldApiTokenRow });

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

/** Node agents: the one fold both read models use (libs/registry-domain). */
const agents = tableFold<AgentRow>({ table: 'agents', columns: AGENT_ROW_COLUMNS, keyOf: agentRowKey, fold: foldAgentRow });

/** The status of each keyset of each deployment (`ca.*`; the row id is `<deploymentId>/<keysetId>`). */
const keysets = tableFold<Row>({
  table: 'deployment_keysets',
  columns: ['id', 'tenant_id', 'deployment_id', 'keyset_id', 'status', 'version'],
  keyOf: (e) => (e.aggregateType === 'ca' ? `${e.aggregateId}/${(e.data as { keysetId: string }).keysetId}` : undefined),
  fold(row, e, seq) {
    if (e.type === 'ca.keyset_prepared') {
      return { id: `${e.aggregateId}/${e.data.keysetId}`, tenant_id: e.tenant, deployment_id: e.aggregateId, keyset_id: e.data.keysetId, status: 'prepared', version: seq };
    }
    const status = keysetStatusAfter(e.type);
    return row && status !== undefined ? { ...row, status, version: seq } : row;
  },
});

/** An activation retires the keyset that was active until then. */
const retiredKeysets = tableFold<Row>({
  table: 'deployment_keysets',
  columns: ['id', 'tenant_id', 'deployment_id', 'keyset_id', 'status', 'version'],
  keyOf: (e) => (e.type === 'ca.keyset_activated' && e.data.previousKeysetId !== null ? `${e.aggregateId}/${e.data.previousKeysetId}` : undefined),
  fold(row, e, seq) {
    if (row === undefined || row['status'] !== 'active' || e.type !== 'ca.keyset_activated') return row;
    return { ...row, status: retiredKeysetStatus(e.data.reason), version: seq };
  },
});

/** After keyset changes, each deployment's `active_keys`: how many of its keysets sign now. */
async function applyActiveKeys(tx: ProjectionTx, events: readonly PositionedEvent[]): Promise<void> {
  const deployments = [...new Set(events.filter(({ event }) => event.aggregateType === 'ca').map(({ event }) => event.aggregateId))];
  if (deployments.length === 0) return;
  await tx.query(
    `UPDATE deployments d SET active_keys = (SELECT count(*) FROM deployment_keysets k WHERE k.deployment_id = d.id AND k.status = 'active')
      WHERE d.id = ANY($1)`,
    [deployments],
  );
}

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

/**
 * The trust domain whose sync state (what its self-hosted deployments are sent) an event
 * changes, if any. Reports are handled in {@link applySync}: only changed keysets count.
 */
function syncTrustDomainOf(event: DomainEnvelope): string | undefined {
  switch (event.type) {
    case 'trustdomain.created':
    case 'trustdomain.described':
    case 'trustdomain.status_changed':
      return event.aggregateId;
    case 'deployment.created':
    case 'deployment.deleted':
    case 'cluster.created':
    case 'cluster.disabled':
    case 'cluster.deleted':
    case 'cluster.config_version_added':
    case 'cluster.key_registered':
    case 'entry.created':
    case 'entry.updated':
    case 'entry.deleted':
    case 'configsection.set':
    case 'jointoken.created':
      return event.data.trustDomainId;
    default:
      return undefined;
  }
}

/**
 * Self-hosted sync: each trust domain's position (the sequence of the last event that changed
 * its sync state) copied onto its deployments; each deployment's reports (status, public
 * keysets, which also feed `deployment_keysets` / `active_keys`) and configured position. A
 * changed position is announced on `<schema>_sync` (delivered on commit) to the open streams.
 */
async function applySync(tx: ProjectionTx, events: readonly PositionedEvent[]): Promise<void> {
  const changed = new Set<string>();
  const bump = async (tenant: string, trustDomainId: string, sequence: number): Promise<void> => {
    await tx.query(
      `INSERT INTO sync_positions (id, tenant_id, position) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET position = GREATEST(sync_positions.position, EXCLUDED.position)`,
      [trustDomainId, tenant, sequence],
    );
    await tx.query('UPDATE deployments SET sync_position = $2 WHERE trust_domain_id = $1', [trustDomainId, sequence]);
    changed.add(trustDomainId);
  };
  for (const { event, sequence } of events) {
    if (event.type === 'deployment.reported') {
      const d = event.data;
      const before = await tx.query<{ same: boolean }>('SELECT reported_keysets = $2::jsonb AS same FROM deployments WHERE id = $1', [event.aggregateId, JSON.stringify(d.keysets)]);
      await tx.query(
        `UPDATE deployments SET applied_position = $2, reported_at = $3, report_status = $4::jsonb, reported_keysets = $5::jsonb WHERE id = $1`,
        [event.aggregateId, d.appliedPosition, event.occurredAt, JSON.stringify(d.status), JSON.stringify(d.keysets)],
      );
      if (before.rows[0] === undefined || before.rows[0].same) continue;
      await tx.query('DELETE FROM deployment_keysets WHERE deployment_id = $1', [event.aggregateId]);
      for (const keyset of d.keysets) {
        await tx.query(
          `INSERT INTO deployment_keysets (id, tenant_id, deployment_id, keyset_id, status, version) VALUES ($1, $2, $3, $4, $5, $6)`,
          [`${event.aggregateId}/${keyset.keysetId}`, event.tenant, event.aggregateId, keyset.keysetId, keyset.state, sequence],
        );
      }
      await tx.query(
        `UPDATE deployments d SET active_keys = (SELECT count(*) FROM deployment_keysets k WHERE k.deployment_id = d.id AND k.status = 'active') WHERE d.id = $1`,
        [event.aggregateId],
      );
      await bump(event.tenant, d.trustDomainId, sequence);
    } else if (event.type === 'deployment.configured') {
      await tx.query('UPDATE deployments SET configured_position = GREATEST(configured_position, $2), configured_at = $3 WHERE id = $1', [
        event.aggregateId,
        event.data.position,
        event.occurredAt,
      ]);
    } else if (event.type === 'trustdomain.deleted') {
      await tx.query('DELETE FROM sync_positions WHERE id = $1', [event.aggregateId]);
      changed.add(event.aggregateId);
    } else {
      const trustDomainId = syncTrustDomainOf(event);
      if (trustDomainId !== undefined) await bump(event.tenant, trustDomainId, sequence);
    }
  }
  for (const trustDomainId of [...changed].sort()) await tx.query(`SELECT pg_notify(current_schema() || '_sync', $1)`, [trustDomainId]);
}

/** The registry's read model of trust domains, deployments (with their keysets' status), clusters, entries, tokens, join tokens and agents. */
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
    { name: 'deployment_keysets', orderBy: ['id'] },
    { name: 'sync_positions', orderBy: ['id'] },
  ],
  async applyBatch(tx, events) {
    for (const fold of [trustDomains, trustDomainAvailability, deployments, clusters, entries, joinTokens, keysets, retiredKeysets]) await applyRowFold(tx, fold, events);
    await applyRowFold(tx, apiTokens, events);
    await applyRowFold(tx, agents, events);
    await applyActiveKeys(tx, events);
    await applyConfigVersions(tx, events);
    await applyClusterKeys(tx, events);
    await applyConfigSections(tx, events);
    await applySync(tx, events);
  },
};
