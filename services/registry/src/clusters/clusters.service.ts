import { generateKeyPairSync } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import {
  CLUSTER,
  JOIN_TOKEN,
  clusterDecider,
  derivedJoinTokenId,
  joinTokenDecider,
  mintJoinToken,
  newClusterKeyId,
  newJoinTokenId,
  type ClusterPublicKey,
} from '@trustplane/registry-domain';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import { clusterConfigVersionView, clusterView, type Page } from '../model/views.js';
import { keysetParams, keysetSql, pageOf, type PageRequest } from '../pagination.js';
import { newIdFor, type WriteContext } from '../request-context.js';
import { secretShownOnce } from '../shown-once.js';
import { TenantDb } from '../tenant-db.js';
import { trustDomainLocation, TrustDomainsService } from '../trust-domains/trust-domains.service.js';

/** A cluster as the API shows it. */
export type ClusterView = ReturnType<typeof clusterView>;
/** A cluster config version as the API shows it. */
export type ClusterConfigVersionView = ReturnType<typeof clusterConfigVersionView>;

/** A cluster attestation key's private half, returned once when it is generated and never stored. */
export interface IssuedClusterKey {
  readonly keyId: string;
  /** Ed25519 private key, PKCS#8 PEM. */
  readonly privateKey: string;
}

/** A join token as returned once at creation. */
export interface IssuedJoinToken {
  readonly id: string;
  /** `tpjt_<jt-…>_<secret>`; only its salted hash is recorded. */
  readonly token: string;
  readonly clusterId: string;
  readonly trustDomainId: string;
  readonly expiresAt: string;
  readonly createdAt: string;
}

/**
 * A fresh Ed25519 cluster key: the public half for the event, the private half for the caller
 * only. The private key lives in this process's memory for the length of one request.
 */
