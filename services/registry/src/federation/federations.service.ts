import { Inject, Injectable } from '@nestjs/common';
import type { FederationPeer } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { FEDERATION, FEDERATION_ID, federationDecider, federationId, validateExternalPeer, type FederationPolicy } from '@trustplane/federation-domain';
import { ProblemError } from '@trustplane/platform';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import type { RegistryConfig } from '../config.js';
import { keysetParams, keysetSql, pageOf, type PageRequest } from '../pagination.js';
import { TenantDb } from '../tenant-db.js';
import { REGISTRY_CONFIG } from '../tokens.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';

type Row = Record<string, unknown>;
const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : String(value));
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** A federation relationship as the API shows it (the bootstrap bundle only as a flag). */
export function federationView(row: Row) {
  return {
    id: String(row['id']),
    trustDomainId: String(row['trust_domain_id']),
    trustDomain: String(row['trust_domain']),
    peer: {
      kind: String(row['peer_kind']),
      trustDomain: String(row['peer_trust_domain']),
      trustDomainId: textOrNull(row['peer_trust_domain_id']),
      bundleEndpointUrl: textOrNull(row['bundle_endpoint_url']),
      profile: textOrNull(row['profile']),
      endpointSpiffeId: textOrNull(row['endpoint_spiffe_id']),
      bootstrapBundle: row['bootstrap_bundle'] !== null && row['bootstrap_bundle'] !== undefined,
    },
    refreshRequestedAt: iso(row['refresh_requested_at']),
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  };
}

/** A relationship as the API shows it. */
export type FederationView = ReturnType<typeof federationView>;

/** What a create request carries (already shape-checked by the controller). */
export interface FederationInput {
  readonly peerTrustDomainId?: string;
  readonly trustDomain?: string;
  readonly bundleEndpointUrl?: string;
  readonly profile?: string;
  readonly endpointSpiffeId?: string;
  readonly bootstrapBundle?: string;
}

const invalid = (problems: readonly { field: string; code: string; message: string }[]) =>
  new ProblemError(400, 'VALIDATION_FAILED', `invalid federation: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems.map((p) => ({ ...p })));

/** Federation relationships of trust domains (one-way; bundles are never merged). */
@Injectable()
export class FederationsService {
  private readonly policy: FederationPolicy;

  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    private readonly trustDomains: TrustDomainsService,
    @Inject(REGISTRY_CONFIG) config: RegistryConfig,
  ) {
    this.policy = { bundleEndpointUrlPrefixes: config.federationUrls };
  }

  /** Creates a relationship of trust domain `td` with a peer of this organization or an allow-listed external one. */
  async create(tenant: string, td: string, input: FederationInput, context: CommandContext): Promise<FederationView> {
    const { trustDomainId, trustDomain, peer } = await this.db.read(tenant, async (client) => {
      const own = await this.trustDomains.findRow(client, td);
      const ownName = String(own['name']);
      return { trustDomainId: String(own['id']), trustDomain: ownName, peer: await this.peerOf(client, String(own['id']), ownName, input) };
    });
    const id = federationId(trustDomainId, peer.trustDomain);
    const result = await this.commands.run(federationDecider, { tenant, aggregateType: FEDERATION, aggregateId: id }, { kind: 'create', trustDomainId, trustDomain, peer }, context);
    await this.commands.settle(result.version, { id, location: `/api/v1/trust-domains/${trustDomainId}/federations/${id}` });
    return this.get(tenant, trustDomainId, id);
  }

  private async peerOf(client: PoolClient, ownId: string, ownName: string, input: FederationInput): Promise<FederationPeer> {
    if (input.peerTrustDomainId !== undefined) {
      const extra = (['trustDomain', 'bundleEndpointUrl', 'profile', 'endpointSpiffeId', 'bootstrapBundle'] as const).filter((f) => input[f] !== undefined);
      if (extra.length > 0) throw invalid(extra.map((field) => ({ field, code: 'NOT_APPLICABLE', message: 'a peer of this installation is named by peerTrustDomainId alone' })));
      const rows = await client.query(`SELECT id, name FROM ${this.db.schema}.trust_domains WHERE id = $1`, [input.peerTrustDomainId]);
      const row = rows.rows[0] as Row | undefined;
      if (row === undefined) throw invalid([{ field: 'peerTrustDomainId', code: 'NOT_FOUND', message: `this organization has no trust domain ${input.peerTrustDomainId}` }]);
      if (String(row['id']) === ownId) throw invalid([{ field: 'peerTrustDomainId', code: 'FEDERATION_WITH_SELF', message: 'a trust domain does not federate with itself' }]);
      return { kind: 'internal', trustDomainId: String(row['id']), trustDomain: String(row['name']) };
    }
    const checked = validateExternalPeer(input, ownName, this.policy);
    if (!checked.ok) throw invalid(checked.problems);
    return checked.peer;
  }

  async list(tenant: string, td: string, page: PageRequest) {
    return this.db.read(tenant, async (client) => {
      const own = await this.trustDomains.findRow(client, td);
      const keyset = keysetSql('peer_trust_domain', 'id', 2);
      const rows = await client.query(
        `SELECT * FROM ${this.db.schema}.federations WHERE trust_domain_id = $1 AND ${keyset.where} ORDER BY ${keyset.orderBy} LIMIT $4`,
        [own['id'], ...keysetParams(page), page.limit + 1],
      );
      return pageOf(rows.rows as (Row & { id: unknown })[], page, (row) => String(row['peer_trust_domain']), federationView);
    });
  }

  /** One relationship, by id (`fr-…`) or peer trust domain name. */
  async get(tenant: string, td: string, idOrPeer: string): Promise<FederationView> {
    return this.db.read(tenant, async (client) => federationView(await this.findRow(client, td, idOrPeer)));
  }

  async refresh(tenant: string, td: string, idOrPeer: string, context: CommandContext): Promise<FederationView> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrPeer));
    const id = String(row['id']);
    const result = await this.commands.run(federationDecider, { tenant, aggregateType: FEDERATION, aggregateId: id }, { kind: 'refresh' }, context);
    await this.commands.settle(result.version, { id });
    return this.get(tenant, String(row['trust_domain_id']), id);
  }

  async delete(tenant: string, td: string, idOrPeer: string, context: CommandContext): Promise<void> {
    const row = await this.db.read(tenant, (client) => this.findRow(client, td, idOrPeer));
    const id = String(row['id']);
    const result = await this.commands.run(federationDecider, { tenant, aggregateType: FEDERATION, aggregateId: id }, { kind: 'delete' }, context);
    await this.commands.settle(result.version, { id });
  }

  private async findRow(client: PoolClient, td: string, idOrPeer: string): Promise<Row> {
    const own = await this.trustDomains.findRow(client, td);
    const column = FEDERATION_ID.test(idOrPeer) ? 'id' : 'peer_trust_domain';
    const rows = await client.query(`SELECT * FROM ${this.db.schema}.federations WHERE trust_domain_id = $1 AND ${column} = $2`, [own['id'], idOrPeer]);
    const row = rows.rows[0] as Row | undefined;
    if (row === undefined) throw new ProblemError(404, 'FEDERATION_NOT_FOUND', `${String(own['name'])} has no federation relationship ${idOrPeer}`);
    return row;
  }
}
