import { Injectable } from '@nestjs/common';
import { DomainError } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { CLUSTER, clusterDecider } from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import { clusterView, type Page } from '../model/views.js';
import { pageOf, type PageRequest } from '../pagination.js';
import { TenantDb } from '../tenant-db.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';

/** A cluster as the API shows it. */
export type ClusterView = ReturnType<typeof clusterView>;

/** Clusters of a trust domain. */
@Injectable()
export class ClustersService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    private readonly trustDomains: TrustDomainsService,
  ) {}

  async create(tenant: string, td: string, input: { name: string; platform: string; description: string }, context: CommandContext): Promise<ClusterView> {
    const trustDomain = await this.db.read(tenant, async (client) => {
      const row = await this.trustDomains.findRow(client, td);
      const taken = await client.query(`SELECT 1 FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 AND name = $2`, [row['id'], input.name]);
      if ((taken.rowCount ?? 0) > 0) {
        throw new DomainError('CLUSTER_NAME_TAKEN', `trust domain ${String(row['name'])} already has a cluster named ${input.name}`, 'conflict');
      }
      return row;
    });
    const id = newResourceId('cluster');
    await this.commands.run(
      clusterDecider,
      { tenant, aggregateType: CLUSTER, aggregateId: id },
      { kind: 'create', trustDomainId: String(trustDomain['id']), name: input.name, platform: input.platform, description: input.description },
      context,
    );
    return this.get(tenant, td, id);
  }

  async list(tenant: string, td: string, page: PageRequest): Promise<Page<ClusterView>> {
    return this.db.read(tenant, async (client) => {
      const trustDomain = await this.trustDomains.findRow(client, td);
      const rows = await client.query(
        `SELECT * FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
        [trustDomain['id'], page.after, page.limit + 1],
      );
      return pageOf(rows.rows, page, (row) => clusterView(row));
    });
  }

  async get(tenant: string, td: string, idOrName: string): Promise<ClusterView> {
    return this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, td, idOrName);
      const versions = await client.query(
        `SELECT id, created_at FROM ${this.db.schema}.cluster_config_versions WHERE cluster_id = $1 ORDER BY created_at DESC, id DESC`,
        [row['id']],
      );
      return clusterView(row, versions.rows);
    });
  }

  async disable(tenant: string, td: string, idOrName: string, context: CommandContext): Promise<ClusterView> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    await this.commands.run(clusterDecider, { tenant, aggregateType: CLUSTER, aggregateId: String(row['id']) }, { kind: 'disable' }, context);
    return this.get(tenant, td, String(row['id']));
  }

  async delete(tenant: string, td: string, idOrName: string, context: CommandContext): Promise<void> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    await this.commands.run(clusterDecider, { tenant, aggregateType: CLUSTER, aggregateId: String(row['id']) }, { kind: 'delete' }, context);
  }

  async addConfigVersion(tenant: string, td: string, idOrName: string, config: Record<string, unknown>, context: CommandContext): Promise<ClusterView> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrName));
    const versionId = newResourceId('clusterConfigVersion');
    await this.commands.run(clusterDecider, { tenant, aggregateType: CLUSTER, aggregateId: String(row['id']) }, { kind: 'add-config-version', versionId, config }, context);
    return this.get(tenant, td, String(row['id']));
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
