import { federationsFold } from './federation/federations.fold.js';
import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';
import { keysetStatusAfter, retiredKeysetStatus } from '@trustplane/ca-domain';
import { AGENT_ROW_COLUMNS, agentRowKey, foldAgentRow, type AgentRow } from '@trustplane/registry-domain';

type Row = TableRow;

const trustDomains = tableFold<Row>({
  table: 'trust_domains',
  columns: ['id', 'tenant_id', 'name', 'kind'],
  keyOf: (e) => (e.aggregateType === 'trustdomain' ? e.aggregateId : undefined),
  fold(row, e) {
    if (e.type === 'trustdomain.created') return { id: e.aggregateId, tenant_id: e.tenant, name: e.data.name, kind: e.data.kind };
    if (e.type === 'trustdomain.deleted') return undefined;
    return row;
  },
});

const deployments = tableFold<Row>({
  table: 'deployments',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'managed'],
  keyOf: (e) => (e.aggregateType === 'deployment' ? e.aggregateId : undefined),
  fold(row, e) {
    if (e.type === 'deployment.created') return { id: e.aggregateId, tenant_id: e.tenant, trust_domain_id: e.data.trustDomainId, managed: e.data.managed };
    if (e.type === 'deployment.deleted') return undefined;
    return row;
  },
});

const keysets = tableFold<Row>({
  table: 'keysets',
  columns: ['id', 'tenant_id', 'deployment_id', 'trust_domain_id', 'keyset_id', 'status', 'key_type', 'not_before', 'not_after', 'subject_key_id', 'jwt_kid', 'prepared_at', 'activated_at', 'version'],
  keyOf: (e) => {
    if (e.aggregateType !== 'ca') return undefined;
    const data = e.data as { keysetId?: string };
    return data.keysetId === undefined ? undefined : `${e.aggregateId}/${data.keysetId}`;
  },
  fold(row, e, seq) {
    switch (e.type) {
      case 'ca.keyset_prepared':
        return {
          id: `${e.aggregateId}/${e.data.keysetId}`,
          tenant_id: e.tenant,
          deployment_id: e.aggregateId,
          trust_domain_id: e.data.trustDomainId,
          keyset_id: e.data.keysetId,
          status: 'prepared',
          key_type: e.data.keyType,
          not_before: e.data.notBefore,
          not_after: e.data.notAfter,
          subject_key_id: e.data.x509.subjectKeyId,
          jwt_kid: e.data.jwt.keyId,
          prepared_at: e.data.preparedAt,
          activated_at: null,
          version: seq,
        };
      case 'ca.keyset_activated':
        return row && { ...row, status: 'active', activated_at: e.data.activatedAt, version: seq };
      default: {
        const status = keysetStatusAfter(e.type);
        return row && status !== undefined ? { ...row, status, version: seq } : row;
      }
    }
  },
});

/** A keyset activation retires the previous one: mark it `old` in its own row. */
const retired = tableFold<Row>({
  table: 'keysets',
  columns: ['id', 'tenant_id', 'deployment_id', 'trust_domain_id', 'keyset_id', 'status', 'key_type', 'not_before', 'not_after', 'subject_key_id', 'jwt_kid', 'prepared_at', 'activated_at', 'version'],
  keyOf: (e) => (e.type === 'ca.keyset_activated' && e.data.previousKeysetId !== null ? `${e.aggregateId}/${e.data.previousKeysetId}` : undefined),
  fold(row, e, seq) {
    if (row === undefined || row['status'] !== 'active' || e.type !== 'ca.keyset_activated') return row;
    return { ...row, status: retiredKeysetStatus(e.data.reason), version: seq };
  },
});

const bundles = tableFold<Row>({
  table: 'bundles',
  columns: ['id', 'tenant_id', 'sequence', 'document', 'updated_at'],
  keyOf: (e) => (e.type === 'bundle.updated' ? e.aggregateId : undefined),
  fold(_row, e) {
    if (e.type !== 'bundle.updated') return _row;
    return { id: e.aggregateId, tenant_id: e.tenant, sequence: e.data.sequence, document: e.data.document, updated_at: e.occurredAt };
  },
});

