import { Inject, Injectable } from '@nestjs/common';
import type { CommandContext } from '@trustplane/eventstore';
import { DomainError, type TrustDomainKind } from '@trustplane/events';
import { ProblemError } from '@trustplane/platform';
import {
  DEPLOYMENT,
  deploymentDecider,
  TRUST_DOMAIN,
  TRUST_DOMAIN_NAME,
  trustDomainDecider,
  trustDomainNameDecider,
  trustDomainNameKey,
  type TrustDomainBlocker,
} from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import type { RegistryConfig } from '../config.js';
import { deploymentView, trustDomainView, type Page } from '../model/views.js';
import { pageOf, type PageRequest } from '../pagination.js';
import { TenantDb } from '../tenant-db.js';
import { REGISTRY_CONFIG } from '../tokens.js';

/** A trust domain as the API shows it. */
export type TrustDomainView = ReturnType<typeof trustDomainView>;
/** A deployment as the API shows it. */
export type DeploymentView = ReturnType<typeof deploymentView>;

const TD_COLUMNS = (s: string) => `t.*,
  (SELECT count(*) FROM ${s}.clusters c WHERE c.trust_domain_id = t.id) AS clusters,
  (SELECT count(*) FROM ${s}.deployments d WHERE d.trust_domain_id = t.id) AS deployments`;

