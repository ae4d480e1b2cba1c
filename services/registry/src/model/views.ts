/** API shapes (camelCase) built from read-model rows (snake_case), typed by their schemas (api-schemas.ts). */
import type { Static } from '@trustplane/platform';
import type { AgentSchema, ClusterConfigVersionSchema, ClusterSchema, DeploymentSchema, EntrySchema, TokenSchema, TrustDomainSchema } from '../api-schemas.js';

type DbRow = Record<string, unknown>;
const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : String(value));

/**
 * Whether the public bundle, JWKS and OIDC discovery endpoints of trust domains are served: by
 * services/federation at `<base>/<org-id>/<td-id>/bundle`, `/jwks` and
 * `/.well-known/openid-configuration`, where `<base>` is TP_REGISTRY_PUBLIC_BUNDLE_BASE_URL.
 * Without that setting the API shows these endpoints and the JWT issuer as null rather than URLs
 * nothing answers, and tpctl prints none of them.
 */
export const PUBLIC_TRUST_DOMAIN_ENDPOINTS_SERVED = true;

/** Public endpoints of a trust domain; null for those not served (see {@link PUBLIC_TRUST_DOMAIN_ENDPOINTS_SERVED}). */
export interface TrustDomainEndpoints {
  /** Where agents reach the signer's agent API: the public host, port 8443 (`TP_SIGNER_AGENT_PORT`'s default). */
  readonly agent: string;
  readonly bundle: string | null;
  readonly jwtIssuer: string | null;
  readonly jwks: string | null;
  readonly oidcDiscovery: string | null;
}

/** Endpoints of a trust domain: the agent's under the public base URL, the documents under the federation service's. */
export function endpointsOf(
  publicBaseUrl: string,
  organizationId: string,
  trustDomainId: string,
  bundleBaseUrl?: string,
  served = PUBLIC_TRUST_DOMAIN_ENDPOINTS_SERVED,
): TrustDomainEndpoints {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const agent = `${new URL(base).hostname}:8443`;
  if (!served || bundleBaseUrl === undefined) return { agent, bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null };
  const issuer = `${bundleBaseUrl.replace(/\/+$/, '')}/${organizationId}/${trustDomainId}`;
  return {
    agent,
    bundle: `${issuer}/bundle`,
    jwtIssuer: issuer,
    jwks: `${issuer}/jwks`,
    oidcDiscovery: `${issuer}/.well-known/openid-configuration`,
  };
}

export function trustDomainView(row: DbRow, publicBaseUrl: string, bundleBaseUrl?: string): Static<typeof TrustDomainSchema> {
  return {
    id: String(row['id']),
    name: String(row['name']),
    description: String(row['description']),
    kind: String(row['kind']) as Static<typeof TrustDomainSchema>['kind'],
    status: String(row['status']) as Static<typeof TrustDomainSchema>['status'],
    clusters: Number(row['clusters'] ?? 0),
    /** Clusters whose agents may attest (not disabled). */
    activeClusters: Number(row['active_clusters'] ?? 0),
    deployments: Number(row['deployments'] ?? 0),
    federations: 0,
    /** Federation relationships in effect (none until federation exists). */
    activeFederations: 0,
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
    endpoints: endpointsOf(publicBaseUrl, String(row['tenant_id']), String(row['id']), bundleBaseUrl),
  };
}

/** `Configuration State` of a deployment (spirlctl's column). */
export type ConfigurationState = 'Up to date' | 'Pending' | 'Unknown';

/** A self-hosted deployment that has not reported for this long shows `Unknown`. */
export const REPORT_STALE_AFTER_MS = 15 * 60_000;

/**
 * Whether a deployment runs the trust domain's current configuration: a managed one once its
 * first CA is active (the signer reads the log itself); a self-hosted one from its reports —
 * `Unknown` when it never reported or its last report is stale, `Up to date` when it was
 * configured at the trust domain's current sync position, `Pending` when behind.
 */
