import { Inject, Injectable } from '@nestjs/common';
import { EventLog, handleCommand, quoteIdent, type CommandContext } from '@trustplane/eventstore';
import { CLOCK, EVENT_LOG, PG_POOL, ProblemError, ProjectionHost, type Clock } from '@trustplane/platform';
import { ORGANIZATION, organizationDecider } from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import type { Pool } from 'pg';
import type { RegistryConfig } from '../config.js';
import { REGISTRY_CONFIG } from '../tokens.js';

/** An organization as the API shows it. */
export interface OrganizationView {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Organization commands and queries. */
@Injectable()
export class OrganizationsService {
  constructor(
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) readonly clock: Clock,
    private readonly projections: ProjectionHost,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
  ) {}

  /** Creates an organization; resolves once the read model shows it. */
  async create(name: string, context: CommandContext): Promise<OrganizationView> {
    const id = newResourceId('organization');
    const result = await handleCommand(
      this.log,
      organizationDecider,
      { tenant: id, aggregateType: ORGANIZATION, aggregateId: id },
      { kind: 'create', id, name },
      context,
    );
    await this.projections.waitForAll(result.version);
    return this.get(id);
  }

  /** Renames an organization; resolves once the read model shows it. */
  async rename(id: string, name: string, context: CommandContext): Promise<OrganizationView> {
    const result = await handleCommand(
      this.log,
      organizationDecider,
      { tenant: id, aggregateType: ORGANIZATION, aggregateId: id },
      { kind: 'rename', name },
      context,
    );
    await this.projections.waitForAll(result.version);
    return this.get(id);
  }

  /** Reads one organization from the read model. */
  async get(id: string): Promise<OrganizationView> {
    const result = await this.pool.query<{ id: string; name: string; version: string; created_at: Date; updated_at: Date }>(
      `SELECT id, name, version, created_at, updated_at FROM ${quoteIdent(this.config.schema)}.organizations WHERE id = $1`,
      [id],
    );
    const row = result.rows[0];
    if (row === undefined) throw new ProblemError(404, 'ORGANIZATION_NOT_FOUND', `organization ${id} not found`);
    return {
      id: row.id,
      name: row.name,
      version: Number(row.version),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }
}
