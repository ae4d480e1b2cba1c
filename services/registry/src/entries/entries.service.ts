import { Injectable } from '@nestjs/common';
import type { EntryData } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { ENTRY, entryDecider, entryInputOf } from '@trustplane/registry-domain';
import type { RegistrationEntryInput } from '@trustplane/spiffe';
import type { PoolClient } from 'pg';
import { CommandBus } from '../command-bus.js';
import { entryView, type Page } from '../model/views.js';
import { keysetParams, keysetSql, pageOf, type PageRequest } from '../pagination.js';
import { newIdFor, type WriteContext } from '../request-context.js';
import { TenantDb } from '../tenant-db.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';

/** An entry as the API shows it. */
export type EntryView = ReturnType<typeof entryView>;

/** Filters of the entry list. */
export interface EntryFilter {
  readonly spiffeId?: string;
  readonly parentId?: string;
  readonly selector?: string;
}

/** Where the API shows an entry. */
const entryLocation = (id: string): string => `/api/v1/entries/${id}`;

/** Registration entries. */
@Injectable()
export class EntriesService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    private readonly trustDomains: TrustDomainsService,
  ) {}

  /** Creates an entry; a repeat of the same keyed request returns the entry it created. */
  async create(tenant: string, td: string, input: RegistrationEntryInput, context: WriteContext): Promise<EntryView> {
    const trustDomain = await this.db.read(tenant, (client) => this.trustDomains.findRow(client, td));
    const id = newIdFor('entry', context);
    const ref = { tenant, aggregateType: ENTRY, aggregateId: id };
    const existing = context.idempotencySeed === undefined ? undefined : await this.commands.load(entryDecider, ref);
    const version =
      existing !== undefined && existing.state.phase !== 'absent'
        ? existing.version
        : (await this.commands.run(entryDecider, ref, { kind: 'create', trustDomainId: String(trustDomain['id']), trustDomainName: String(trustDomain['name']), input }, context)).version;
    await this.commands.settle(version, { id, location: entryLocation(id) });
    return this.get(tenant, id);
  }

  /** The entries of a trust domain by SPIFFE ID (then id), filtered. */
  async list(tenant: string, td: string, filter: EntryFilter, page: PageRequest): Promise<Page<EntryView>> {
    return this.db.read(tenant, async (client) => {
      const trustDomain = await this.trustDomains.findRow(client, td);
      const keyset = keysetSql('spiffe_id', 'id', 5);
      const rows = await client.query(
        `SELECT * FROM ${this.db.schema}.entries
          WHERE trust_domain_id = $1
            AND ($2::text IS NULL OR spiffe_id = $2) AND ($3::text IS NULL OR parent_id = $3)
            AND ($4::text IS NULL OR $4 = ANY(selectors)) AND ${keyset.where}
          ORDER BY ${keyset.orderBy} LIMIT $7`,
        [trustDomain['id'], filter.spiffeId ?? null, filter.parentId ?? null, filter.selector ?? null, ...keysetParams(page), page.limit + 1],
      );
      return pageOf(rows.rows, page, (row) => String(row['spiffe_id']), entryView);
    });
  }

  async get(tenant: string, id: string): Promise<EntryView> {
    return this.db.read(tenant, (client) => this.find(client, id));
  }

  /**
   * One entry visible to the transaction's tenant (404 otherwise). Only entries of a live trust
   * domain exist: once a trust domain is deleted its entries are gone at once, even while their
   * `entry.deleted` events are still being written (see TrustDomainsService.delete).
   */
  private async find(client: PoolClient, id: string): Promise<EntryView> {
    const rows = await client.query(
      `SELECT e.* FROM ${this.db.schema}.entries e JOIN ${this.db.schema}.trust_domains t ON t.id = e.trust_domain_id WHERE e.id = $1`,
      [id],
    );
    const row = rows.rows[0];
    if (row === undefined) throw new ProblemError(404, 'ENTRY_NOT_FOUND', `entry ${id} not found`);
    return entryView(row);
  }

  /** Applies a partial change on top of the current entry, guarded by `revision`. */
  async update(tenant: string, id: string, revision: number, patch: Partial<RegistrationEntryInput>, context: CommandContext): Promise<EntryView> {
    const { current, trustDomain } = await this.db.read(tenant, async (client) => {
      const entry = await this.find(client, id);
      return { current: entry, trustDomain: await this.trustDomains.findRow(client, entry.trustDomainId) };
    });
    const merged: RegistrationEntryInput = { ...entryInputOf(toEntryData(current)), ...patch };
    const updated = await this.commands.run(
      entryDecider,
      { tenant, aggregateType: ENTRY, aggregateId: id },
      { kind: 'update', trustDomainName: String(trustDomain['name']), expectedRevision: revision, input: merged },
      context,
    );
    await this.commands.settle(updated.version, { id, location: entryLocation(id) });
    return this.get(tenant, id);
  }

  async delete(tenant: string, id: string, context: CommandContext): Promise<void> {
    await this.get(tenant, id);
    const deleted = await this.commands.run(entryDecider, { tenant, aggregateType: ENTRY, aggregateId: id }, { kind: 'delete' }, context);
    await this.commands.settle(deleted.version, { id });
  }
}

function toEntryData(view: EntryView): EntryData {
  return {
    trustDomainId: view.trustDomainId,
    spiffeId: view.spiffeId,
    parentId: view.parentId,
    selectors: view.selectors,
    x509SvidTtl: view.x509SvidTtl,
    jwtSvidTtl: view.jwtSvidTtl,
    dnsNames: view.dnsNames,
    federatesWith: view.federatesWith,
    admin: view.admin,
    downstream: view.downstream,
    hint: view.hint,
    expiresAt: view.expiresAt,
  };
}
