import { Inject, Injectable } from '@nestjs/common';
import type { CommandContext } from '@trustplane/eventstore';
import { DomainError, type AggregateRef, type TrustDomainKind } from '@trustplane/events';
import { ProblemError } from '@trustplane/platform';
import {
  DEPLOYMENT,
  deploymentDecider,
  derivedResourceId,
  ENTRY,
  entryDecider,
  TRUST_DOMAIN,
  TRUST_DOMAIN_NAME,
  trustDomainDecider,
  trustDomainNameDecider,
  trustDomainNameKey,
  type TrustDomainBlocker,
} from '@trustplane/registry-domain';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import type { RegistryConfig } from '../config.js';
import { deploymentView, trustDomainView, type Page } from '../model/views.js';
import { keysetParams, keysetSql, pageOf, type PageRequest } from '../pagination.js';
import { newIdFor, type WriteContext } from '../request-context.js';
import { TenantDb } from '../tenant-db.js';
import { REGISTRY_CONFIG } from '../tokens.js';

/** A trust domain as the API shows it. */
export type TrustDomainView = ReturnType<typeof trustDomainView>;
/** A deployment as the API shows it. */
export type DeploymentView = ReturnType<typeof deploymentView>;

/**
 * The id of a managed trust domain's one deployment: derived from the trust domain's id, so
 * whoever completes a half-done create (a retry, the reconciler) creates the same deployment.
 */
export function managedDeploymentId(trustDomainId: string): string {
  return derivedResourceId('deployment', `${trustDomainId}/default`);
}

/** How many entries of a deleted trust domain are deleted at once (each is one append). */
const ENTRY_REMOVAL_CONCURRENCY = 8;

/** Where the API shows a trust domain. */
export const trustDomainLocation = (id: string): string => `/api/v1/trust-domains/${id}`;

const TD_COLUMNS = (s: string) => `t.*,
  (SELECT count(*) FROM ${s}.clusters c WHERE c.trust_domain_id = t.id) AS clusters,
  (SELECT count(*) FROM ${s}.clusters c WHERE c.trust_domain_id = t.id AND c.status = 'active') AS active_clusters,
  (SELECT count(*) FROM ${s}.deployments d WHERE d.trust_domain_id = t.id) AS deployments`;