/** The `key-manager` config section of each deployment (the custody to use for its keys). */
const keyManagers = tableFold<Row>({
  table: 'key_managers',
  columns: ['id', 'tenant_id', 'spec', 'version'],
  keyOf: (e) => {
    if (e.type === 'configsection.set') return e.data.targetKind === 'trust-domain-deployment' && e.data.section === 'key-manager' ? e.data.targetId : undefined;
    return e.type === 'deployment.deleted' ? e.aggregateId : undefined;
  },
  fold(row, e) {
    if (e.type === 'configsection.set') return { id: e.data.targetId, tenant_id: e.tenant, spec: e.data.spec, version: e.data.version };
    if (e.type === 'deployment.deleted') return undefined;
    return row;
  },
});

/** Clusters of every trust domain (agents are refused when their cluster is not active). */
const clusters = tableFold<Row>({
  table: 'clusters',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'name', 'status', 'version'],
  keyOf: (e) => (e.aggregateType === 'cluster' && (e.type === 'cluster.created' || e.type === 'cluster.disabled' || e.type === 'cluster.deleted') ? e.aggregateId : undefined),
  fold(row, e, seq) {
    if (e.type === 'cluster.created') return { id: e.aggregateId, tenant_id: e.tenant, trust_domain_id: e.data.trustDomainId, name: e.data.name, status: 'active', version: seq };
    if (e.type === 'cluster.disabled') return row && { ...row, status: 'disabled', version: seq };
    if (e.type === 'cluster.deleted') return undefined;
    return row;
  },
});

/** Ed25519 attestation public keys of clusters (never private keys). */
const clusterKeys = tableFold<Row>({
  table: 'cluster_keys',
  columns: ['id', 'tenant_id', 'cluster_id', 'trust_domain_id', 'key_id', 'public_key'],
  keyOf: (e) => (e.type === 'cluster.key_registered' ? `${e.aggregateId}/${e.data.keyId}` : undefined),
  fold(row, e) {
    if (e.type !== 'cluster.key_registered') return row;
    return { id: `${e.aggregateId}/${e.data.keyId}`, tenant_id: e.tenant, cluster_id: e.aggregateId, trust_domain_id: e.data.trustDomainId, key_id: e.data.keyId, public_key: e.data.publicKey };
  },
});

/** Join tokens: salted hashes, expiry and whether they were spent. */
const joinTokens = tableFold<Row>({
  table: 'join_tokens',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'cluster_id', 'hash', 'salt', 'expires_at', 'used_at', 'agent_id'],
  keyOf: (e) => (e.aggregateType === 'jointoken' ? e.aggregateId : undefined),
  fold(row, e) {
    if (e.type === 'jointoken.created') {
      return { id: e.aggregateId, tenant_id: e.tenant, trust_domain_id: e.data.trustDomainId, cluster_id: e.data.clusterId, hash: e.data.hash, salt: e.data.salt, expires_at: e.data.expiresAt, used_at: null, agent_id: null };
    }
    if (e.type === 'jointoken.used') return row && { ...row, used_at: e.data.usedAt, agent_id: e.data.agentId };
    return row;
  },
});

/** Node agents: the one fold both read models use (libs/registry-domain); current and previous SVID serial (either is honoured), expiry, ban. */
const agents = tableFold<AgentRow>({ table: 'agents', columns: AGENT_ROW_COLUMNS, keyOf: agentRowKey, fold: foldAgentRow });