function generateClusterKey(): { readonly publicKey: ClusterPublicKey; readonly issued: IssuedClusterKey } {
  const keyId = newClusterKeyId();
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: { keyId, publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
    issued: { keyId, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
  };
}

/** Where the API shows a cluster. */
const clusterLocation = (trustDomainId: string, id: string): string => `${trustDomainLocation(trustDomainId)}/clusters/${id}`;

/** Clusters of a trust domain. */
@Injectable()
export class ClustersService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    private readonly trustDomains: TrustDomainsService,
  ) {}

  /** Creates a cluster and its first attestation key; the key's private half is in the result, once. */
  async create(
    tenant: string,
    td: string,
    input: { name: string; platform: string; description: string },
    context: WriteContext,
  ): Promise<ClusterView & { readonly clusterKey: IssuedClusterKey }> {
    const id = newIdFor('cluster', context);
    const ref = { tenant, aggregateType: CLUSTER, aggregateId: id };
    // A repeat of a request that created the cluster: its private key went out once, if at all.
    if (context.idempotencySeed !== undefined && (await this.commands.state(clusterDecider, ref)).phase !== 'absent') {
      throw secretShownOnce(await this.get(tenant, td, id).catch(() => ({ id })));
    }
    // The input is checked before it is used in any query.
    const invalid = clusterDecider.decide({ kind: 'create', trustDomainId: '', ...input }, clusterDecider.initialState(), context);
    if (!invalid.ok) throw invalid.error;
    const trustDomain = await this.db.read(tenant, async (client) => {
      const row = await this.trustDomains.findRow(client, td);
      const taken = await client.query(`SELECT 1 FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 AND name = $2`, [row['id'], input.name]);
      if ((taken.rowCount ?? 0) > 0) {
        throw new DomainError('CLUSTER_NAME_TAKEN', `trust domain ${String(row['name'])} already has a cluster named ${input.name}`, 'conflict');
      }
      return row;
    });
    const key = generateClusterKey();
    const trustDomainId = String(trustDomain['id']);
    const created = await this.commands.run(
      clusterDecider,
      ref,
      { kind: 'create', trustDomainId, name: input.name, platform: input.platform, description: input.description, key: key.publicKey },
      context,
    );
    await this.commands.settle(created.version, { id, location: clusterLocation(trustDomainId, id), extra: { clusterKey: key.issued } });
    return { ...(await this.get(tenant, td, id)), clusterKey: key.issued };
  }

  /**
   * Issues a single-use join token for an active cluster. The token string is returned once;
   * the event and the read model hold only its salt and salted hash.
   */
  async createJoinToken(tenant: string, td: string, idOrName: string, ttlSeconds: number | undefined, context: WriteContext): Promise<IssuedJoinToken> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    const clusterId = String(row['id']);
    const id = context.idempotencySeed === undefined ? newJoinTokenId() : derivedJoinTokenId(context.idempotencySeed);
    const ref = { tenant, aggregateType: JOIN_TOKEN, aggregateId: id };
    const existing = context.idempotencySeed === undefined ? joinTokenDecider.initialState() : await this.commands.state(joinTokenDecider, ref);
    if (existing.phase !== 'absent') {
      throw secretShownOnce({ id, clusterId: existing.clusterId, trustDomainId: existing.trustDomainId, expiresAt: existing.expiresAt });
    }
    // The aggregate, not the read model, says whether the cluster is still active.
    const cluster = await this.commands.state(clusterDecider, { tenant, aggregateType: CLUSTER, aggregateId: clusterId });
    if (cluster.phase !== 'active') {
      throw new DomainError('CLUSTER_DISABLED', `cluster ${String(row['name'])} is ${cluster.phase}; join tokens are issued only for active clusters`, 'conflict');
    }
    const minted = mintJoinToken(id);
    const result = await this.commands.run(
      joinTokenDecider,
      ref,
      { kind: 'create', trustDomainId: cluster.trustDomainId, clusterId, salt: minted.salt, hash: minted.hash, ttlSeconds },
      context,
    );
    const created = result.events[0];
    if (created?.type !== 'jointoken.created') throw new Error('join token was not created');
    const issued = { id, token: minted.token, clusterId, trustDomainId: cluster.trustDomainId, expiresAt: created.data.expiresAt, createdAt: created.occurredAt };
    await this.commands.settle(result.version, { id, extra: issued });
    return issued;
  }

  /** The clusters of a trust domain by name, each with its config versions. */
  async list(tenant: string, td: string, page: PageRequest): Promise<Page<ClusterView>> {
    return this.db.read(tenant, async (client) => {
      const trustDomain = await this.trustDomains.findRow(client, td);
      const keyset = keysetSql('name', 'id', 2);
      const rows = await client.query(
        `SELECT * FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 AND ${keyset.where} ORDER BY ${keyset.orderBy} LIMIT $4`,
        [trustDomain['id'], ...keysetParams(page), page.limit + 1],
      );
      const versions = await this.configVersions(client, rows.rows.slice(0, page.limit).map((row) => String(row['id'])));
      return pageOf(rows.rows, page, (row) => String(row['name']), (row) => clusterView(row, versions.get(String(row['id'])) ?? []));
    });
  }

  async get(tenant: string, td: string, idOrName: string): Promise<ClusterView> {
    return this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, td, idOrName);
      const versions = await this.configVersions(client, [String(row['id'])]);
      return clusterView(row, versions.get(String(row['id'])) ?? []);
    });
  }

  /** The config versions of these clusters, oldest first, by cluster id (one query). */
  private async configVersions(client: PoolClient, clusterIds: readonly string[]): Promise<Map<string, Record<string, unknown>[]>> {
    const byCluster = new Map<string, Record<string, unknown>[]>();
    if (clusterIds.length === 0) return byCluster;
    const rows = await client.query(
      `SELECT cluster_id, id, created_at FROM ${this.db.schema}.cluster_config_versions WHERE cluster_id = ANY($1) ORDER BY created_at, id`,
      [clusterIds],
    );
    for (const row of rows.rows) {
      const clusterId = String(row['cluster_id']);
      byCluster.set(clusterId, [...(byCluster.get(clusterId) ?? []), row]);
    }
    return byCluster;
  }

  async disable(tenant: string, td: string, idOrName: string, context: CommandContext): Promise<ClusterView> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    const id = String(row['id']);
    const disabled = await this.commands.run(clusterDecider, { tenant, aggregateType: CLUSTER, aggregateId: id }, { kind: 'disable' }, context);
    await this.commands.settle(disabled.version, { id, location: clusterLocation(String(row['trust_domain_id']), id) });
    return this.get(tenant, td, id);
  }

  async delete(tenant: string, td: string, idOrName: string, context: CommandContext): Promise<void> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    const id = String(row['id']);
    const deleted = await this.commands.run(clusterDecider, { tenant, aggregateType: CLUSTER, aggregateId: id }, { kind: 'delete' }, context);
    await this.commands.settle(deleted.version, { id });
  }

  /** Adds a configuration version; a repeat of the same keyed request adds nothing. */
  async addConfigVersion(tenant: string, td: string, idOrName: string, config: Record<string, unknown>, context: WriteContext): Promise<ClusterView> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    const id = String(row['id']);
    const ref = { tenant, aggregateType: CLUSTER, aggregateId: id };
    const versionId = newIdFor('clusterConfigVersion', context);
    const current = await this.commands.load(clusterDecider, ref);
    const alreadyAdded = 'configVersions' in current.state && current.state.configVersions.includes(versionId);
    const version = alreadyAdded ? current.version : (await this.commands.run(clusterDecider, ref, { kind: 'add-config-version', versionId, config }, context)).version;
    await this.commands.settle(version, { id, location: clusterLocation(String(row['trust_domain_id']), id) });
    return this.get(tenant, td, id);
  }

  /** A cluster's config versions with their documents, oldest first (at most the kept ones). */
  async configVersionList(tenant: string, td: string, idOrName: string): Promise<ClusterConfigVersionView[]> {
    return this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, td, idOrName);
      const rows = await client.query(
        `SELECT id, cluster_id, config, created_at FROM ${this.db.schema}.cluster_config_versions WHERE cluster_id = $1 ORDER BY created_at, id`,
        [row['id']],
      );
      return rows.rows.map(clusterConfigVersionView);
    });
  }

  /** One config version of the cluster (404 CLUSTER_CONFIG_VERSION_NOT_FOUND otherwise). */
  async configVersion(tenant: string, td: string, idOrName: string, versionId: string): Promise<ClusterConfigVersionView> {
    return this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, td, idOrName);
      const rows = await client.query(
        `SELECT id, cluster_id, config, created_at FROM ${this.db.schema}.cluster_config_versions WHERE cluster_id = $1 AND id = $2`,
        [row['id'], versionId],
      );
      const found = rows.rows[0];
      if (found === undefined) throw new ProblemError(404, 'CLUSTER_CONFIG_VERSION_NOT_FOUND', `config version ${versionId} not found in cluster ${idOrName}`);
      return clusterConfigVersionView(found);
    });
  }

  private async findRow(client: PoolClient, td: string, idOrName: string): Promise<Record<string, unknown>> {
    const trustDomain = await this.trustDomains.findRow(client, td);
    const rows = await client.query(
      `SELECT * FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 AND (id = $2 OR name = $2) LIMIT 1`,
      [trustDomain['id'], idOrName],
    );
    const row = rows.rows[0];
    if (row === undefined) throw new ProblemError(404, 'CLUSTER_NOT_FOUND', `cluster ${idOrName} not found`);
    return row;
  }
}