/** Trust domains and their deployments. */
@Injectable()
export class TrustDomainsService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
  ) {}

  /**
   * Creates a trust domain: reserves its name, creates it, and gives a managed one its
   * deployment. Every step is repeatable: with an Idempotency-Key the ids derive from the
   * request, so a retry completes what a crashed attempt started; without one, the reconciler
   * releases a reservation whose trust domain never appeared and completes a managed trust
   * domain's deployment.
   */
  async create(tenant: string, input: { name: string; description: string; kind: TrustDomainKind }, context: WriteContext): Promise<TrustDomainView> {
    const id = newIdFor('trustDomain', context);
    const create = { kind: 'create', name: input.name, description: input.description, trustDomainKind: input.kind } as const;
    const invalid = trustDomainDecider.decide(create, trustDomainDecider.initialState(), context);
    if (!invalid.ok) throw invalid.error;
    const ref: AggregateRef = { tenant, aggregateType: TRUST_DOMAIN, aggregateId: id };
    // A fresh random id has nothing in the log; a derived one may (a repeat of this request).
    let current = context.idempotencySeed === undefined ? { state: trustDomainDecider.initialState(), version: 0 } : await this.commands.load(trustDomainDecider, ref);
    if (current.state.phase === 'deleted') throw new DomainError('TRUST_DOMAIN_CREATION_ABANDONED', 'the trust domain this request created was deleted (or its creation abandoned); send the request again with a new Idempotency-Key', 'conflict');
    const nameRef = { tenant, aggregateType: TRUST_DOMAIN_NAME, aggregateId: trustDomainNameKey(input.name) };
    const reserved = await this.commands.run(trustDomainNameDecider, nameRef, { kind: 'reserve', name: input.name, trustDomainId: id }, context);
    if (current.state.phase === 'absent') {
      try {
        current = await this.commands.run(trustDomainDecider, ref, create, context);
      } catch (error) {
        // A concurrent repeat of this request (same key, same id) may have created it meanwhile:
        // then the name is rightly held. Otherwise the reservation is undone.
        const now = await this.commands.load(trustDomainDecider, ref);
        if (now.state.phase !== 'live') {
          await this.commands.run(trustDomainNameDecider, nameRef, { kind: 'release', trustDomainId: id }, context);
          throw error;
        }
        current = now;
      }
    }
    let version = Math.max(reserved.version, current.version);
    if (input.kind === 'managed') {
      version = Math.max(version, await this.ensureManagedDeployment(tenant, id, context));
    }
    await this.commands.settle(version, { id, location: trustDomainLocation(id) });
    return this.get(tenant, id);
  }

  /** Creates a managed trust domain's deployment unless it exists; returns the version to wait for. */
  async ensureManagedDeployment(tenant: string, trustDomainId: string, context: CommandContext): Promise<number> {
    const ref = { tenant, aggregateType: DEPLOYMENT, aggregateId: managedDeploymentId(trustDomainId) };
    const current = await this.commands.load(deploymentDecider, ref);
    if (current.state.phase !== 'absent') return current.version;
    const created = await this.commands.run(deploymentDecider, ref, { kind: 'create', trustDomainId, name: 'default', region: '', managed: true }, context);
    return created.version;
  }

  /** The tenant's trust domains by name. */
  async list(tenant: string, page: PageRequest): Promise<Page<TrustDomainView>> {
    return this.db.read(tenant, async (client) => {
      const keyset = keysetSql('t.name', 't.id', 1);
      const rows = await client.query(
        `SELECT ${TD_COLUMNS(this.db.schema)} FROM ${this.db.schema}.trust_domains t
          WHERE ${keyset.where} ORDER BY ${keyset.orderBy} LIMIT $3`,
        [...keysetParams(page), page.limit + 1],
      );
      return pageOf(rows.rows, page, (row) => String(row['name']), (row) => trustDomainView(row, this.config.publicBaseUrl, this.config.publicBundleBaseUrl));
    });
  }

  /** Finds a trust domain by id or name within the tenant (404 otherwise, also for other tenants' ids). */
  async get(tenant: string, idOrName: string): Promise<TrustDomainView> {
    return this.db.read(tenant, async (client) => trustDomainView(await this.findRow(client, idOrName, { withCounts: true }), this.config.publicBaseUrl, this.config.publicBundleBaseUrl));
  }

  /** The id of a trust domain given by id or name (404 as {@link get}). */
  async idOf(tenant: string, idOrName: string): Promise<string> {
    return this.db.read(tenant, async (client) => String((await this.findRow(client, idOrName))['id']));
  }

  /** The trust domain's deployments by name, one page (`showDeployments` asks for the first 200). */
  async deployments(tenant: string, idOrName: string, page: PageRequest = { limit: 200, after: null }): Promise<Page<DeploymentView>> {
    return this.db.read(tenant, async (client) => {
      const td = await this.findRow(client, idOrName);
      const keyset = keysetSql('name', 'id', 2);
      const rows = await client.query(
        `SELECT *, $5::text AS trust_domain_name FROM ${this.db.schema}.deployments WHERE trust_domain_id = $1 AND ${keyset.where} ORDER BY ${keyset.orderBy} LIMIT $4`,
        [td['id'], ...keysetParams(page), page.limit + 1, td['name']],
      );
      return pageOf(rows.rows, page, (row) => String(row['name']), (row) => deploymentView(row));
    });
  }

  /**
   * The tenant's deployments across its trust domains, ordered by trust domain name then
   * deployment name; each carries its trust domain's name. `managed=false` leaves out the one
   * deployment every managed trust domain has.
   */
  async allDeployments(tenant: string, page: PageRequest, options: { managed?: boolean } = {}): Promise<Page<DeploymentView>> {
    return this.db.read(tenant, async (client) => {
      // A space sorts before every character a trust domain or deployment name may hold.
      const sortKey = `(t.name || ' ' || d.name)`;
      const keyset = keysetSql(sortKey, 'd.id', 1);
      const managed = options.managed === undefined ? '' : `AND d.managed = ${options.managed ? 'true' : 'false'}`;
      const rows = await client.query(
        `SELECT d.*, t.name AS trust_domain_name, ${sortKey} AS sort_key FROM ${this.db.schema}.deployments d
           JOIN ${this.db.schema}.trust_domains t ON t.id = d.trust_domain_id
          WHERE ${keyset.where} ${managed} ORDER BY ${keyset.orderBy} LIMIT $3`,
        [...keysetParams(page), page.limit + 1],
      );
      return pageOf(rows.rows, page, (row) => String(row['sort_key']), deploymentView);
    });
  }

  /**
   * Deletes a trust domain: refused while clusters (and, when self-hosted, deployments) remain;
   * its registration entries go with it. `trustdomain.deleted` is the commit point: from then on
   * the API shows none of its entries (they are read joined to their trust domain) and the signer
   * serves none (it no longer serves the trust domain). The rest is clean-up of the log, done here
   * and finished by the reconciler when this request dies: the managed deployment, an
   * `entry.deleted` for every entry, the name.
   */
  async delete(tenant: string, idOrName: string, context: CommandContext): Promise<void> {
    const { td, blockers, managedDeployments, entryIds } = await this.db.read(tenant, async (client) => {
      const row = await this.findRow(client, idOrName);
      const clusters = await client.query(`SELECT id, name FROM ${this.db.schema}.clusters WHERE trust_domain_id = $1 ORDER BY name, id`, [row['id']]);
      const deployments = await client.query(`SELECT id, name, managed FROM ${this.db.schema}.deployments WHERE trust_domain_id = $1 ORDER BY name, id`, [row['id']]);
      const entries = await client.query<{ id: string }>(`SELECT id FROM ${this.db.schema}.entries WHERE trust_domain_id = $1 ORDER BY id`, [row['id']]);
      const found: TrustDomainBlocker[] = [
        ...clusters.rows.map((c) => ({ kind: 'cluster' as const, id: String(c['id']), name: String(c['name']) })),
        ...deployments.rows.filter((d) => !d['managed']).map((d) => ({ kind: 'deployment' as const, id: String(d['id']), name: String(d['name']) })),
      ];
      return {
        td: row,
        blockers: found,
        managedDeployments: deployments.rows.filter((d) => d['managed']).map((d) => String(d['id'])),
        entryIds: entries.rows.map((e) => e.id),
      };
    });
    const id = String(td['id']);
    let version = (await this.commands.run(trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: id }, { kind: 'delete', blockers }, context)).version;
    // After the trust domain is deleted, the rest is clean-up the reconciler also finishes.
    for (const deploymentId of managedDeployments) {
      version = Math.max(version, await this.deleteManagedDeployment(tenant, deploymentId, context));
    }
    version = Math.max(version, await this.removeEntries(tenant, entryIds, context));
    version = Math.max(version, await this.releaseName(tenant, String(td['name']), id, context));
    await this.commands.settle(version, { id });
  }

  /**
   * Deletes entries of a deleted trust domain (no-op for those already gone), a few at a time;
   * returns the highest version written.
   */
  async removeEntries(tenant: string, entryIds: readonly string[], context: CommandContext): Promise<number> {
    let version = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entryIds.length) {
        const entryId = entryIds[next++] ?? '';
        const removed = await this.commands.run(entryDecider, { tenant, aggregateType: ENTRY, aggregateId: entryId }, { kind: 'remove-with-trust-domain' }, context);
        version = Math.max(version, removed.version);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ENTRY_REMOVAL_CONCURRENCY, entryIds.length) }, worker));
    return version;
  }

  /** Deletes a managed deployment whose trust domain is gone (no-op when already deleted). */
  async deleteManagedDeployment(tenant: string, deploymentId: string, context: CommandContext): Promise<number> {
    const ref = { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId };
    const current = await this.commands.load(deploymentDecider, ref);
    if (current.state.phase !== 'live') return current.version;
    return (await this.commands.run(deploymentDecider, ref, { kind: 'delete', force: true, activeKeys: 0, cascadeFromTrustDomain: true }, context)).version;
  }

  /** Releases a name held by `trustDomainId` (no-op when someone else, or nobody, holds it). */
  async releaseName(tenant: string, name: string, trustDomainId: string, context: CommandContext): Promise<number> {
    const ref = { tenant, aggregateType: TRUST_DOMAIN_NAME, aggregateId: trustDomainNameKey(name) };
    return (await this.commands.run(trustDomainNameDecider, ref, { kind: 'release', trustDomainId }, context)).version;
  }

  async createDeployment(tenant: string, idOrName: string, input: { name: string; region: string }, context: WriteContext): Promise<DeploymentView> {
    const id = newIdFor('deployment', context);
    const ref = { tenant, aggregateType: DEPLOYMENT, aggregateId: id };
    const existing = context.idempotencySeed === undefined ? undefined : await this.commands.load(deploymentDecider, ref);
    if (existing !== undefined && existing.state.phase !== 'absent') return this.settledDeployment(tenant, idOrName, id, existing.version);
    // The input is checked before it is used in any query.
    const create = { kind: 'create', trustDomainId: '', name: input.name, region: input.region, managed: false } as const;
    const invalid = deploymentDecider.decide(create, deploymentDecider.initialState(), context);
    if (!invalid.ok) throw invalid.error;
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
    const created = await this.commands.run(
      deploymentDecider,
      ref,
      { ...create, trustDomainId: String(td['id']) },
      context,
    );
    return this.settledDeployment(tenant, String(td['id']), id, created.version);
  }

  /** A deployment once the read models show `version` (202 before that; 404 if it is gone). */
  private async settledDeployment(tenant: string, idOrName: string, id: string, version: number): Promise<DeploymentView> {
    await this.commands.settle(version, { id, location: `${trustDomainLocation(idOrName)}/deployments/${id}` });
    return this.deployment(tenant, idOrName, id);
  }

  /** Deletes a deployment given by id or name; refused while it has active keys unless forced. */
  async deleteDeployment(tenant: string, idOrName: string, deployment: string, force: boolean, context: CommandContext): Promise<void> {
    const shown = await this.deployment(tenant, idOrName, deployment);
    if (!force) await this.refuseWithActiveDeploymentKeys(tenant, shown);
    const deleted = await this.commands.run(deploymentDecider, { tenant, aggregateType: DEPLOYMENT, aggregateId: shown.id }, { kind: 'delete', force, activeKeys: shown.activeKeys }, context);
    await this.commands.settle(deleted.version, { id: shown.id });
  }

  /**
   * A deployment whose deployment keys are active still has servers that can reach the control
   * plane with them: deleting it takes `force` (409 DEPLOYMENT_HAS_ACTIVE_KEYS names the keys).
   */
  private async refuseWithActiveDeploymentKeys(tenant: string, deployment: DeploymentView): Promise<void> {
    const keys = await this.db.read(tenant, async (client) => {
      const rows = await client.query<{ id: string }>(`SELECT id FROM ${this.db.schema}.deployment_keys WHERE deployment_id = $1 AND state = 'active' ORDER BY id`, [deployment.id]);
      return rows.rows.map((row) => row.id);
    });
    if (keys.length === 0) return;
    throw new DomainError(
      'DEPLOYMENT_HAS_ACTIVE_KEYS',
      `deployment ${deployment.name} has active deployment keys (${keys.join(', ')}); disable them first, or delete with --force (servers using them keep their credential until it expires)`,
      'conflict',
      { activeKeys: keys },
    );
  }

  /**
   * A deployment of the trust domain by id or name (names are unique within a trust domain),
   * visible to the tenant (404 otherwise, also for other tenants' ids).
   */
  async deployment(tenant: string, idOrName: string, deploymentId: string): Promise<DeploymentView> {
    return this.db.read(tenant, async (client) => {
      const td = await this.findRow(client, idOrName);
      const rows = await client.query(
        `SELECT *, $3::text AS trust_domain_name FROM ${this.db.schema}.deployments WHERE (id = $1 OR name = $1) AND trust_domain_id = $2 ORDER BY (id = $1) DESC LIMIT 1`,
        [deploymentId, td['id'], td['name']],
      );
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
