import { applyRowFold, tableFold, type Projection, type TableRow } from '@trustplane/eventstore';
import { API_TOKEN, API_TOKEN_ROW_COLUMNS, apiTokenRowKey, DEPLOYMENT, foldApiTokenRow, TRUST_DOMAIN, type ApiTokenRow } from '@trustplane/registry-domain';
import { DEPLOYMENT_KEY } from '../domain/deployment-key.js';

type Row = TableRow;

/** Trust domains: only what key routes resolve (id or name within the organization). */
const trustDomains = tableFold<Row>({
  table: 'trust_domains',
  columns: ['id', 'tenant_id', 'name', 'version'],
  keyOf: (e) => (e.aggregateType === TRUST_DOMAIN ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'trustdomain.created':
        return { id: e.aggregateId, tenant_id: e.tenant, name: e.data.name, version: seq };
      case 'trustdomain.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

/** Deployments: a key belongs to a live one; a deleted deployment's keys stop working. */
const deployments = tableFold<Row>({
  table: 'deployments',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'name', 'managed', 'version'],
  keyOf: (e) => (e.aggregateType === DEPLOYMENT ? e.aggregateId : undefined),
  fold(row, e, seq) {
    switch (e.type) {
      case 'deployment.created':
        return { id: e.aggregateId, tenant_id: e.tenant, trust_domain_id: e.data.trustDomainId, name: e.data.name, managed: e.data.managed, version: seq };
      case 'deployment.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

/** API tokens, folded exactly as the registry folds them. */
const apiTokens = tableFold<ApiTokenRow>({ table: 'api_tokens', columns: API_TOKEN_ROW_COLUMNS, keyOf: apiTokenRowKey, fold: foldApiTokenRow });

/** Deployment keys (public half only). */
const deploymentKeys = tableFold<Row>({
  table: 'deployment_keys',
  columns: ['id', 'tenant_id', 'trust_domain_id', 'deployment_id', 'state', 'public_key_pem', 'fingerprint', 'version', 'created_at', 'updated_at'],
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
          public_key_pem: e.data.publicKeyPem,
          fingerprint: e.data.fingerprint,
          version: seq,
          created_at: e.occurredAt,
          updated_at: e.occurredAt,
        };
      case 'deploymentkey.enabled':
        return row && { ...row, state: 'active', version: seq, updated_at: e.occurredAt };
      case 'deploymentkey.disabled':
        return row && { ...row, state: 'disabled', version: seq, updated_at: e.occurredAt };
      case 'deploymentkey.deleted':
        return undefined;
      default:
        return row;
    }
  },
});

/** The auth service's read model. */
export const authModelProjection: Projection = {
  name: 'auth.model',
  aggregateTypes: [TRUST_DOMAIN, DEPLOYMENT, API_TOKEN, DEPLOYMENT_KEY],
  tables: [
    { name: 'trust_domains', orderBy: ['id'] },
    { name: 'deployments', orderBy: ['id'] },
    { name: 'api_tokens', orderBy: ['id'] },
    { name: 'deployment_keys', orderBy: ['id'] },
  ],
  async applyBatch(tx, events) {
    for (const fold of [trustDomains, deployments, deploymentKeys]) await applyRowFold(tx, fold, events);
    await applyRowFold(tx, apiTokens, events);
  },
};

/** Every read model the auth service maintains. */
export const authProjections: readonly Projection[] = [authModelProjection];
