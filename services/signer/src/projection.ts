import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';

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
      case 'ca.keyset_tainted':
        return row && { ...row, status: 'tainted', version: seq };
      case 'ca.keyset_revoked':
        return row && { ...row, status: 'revoked', version: seq };
      case 'ca.keyset_dropped':
        return row && { ...row, status: 'dropped', version: seq };
      default:
        return row;
    }
  },
});

/** A keyset activation retires the previous one: mark it `old` in its own row. */
const retired = tableFold<Row>({
  table: 'keysets',
  columns: ['id', 'tenant_id', 'deployment_id', 'trust_domain_id', 'keyset_id', 'status', 'key_type', 'not_before', 'not_after', 'subject_key_id', 'jwt_kid', 'prepared_at', 'activated_at', 'version'],
  keyOf: (e) => (e.type === 'ca.keyset_activated' && e.data.previousKeysetId !== null ? `${e.aggregateId}/${e.data.previousKeysetId}` : undefined),
  fold(row, e, seq) {
    return row && row['status'] === 'active' ? { ...row, status: e.type === 'ca.keyset_activated' && e.data.reason === 'taint' ? 'tainted' : 'old', version: seq } : row;
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

/** The signer's read model of trust domains, deployments, keysets and bundles. */
export const signerProjection: Projection = {
  name: 'signer.model',
  aggregateTypes: ['trustdomain', 'deployment', 'ca', 'bundle', 'configsection'],
  tables: [
    { name: 'trust_domains', orderBy: ['id'] },
    { name: 'deployments', orderBy: ['id'] },
    { name: 'keysets', orderBy: ['id'] },
    { name: 'bundles', orderBy: ['id'] },
    { name: 'key_managers', orderBy: ['id'] },
  ],
  async applyBatch(tx, events) {
    for (const fold of [trustDomains, deployments, keysets, retired, bundles, keyManagers]) await applyRowFold(tx, fold, events);
  },
};
