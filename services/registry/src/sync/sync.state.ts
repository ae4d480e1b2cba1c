import { ProblemError } from '@trustplane/platform';
import type { PoolClient } from 'pg';
import type { ReportedKeyset } from '@trustplane/events';

/** What identifies a sync caller: the verified credential's deployment and trust domain. */
export interface SyncCaller {
  readonly tenant: string;
  readonly deploymentId: string;
  readonly trustDomainId: string;
}

/** The self-hosted deployment a credential names, as the read model shows it. */
export interface SyncDeployment {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly trustDomainId: string;
  readonly trustDomainName: string;
}

/**
 * The complete current state a self-hosted deployment is sent: what its signer needs to serve
 * agents exactly like a managed one. Public material and salted hashes only.
 */
export interface SyncState {
  readonly trustDomain: { readonly id: string; readonly name: string; readonly organizationId: string };
  readonly deployment: { readonly id: string; readonly name: string; readonly region: string };
  /** Sections targeting this deployment and the trust domain's clusters. */
  readonly configSections: readonly {
    readonly targetKind: string;
    readonly targetId: string;
    readonly section: string;
    readonly schema: string;
    readonly spec: unknown;
    readonly version: number;
  }[];
  readonly entries: readonly Record<string, unknown>[];
  readonly clusters: readonly {
    readonly id: string;
    readonly name: string;
    readonly platform: string;
    readonly status: string;
    readonly keys: readonly { readonly keyId: string; readonly publicKey: string }[];
    readonly configVersions: readonly { readonly id: string; readonly config: unknown; readonly createdAt: string }[];
  }[];
  /** Unspent, unexpired join tokens: salt and hash, never the secret. */
  readonly joinTokens: readonly { readonly id: string; readonly clusterId: string; readonly salt: string; readonly hash: string; readonly expiresAt: string }[];
  /** Federation links of the trust domain (none until federation is modelled). */
  readonly federations: readonly unknown[];
  /** The public CA keysets every deployment of the trust domain reported (for its bundle). */
  readonly authorities: readonly { readonly deploymentId: string; readonly keysets: readonly ReportedKeyset[] }[];
}

const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

/**
 * The deployment a credential names, refused unless it exists in the credential's trust domain
 * and organization and is self-hosted (row-level security already confines the read to the
 * tenant). The same answer for every refusal: nothing about other deployments leaks.
 */
export async function syncDeploymentOf(client: PoolClient, schema: string, caller: SyncCaller): Promise<SyncDeployment> {
  const rows = await client.query<{ id: string; name: string; region: string; trust_domain_id: string; td_name: string; managed: boolean; kind: string }>(
    `SELECT d.id, d.name, d.region, d.trust_domain_id, d.managed, t.name AS td_name, t.kind
       FROM ${schema}.deployments d JOIN ${schema}.trust_domains t ON t.id = d.trust_domain_id
      WHERE d.id = $1 AND d.trust_domain_id = $2`,
    [caller.deploymentId, caller.trustDomainId],
  );
  const row = rows.rows[0];
  if (row === undefined || row.managed || row.kind !== 'self-hosted') {
    throw new ProblemError(403, 'DEPLOYMENT_NOT_SYNCABLE', 'the credential does not name a self-hosted deployment of this control plane');
  }
  return { id: row.id, name: row.name, region: row.region, trustDomainId: row.trust_domain_id, trustDomainName: row.td_name };
}

/** The trust domain's current sync position (0 before anything was projected). */
export async function syncPositionOf(client: PoolClient, schema: string, trustDomainId: string): Promise<number> {
  const rows = await client.query<{ position: string }>(`SELECT position FROM ${schema}.sync_positions WHERE id = $1`, [trustDomainId]);
  return Number(rows.rows[0]?.position ?? 0);
}