/** Trust domains and their deployments. */
@Injectable()
export class TrustDomainsService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
  ) {}

  /** Creates a trust domain (reserving its name first); a managed one gets its deployment. */
  async create(tenant: string, input: { name: string; description: string; kind: TrustDomainKind }, context: CommandContext): Promise<TrustDomainView> {
    const id = newResourceId('trustDomain');
    const invalid = trustDomainDecider.decide({ kind: 'create', name: input.name, description: input.description, trustDomainKind: input.kind }, trustDomainDecider.initialState(), context);
    if (!invalid.ok) throw invalid.error;
    const nameRef = { tenant, aggregateType: TRUST_DOMAIN_NAME, aggregateId: trustDomainNameKey(input.name) };
    await this.commands.run(trustDomainNameDecider, nameRef, { kind: 'reserve', name: input.name, trustDomainId: id }, context);
    try {
      await this.commands.run(
        trustDomainDecider,
        { tenant, aggregateType: TRUST_DOMAIN, aggregateId: id },
        { kind: 'create', name: input.name, description: input.description, trustDomainKind: input.kind },
        context,
      );
    } catch (error) {
      await this.commands.run(trustDomainNameDecider, nameRef, { kind: 'release', trustDomainId: id }, context);
      throw error;
    }
    if (input.kind === 'managed') {
      const deploymentId = newResourceId('deployment');
      await this.commands.run(
        deploymentDecider,
        { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId },
        { kind: 'create', trustDomainId: id, name: 'default', region: '', managed: true },
        context,
      );
    }
    return this.get(tenant, id);
  }

  async list(tenant: string, page: PageRequest): Promise<Page<TrustDomainView>> {
    return this.db.read(tenant, async (client) => {
      const rows = await client.query(
        `SELECT ${TD_COLUMNS(this.db.schema)} FROM ${this.db.schema}.trust_domains t
          WHERE ($1::text IS NULL OR t.id > $1) ORDER BY t.id LIMIT $2`,
        [page.after, page.limit + 1],
      );
      return pageOf(rows.rows, page, (row) => trustDomainView(row, this.config.publicBaseUrl));
    });
  }

  /** Finds a trust domain by id or name within the tenant (404 otherwise, also for other tenants' ids). */
  async get(tenant: string, idOrName: string): Promise<TrustDomainView> {
    return this.db.read(tenant, async (client) => trustDomainView(await this.findRow(client, idOrName, { withCounts: true }), this.config.publicBaseUrl));
  }

  /** The id of a trust domain given by id or name (404 as {@link get}). */
  async idOf(tenant: string, idOrName: string): Promise<string> {
    return this.db.read(tenant, async (client) => String((await this.findRow(client, idOrName))['id']));
  }

  async deployments(tenant: string, idOrName: string): Promise<DeploymentView[]> {
    return this.db.read(tenant, async (client) => {
      const td = await this.findRow(client, idOrName);
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.deployments WHERE trust_domain_id = $1 ORDER BY id`, [td['id']]);
      return rows.rows.map(deploymentView);
    });
  }

  /** Deletes a trust domain: refused while clusters (and, when self-hosted, deployments) remain. */
  async delete(tenant: string, idOrName: string, context: CommandContext): Promise<void> {
    const { td, blockers, managedDeployments } = await this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, idOrName);
      const clusters = await client.query(`SELECT id, name FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 ORDER BY name, id`, [row['id']]);
      const deployments = await client.query(`SELECT id, name, managed FROM ${this.db.schema}.deployments WHERE trust_domain_id = $1 ORDER BY name, id`, [row['id']]);
      const found: TrustDomainBlocker[] = [
        ...clusters.rows.map((c) => ({ kind: 'cluster' as const, id: String(c['id']), name: String(c['name']) })),
        ...deployments.rows.filter((d) => !d['managed']).map((d) => ({ kind: 'deployment' as const, id: String(d['id']), name: String(d['name']) })),
      ];
      return { td: row, blockers: found, managedDeployments: deployments.rows.filter((d) => d['managed']).map((d) => String(d['id'])) };
    });
    const id = String(td['id']);
    await this.commands.run(trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: id }, { kind: 'delete', blockers }, context);
    for (const deploymentId of managedDeployments) {
      await this.commands.run(
        deploymentDecider,
        { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId },
        { kind: 'delete', force: true, cascadeFromTrustDomain: true },
        context,
      );
    }
    await this.commands.run(
      trustDomainNameDecider,
      { tenant, aggregateType: TRUST_DOMAIN_NAME, aggregateId: trustDomainNameKey(String(td['name'])) },
      { kind: 'release', trustDomainId: id },
      context,
    );
  }

  async createDeployment(tenant: string, idOrName: string, input: { name: string; region: string }, context: CommandContext): Promise<DeploymentView> {
    const { td, nameTaken } = await this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, idOrName);
      const same = await client.query(`SELECT 1 FROM ${this.db.schema}.deployments WHERE trust_domain_id = $1 AND name = $2`, [row['id'], input.name]);
      return { td: row, nameTaken: (same.rowCount ?? 0) > 0 };
    });
    if (td['kind'] === 'managed') {
      throw new DomainError('MANAGED_TRUST_DOMAIN_DEPLOYMENT', 'a managed trust domain has exactly one deployment, created with it', 'conflict');
    }
    if (nameTaken) {
      throw new DomainError('DEPLOYMENT_NAME_TAKEN', `trust domain ${String(td['name'])} already has a deployment named ${input.name}`, 'conflict');
    }
    const id = newResourceId('deployment');
    await this.commands.run(
      deploymentDecider,
      { tenant, aggregateType: DEPLOYMENT, aggregateId: id },
      { kind: 'create', trustDomainId: String(td['id']), name: input.name, region: input.region, managed: false },
      context,
    );
    return this.db.read(tenant, async (client) => {
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.deployments WHERE id = $1`, [id]);
      return deploymentView(rows.rows[0]);
    });
  }

  async deleteDeployment(tenant: string, idOrName: string, deploymentId: string, force: boolean, context: CommandContext): Promise<void> {
    await this.deployment(tenant, idOrName, deploymentId);
    await this.commands.run(deploymentDecider, { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId }, { kind: 'delete', force }, context);
  }

  /** A deployment of the trust domain, visible to the tenant (404 otherwise, also for other tenants' ids). */
  async deployment(tenant: string, idOrName: string, deploymentId: string): Promise<DeploymentView> {
    return this.db.read(tenant, async (client) => {
      const td = await this.findRow(client, idOrName);
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.deployments WHERE id = $1 AND trust_domain_id = $2`, [deploymentId, td['id']]);
      if (rows.rowCount === 0) throw new ProblemError(404, 'DEPLOYMENT_NOT_FOUND', `deployment ${deploymentId} not found`);
      return deploymentView(rows.rows[0]);
    });
  }

  /**
   * The trust domain row by id or name, visible to the tenant. The cluster and deployment counts
   * (two subqueries) are only added for the view that shows them, not for every route that
   * merely resolves a trust domain.
   */
  async findRow(client: PoolClient, idOrName: string, options: { withCounts?: boolean } = {}): Promise<Record<string, unknown>> {
    const columns = options.withCounts === true ? TD_COLUMNS(this.db.schema) : 't.*';
    const rows = await client.query(
      `SELECT ${columns} FROM ${this.db.schema}.trust_domains t WHERE t.id = $1 OR t.name = $1 LIMIT 1`,
      [idOrName],
    );
    const row = rows.rows[0];
    if (row === undefined) throw new ProblemError(404, 'TRUST_DOMAIN_NOT_FOUND', `trust domain ${idOrName} not found`);
    return row;
  }
}
