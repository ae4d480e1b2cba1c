import { Injectable } from '@nestjs/common';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { AGENT, agentDecider } from '@trustplane/registry-domain';
import { CommandBus } from '../command-bus.js';
import { agentView, type Page } from '../model/views.js';
import { keysetParams, keysetSql, pageOf, type PageRequest } from '../pagination.js';
import { TenantDb } from '../tenant-db.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';

/** A node agent as the API shows it. */
export type AgentView = ReturnType<typeof agentView>;

/** Node agents, as attested by the signer (`agent.*` events); the registry lists and bans them. */
@Injectable()
export class AgentsService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
    private readonly trustDomains: TrustDomainsService,
  ) {}

  async list(tenant: string, td: string, page: PageRequest): Promise<Page<AgentView>> {
    return this.db.read(tenant, async (client) => {
      const trustDomain = await this.trustDomains.findRow(client, td);
      const keyset = keysetSql('spiffe_id', 'id', 2);
      const rows = await client.query(
        `SELECT * FROM ${this.db.schema}.agents WHERE trust_domain_id = $1 AND ${keyset.where} ORDER BY ${keyset.orderBy} LIMIT $4`,
        [trustDomain['id'], ...keysetParams(page), page.limit + 1],
      );
      return pageOf(rows.rows, page, (row) => String(row['spiffe_id']), (row) => agentView(row));
    });
  }

  async get(tenant: string, id: string): Promise<AgentView> {
    return this.db.read(tenant, async (client) => {
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.agents WHERE id = $1`, [id]);
      const row = rows.rows[0];
      if (row === undefined) throw notFound(id);
      return agentView(row);
    });
  }

  /** Bans an agent (idempotent). Another tenant's agent is invisible under RLS, hence 404. */
  async ban(tenant: string, id: string, reason: string, context: CommandContext): Promise<AgentView> {
    await this.get(tenant, id);
    const banned = await this.commands.run(agentDecider, { tenant, aggregateType: AGENT, aggregateId: id }, { kind: 'ban', reason }, context);
    await this.commands.settle(banned.version, { id, location: `/api/v1/agents/${id}` });
    return this.get(tenant, id);
  }
}

function notFound(id: string): ProblemError {
  return new ProblemError(404, 'AGENT_NOT_FOUND', `agent ${id} not found`);
}
