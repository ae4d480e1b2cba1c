/**
 * Queries over the signer's read model that the agent API needs: trust domains, clusters and
 * their keys, join tokens, agents and the entries authorized for an agent.
 */
import { quoteIdent } from '@trustplane/eventstore';
import type { Pool } from 'pg';

/** A trust domain known to the signer. */
export interface TrustDomainRow {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
}

/** A cluster of agents. */
export interface ClusterRow {
  readonly id: string;
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly name: string;
  readonly status: string;
}

/** A join token (salted hash only). */
export interface JoinTokenRow {
  readonly id: string;
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly clusterId: string;
  readonly hash: string;
  readonly salt: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

/** A node agent. */
export interface AgentRow {
  readonly id: string;
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly clusterId: string;
  readonly clusterName: string;
  readonly nodeName: string;
  readonly spiffeId: string;
  readonly serialNumber: string;
  readonly previousSerialNumber: string | null;
  readonly expiresAt: Date;
  readonly banned: boolean;
}

/** A registration entry as served to agents. */
export interface EntryRow {
  readonly id: string;
  readonly spiffeId: string;
  readonly parentId: string;
  readonly selectors: readonly string[];
  readonly x509SvidTtl: number | null;
  readonly jwtSvidTtl: number | null;
  readonly dnsNames: readonly string[];
  readonly federatesWith: readonly string[];
  readonly hint: string | null;
  readonly revision: number;
}

/** Read-only access to the agent API's tables. */
export class AgentModel {
  private readonly table: (name: string) => string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.table = (name) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
  }

  async cluster(id: string): Promise<ClusterRow | undefined> {
    const r = await this.pool.query<{
      id: string;
      tenant_id: string;
      trust_domain_id: string;
      name: string;
      status: string;
    }>(
      `SELECT id, tenant_id, trust_domain_id, name, status FROM ${this.table('clusters')} WHERE id = $1`,
      [id],
    );
    const row = r.rows[0];
    return (
      row && {
        id: row.id,
        tenant: row.tenant_id,
        trustDomainId: row.trust_domain_id,
        name: row.name,
        status: row.status,
      }
    );
  }

  /** Ed25519 public keys (SPKI DER) registered for a cluster. */
  async clusterKeys(clusterId: string): Promise<Buffer[]> {
    const r = await this.pool.query<{ public_key: string }>(
      `SELECT public_key FROM ${this.table('cluster_keys')} WHERE cluster_id = $1 ORDER BY id`,
      [clusterId],
    );
    return r.rows.map((row) => Buffer.from(row.public_key, 'base64'));
  }

  async joinToken(id: string): Promise<JoinTokenRow | undefined> {
    const r = await this.pool.query<{
      id: string;
      tenant_id: string;
      trust_domain_id: string;
      cluster_id: string;
      hash: string;
      salt: string;
      expires_at: Date;
      used_at: Date | null;
    }>(
      `SELECT id, tenant_id, trust_domain_id, cluster_id, hash, salt, expires_at, used_at FROM ${this.table('join_tokens')} WHERE id = $1`,
      [id],
    );
    const row = r.rows[0];
    return (
      row && {
        id: row.id,
        tenant: row.tenant_id,
        trustDomainId: row.trust_domain_id,
        clusterId: row.cluster_id,
        hash: row.hash,
        salt: row.salt,
        expiresAt: row.expires_at,
        usedAt: row.used_at,
      }
    );
  }

  async agentById(id: string): Promise<AgentRow | undefined> {
    return (await this.agents('id = $1', [id]))[0];
  }

  async agentBySpiffeId(trustDomainId: string, spiffeId: string): Promise<AgentRow | undefined> {
    return (
      await this.agents('trust_domain_id = $1 AND spiffe_id = $2', [trustDomainId, spiffeId])
    )[0];
  }

  private async agents(where: string, params: unknown[]): Promise<AgentRow[]> {
    const r = await this.pool.query<{
      id: string;
      tenant_id: string;
      trust_domain_id: string;
      cluster_id: string;
      cluster_name: string;
      node_name: string;
      spiffe_id: string;
      serial_number: string;
      previous_serial_number: string | null;
      expires_at: Date;
      banned: boolean;
    }>(
      `SELECT id, tenant_id, trust_domain_id, cluster_id, cluster_name, node_name, spiffe_id, serial_number,
              previous_serial_number, expires_at, banned FROM ${this.table('agents')} WHERE ${where}`,
      params,
    );
    return r.rows.map((row) => ({
      id: row.id,
      tenant: row.tenant_id,
      trustDomainId: row.trust_domain_id,
      clusterId: row.cluster_id,
      clusterName: row.cluster_name,
      nodeName: row.node_name,
      spiffeId: row.spiffe_id,
      serialNumber: row.serial_number,
      previousSerialNumber: row.previous_serial_number,
      expiresAt: row.expires_at,
      banned: row.banned,
    }));
  }

  /** Entries whose parent is one of `parentIds` (all of the trust domain's when undefined), and its entry revision. */
  async entriesFor(
    trustDomainId: string,
    parentIds: readonly string[] | undefined,
  ): Promise<{ revision: number; entries: EntryRow[] }> {
    const [revision, entries] = await Promise.all([
      this.pool.query<{ revision: string }>(
        `SELECT revision FROM ${this.table('entry_revisions')} WHERE id = $1`,
        [trustDomainId],
      ),
      this.entries(trustDomainId, parentIds),
    ]);
    return { revision: Number(revision.rows[0]?.revision ?? 0), entries };
  }

  /** Entries whose parent is one of `parentIds` (all of the trust domain's when undefined). */
  async entries(
    trustDomainId: string,
    parentIds: readonly string[] | undefined,
  ): Promise<EntryRow[]> {
    const rows = await this.pool.query<{
      id: string;
      spiffe_id: string;
      parent_id: string;
      selectors: string[];
      x509_svid_ttl: number | null;
      jwt_svid_ttl: number | null;
      dns_names: string[];
      federates_with: string[];
      hint: string | null;
      revision: number;
    }>(
      `SELECT id, spiffe_id, parent_id, selectors, x509_svid_ttl, jwt_svid_ttl, dns_names, federates_with, hint, revision
           FROM ${this.table('entries')} WHERE trust_domain_id = $1 AND ($2::text[] IS NULL OR parent_id = ANY($2)) ORDER BY id`,
      [trustDomainId, parentIds ?? null],
    );
    return rows.rows.map((row) => ({
      id: row.id,
      spiffeId: row.spiffe_id,
      parentId: row.parent_id,
      selectors: row.selectors,
      x509SvidTtl: row.x509_svid_ttl,
      jwtSvidTtl: row.jwt_svid_ttl,
      dnsNames: row.dns_names,
      federatesWith: row.federates_with,
      hint: row.hint,
      revision: row.revision,
    }));
  }
}
