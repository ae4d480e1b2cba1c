import { Injectable } from '@nestjs/common';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { ORGANIZATION, organizationDecider } from '@trustplane/registry-domain';
import { CommandBus } from '../command-bus.js';
import { TenantDb } from '../tenant-db.js';

/** An organization as the API shows it. */
export interface OrganizationView {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The caller's organization. */
@Injectable()
export class OrganizationsService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
  ) {}

  /** Renames the organization; resolves once the read model shows it. */
  async rename(id: string, name: string, context: CommandContext): Promise<OrganizationView> {
    const renamed = await this.commands.run(organizationDecider, { tenant: id, aggregateType: ORGANIZATION, aggregateId: id }, { kind: 'rename', name }, context);
    await this.commands.settle(renamed.version, { id, location: '/api/v1/organization' });
    return this.get(id);
  }

  /** Reads the organization from the read model (as the tenant). */
  async get(id: string): Promise<OrganizationView> {
    return this.db.read(id, async (client) => {
      const result = await client.query<{ id: string; name: string; version: string; created_at: Date; updated_at: Date }>(
        `SELECT id, name, version, created_at, updated_at FROM ${this.db.schema}.organizations WHERE id = $1`,
        [id],
      );
      const row = result.rows[0];
      if (row === undefined) throw new ProblemError(404, 'ORGANIZATION_NOT_FOUND', `organization ${id} not found`);
      return { id: row.id, name: row.name, version: Number(row.version), createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
    });
  }
}
