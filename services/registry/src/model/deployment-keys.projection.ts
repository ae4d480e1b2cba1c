import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';

/** Aggregate type of deployment keys (owned by services/auth). */
const DEPLOYMENT_KEY = 'deploymentkey';

/** Each deployment key's state (`deploymentkey.*`, read-only here): what a deployment delete must know. */
const deploymentKeys = tableFold<TableRow>({
  table: 'deployment_keys',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'deployment_id', 'state', 'fingerprint', 'version'],
  keyOf: (e) => (e.aggregateType === DEPLOYMENT_KEY ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'deploymentkey.created':
        return {
          id: e.aggregateId,
          tenant_id: e.tenant,
          trust_domain_id: e.data.trustDomainId,
          deployment_id: e.data.deploymentId,
          state: 'active',
          fingerprint: e.data.fingerprint,
          version: seq,
        };
      case 'deploymentkey.enabled':
        return row && { ...row, state: 'active', version: seq };
      case 'deploymentkey.disabled':
        return row && { ...row, state: 'disabled', version: seq };
      case 'deploymentkey.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

/** The registry's read model of deployment keys (the auth service owns them). */
export const deploymentKeysProjection: Projection = {
  name: 'registry.deploymentkeys',
  aggregateTypes: [DEPLOYMENT_KEY],
  tables: [{ name: 'deployment_keys', orderBy: ['id'] }],
  applyBatch: (tx, events) => applyRowFold(tx, deploymentKeys, events),
};