/** Registration entries, as agents sync them. */
const entries = tableFold<Row>({
  table: 'entries',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'spiffe_id', 'parent_id', 'selectors', 'x509_svid_ttl', 'jwt_svid_ttl', 'dns_names', 'federates_with', 'hint', 'revision', 'version'],
  keyOf: (e) => (e.aggregateType === 'entry' ? e.aggregateId : undefined),
  fold(row, e, seq) {
    if (e.type === 'entry.created' || e.type === 'entry.updated') {
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
        hint: d.hint,
        revision: d.revision,
        version: seq,
      };
    }
    if (e.type === 'entry.deleted') return undefined;
    return row;
  },
});

/** Per trust domain, the stream sequence of its last entry change: the revision agents see. */
const entryRevisions = tableFold<Row>({
  table: 'entry_revisions',
  columns: ['id', 'tenant_id', 'revision'],
  keyOf: (e) => (e.aggregateType === 'entry' ? (e.data as { trustDomainId: string }).trustDomainId : undefined),
  fold(_row, e, seq) {
    return { id: (e.data as { trustDomainId: string }).trustDomainId, tenant_id: e.tenant, revision: seq };
  },
});

/** Public CA keysets each self-hosted deployment reported (for the trust domain's bundle). */
const reportedKeysets = tableFold<Row>({
  table: 'reported_keysets',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'keysets', 'version'],
  keyOf: (e) => (e.type === 'deployment.reported' || e.type === 'deployment.deleted' ? e.aggregateId : undefined),
  fold(row, e, seq) {
    if (e.type === 'deployment.reported') return { id: e.aggregateId, tenant_id: e.tenant, trust_domain_id: e.data.trustDomainId, keysets: e.data.keysets, version: seq };
    if (e.type === 'deployment.deleted') return undefined;
    return row;
  },
});

/** Postgres channel (per schema) on which the projection announces changes agents must see. */
export function agentModelChannel(schema: string): string {
  return `${schema}_agent_model`;
}

/** Aggregate types whose changes are announced to the agent API after commit. */
const ANNOUNCED = new Set(['entry', 'agent', 'cluster', 'bundle', 'ca', 'federation', 'federatedbundle', 'trustdomain']);

/** The signer's read model of trust domains, deployments, keysets and bundles. */
export const signerProjection: Projection = {
  name: 'signer.model',
  aggregateTypes: ['trustdomain', 'deployment', 'ca', 'bundle', 'configsection', 'cluster', 'jointoken', 'agent', 'entry', 'federation', 'federatedbundle'],
  tables: [
    { name: 'trust_domains', orderBy: ['id'] },
    { name: 'deployments', orderBy: ['id'] },
    { name: 'keysets', orderBy: ['id'] },
    { name: 'bundles', orderBy: ['id'] },
    { name: 'key_managers', orderBy: ['id'] },
    { name: 'clusters', orderBy: ['id'] },
    { name: 'cluster_keys', orderBy: ['id'] },
    { name: 'join_tokens', orderBy: ['id'] },
    { name: 'agents', orderBy: ['id'] },
    { name: 'entries', orderBy: ['id'] },
    { name: 'entry_revisions', orderBy: ['id'] },
    { name: 'reported_keysets', orderBy: ['id'] },
    { name: 'federations', orderBy: ['id'] },
  ],
  async applyBatch(tx, events) {
    for (const fold of [trustDomains, deployments, keysets, retired, bundles, keyManagers, reportedKeysets]) await applyRowFold(tx, fold, events);
    for (const fold of [clusters, clusterKeys, joinTokens, entries, entryRevisions]) await applyRowFold(tx, fold, events);
    await applyRowFold(tx, agents, events);
    await applyRowFold(tx, federationsFold, events);
    // Delivered on commit only (LISTEN/NOTIFY is transactional): the agent API then pushes the
    // new state to connected agents. The payload names the aggregate types that changed.
    const kinds = [...new Set(events.map((p) => p.event.aggregateType).filter((t) => ANNOUNCED.has(t)))].sort();
    if (kinds.length > 0) await tx.query(`SELECT pg_notify(current_schema() || '_agent_model', $1)`, [kinds.join(',')]);
  },
};