/** Reads the sync state of a deployment (inside a tenant-scoped transaction). */
export async function readSyncState(client: PoolClient, schema: string, tenant: string, deployment: SyncDeployment): Promise<SyncState> {
  const td = deployment.trustDomainId;
  const sections = await client.query(
    `SELECT target_kind, target_id, section, schema, spec, config_version FROM ${schema}.config_sections
      WHERE trust_domain_id = $1 AND ((target_kind = 'trust-domain-deployment' AND target_id = $2) OR target_kind = 'cluster')
      ORDER BY target_kind, target_id, section`,
    [td, deployment.id],
  );
  const entries = await client.query(
    `SELECT id, spiffe_id, parent_id, selectors, x509_svid_ttl, jwt_svid_ttl, dns_names, federates_with, admin, downstream, hint, expires_at, revision
       FROM ${schema}.entries WHERE trust_domain_id = $1 ORDER BY id`,
    [td],
  );
  const clusters = await client.query(`SELECT id, name, platform, status FROM ${schema}.clusters WHERE trust_domain_id = $1 ORDER BY id`, [td]);
  const keys = await client.query(`SELECT id, cluster_id, public_key FROM ${schema}.cluster_keys WHERE trust_domain_id = $1 ORDER BY id`, [td]);
  const versions = await client.query(
    `SELECT v.id, v.cluster_id, v.config, v.created_at FROM ${schema}.cluster_config_versions v JOIN ${schema}.clusters c ON c.id = v.cluster_id
      WHERE c.trust_domain_id = $1 ORDER BY v.created_at, v.id`,
    [td],
  );
  const tokens = await client.query(
    `SELECT id, cluster_id, salt, hash, expires_at FROM ${schema}.join_tokens WHERE trust_domain_id = $1 AND used_at IS NULL AND expires_at > now() ORDER BY id`,
    [td],
  );
  const authorities = await client.query(`SELECT id, reported_keysets FROM ${schema}.deployments WHERE trust_domain_id = $1 ORDER BY id`, [td]);
  return {
    trustDomain: { id: td, name: deployment.trustDomainName, organizationId: tenant },
    deployment: { id: deployment.id, name: deployment.name, region: deployment.region },
    configSections: sections.rows.map((r) => ({
      targetKind: String(r['target_kind']),
      targetId: String(r['target_id']),
      section: String(r['section']),
      schema: String(r['schema']),
      spec: r['spec'],
      version: Number(r['config_version']),
    })),
    entries: entries.rows.map((r) => ({
      id: r['id'],
      spiffeId: r['spiffe_id'],
      parentId: r['parent_id'],
      selectors: r['selectors'],
      x509SvidTtl: r['x509_svid_ttl'],
      jwtSvidTtl: r['jwt_svid_ttl'],
      dnsNames: r['dns_names'],
      federatesWith: r['federates_with'],
      admin: r['admin'],
      downstream: r['downstream'],
      hint: r['hint'],
      expiresAt: r['expires_at'] === null ? null : iso(r['expires_at']),
      revision: Number(r['revision']),
    })),
    clusters: clusters.rows.map((c) => ({
      id: String(c['id']),
      name: String(c['name']),
      platform: String(c['platform']),
      status: String(c['status']),
      keys: keys.rows.filter((k) => k['cluster_id'] === c['id']).map((k) => ({ keyId: String(k['id']), publicKey: String(k['public_key']) })),
      configVersions: versions.rows.filter((v) => v['cluster_id'] === c['id']).map((v) => ({ id: String(v['id']), config: v['config'], createdAt: iso(v['created_at']) })),
    })),
    joinTokens: tokens.rows.map((t) => ({ id: String(t['id']), clusterId: String(t['cluster_id']), salt: String(t['salt']), hash: String(t['hash']), expiresAt: iso(t['expires_at']) })),
    federations: [],
    authorities: authorities.rows
      .map((r) => ({ deploymentId: String(r['id']), keysets: r['reported_keysets'] as ReportedKeyset[] }))
      .filter((a) => a.keysets.length > 0),
  };
}