export function configurationStateOf(row: DbRow, now: Date): ConfigurationState {
  if (row['managed'] === true) return Number(row['active_keys'] ?? 0) > 0 ? 'Up to date' : 'Pending';
  const reported = row['reported_at'];
  if (reported === null || reported === undefined) return 'Unknown';
  if (now.getTime() - new Date(reported as string | Date).getTime() > REPORT_STALE_AFTER_MS) return 'Unknown';
  return Number(row['configured_position'] ?? 0) >= Number(row['sync_position'] ?? 0) ? 'Up to date' : 'Pending';
}

export function deploymentView(row: DbRow, now: Date = new Date()): Static<typeof DeploymentSchema> {
  return {
    id: String(row['id']),
    trustDomainId: String(row['trust_domain_id']),
    ...(row['trust_domain_name'] === undefined ? {} : { trustDomainName: String(row['trust_domain_name']) }),
    name: String(row['name']),
    region: String(row['region']),
    managed: Boolean(row['managed']),
    activeKeys: Number(row['active_keys']),
    configurationState: configurationStateOf(row, now),
    /** When the deployment last applied the trust domain's current configuration (null: never). */
    lastConfiguredAt: iso(row['configured_at']),
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  };
}

/** A cluster; `versions` are its config versions, oldest first (the last is the latest). */
export function clusterView(row: DbRow, versions: readonly DbRow[]): Static<typeof ClusterSchema> {
  return {
    id: String(row['id']),
    trustDomainId: String(row['trust_domain_id']),
    name: String(row['name']),
    platform: String(row['platform']),
    description: String(row['description']),
    status: String(row['status']) as Static<typeof ClusterSchema>['status'],
    configVersions: versions.map((v) => ({ id: String(v['id']), createdAt: iso(v['created_at']) })),
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  };
}

export function entryView(row: DbRow): Static<typeof EntrySchema> {
  return {
    id: String(row['id']),
    trustDomainId: String(row['trust_domain_id']),
    spiffeId: String(row['spiffe_id']),
    parentId: String(row['parent_id']),
    selectors: row['selectors'] as string[],
    x509SvidTtl: (row['x509_svid_ttl'] as number | null) ?? null,
    jwtSvidTtl: (row['jwt_svid_ttl'] as number | null) ?? null,
    dnsNames: row['dns_names'] as string[],
    federatesWith: row['federates_with'] as string[],
    admin: Boolean(row['admin']),
    downstream: Boolean(row['downstream']),
    hint: (row['hint'] as string | null) ?? null,
    expiresAt: iso(row['expires_at']),
    revision: Number(row['revision']),
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  };
}

/** A cluster config version with its document. */
export function clusterConfigVersionView(row: DbRow): Static<typeof ClusterConfigVersionSchema> {
  return {
    id: String(row['id']),
    clusterId: String(row['cluster_id']),
    config: row['config'] as Record<string, unknown>,
    createdAt: iso(row['created_at']),
  };
}

export function tokenView(row: DbRow): Static<typeof TokenSchema> {
  return {
    id: String(row['id']),
    name: String(row['name']),
    scopes: row['scopes'] as Static<typeof TokenSchema>['scopes'],
    revoked: Boolean(row['revoked']),
    createdAt: iso(row['created_at']),
    expiresAt: iso(row['expires_at']),
  };
}

export function configSectionView(row: DbRow) {
  return {
    targetKind: String(row['target_kind']),
    targetId: String(row['target_id']),
    trustDomainId: String(row['trust_domain_id']),
    section: String(row['section']),
    schema: String(row['schema']),
    spec: row['spec'] as Record<string, unknown>,
    version: Number(row['config_version']),
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  };
}

/** A page of a keyset-paginated list. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export function agentView(row: DbRow): Static<typeof AgentSchema> {
  return {
    id: String(row['id']),
    trustDomainId: String(row['trust_domain_id']),
    clusterId: String(row['cluster_id']),
    clusterName: String(row['cluster_name']),
    nodeName: String(row['node_name']),
    spiffeId: String(row['spiffe_id']),
    method: String(row['method']) as Static<typeof AgentSchema>['method'],
    serialNumber: String(row['serial_number']),
    expiresAt: iso(row['expires_at']),
    banned: Boolean(row['banned']),
    banReason: (row['ban_reason'] as string | null) ?? null,
    attestedAt: iso(row['attested_at']),
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  };
}
