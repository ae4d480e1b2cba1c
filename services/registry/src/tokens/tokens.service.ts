import { Injectable } from '@nestjs/common';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { API_TOKEN, apiTokenDecider, mintToken } from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import { CommandBus } from '../command-bus.js';
import { tokenView } from '../model/views.js';
import { TenantDb } from '../tenant-db.js';

/** A token as listed (never with its secret). */
export type TokenView = ReturnType<typeof tokenView>;

/** Issues an API token through the event log; returns the token string once. */
export async function issueToken(
  commands: Pick<CommandBus, 'run'>,
  tenant: string,
  input: { name: string; scopes: readonly string[]; ttlDays?: number | undefined },
  context: CommandContext,
): Promise<{ id: string; token: string; scopes: string[]; expiresAt: string | null; createdAt: string }> {
  const id = newResourceId('apiToken');
  const minted = mintToken(id);
  const result = await commands.run(
    apiTokenDecider,
    { tenant, aggregateType: API_TOKEN, aggregateId: id },
    { kind: 'create', name: input.name, scopes: input.scopes, ttlDays: input.ttlDays, salt: minted.salt, hash: minted.hash },
    context,
  );
  const created = result.events[0];
  if (created?.type !== 'apitoken.created') throw new Error('token was not created');
  return { id, token: minted.token, scopes: [...created.data.scopes], expiresAt: created.data.expiresAt, createdAt: created.occurredAt };
}

/** API tokens of an organization. */
@Injectable()
export class TokensService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
  ) {}

  async create(tenant: string, input: { name: string; scopes: string[]; ttlDays?: number }, context: CommandContext) {
    const issued = await issueToken(this.commands, tenant, input, context);
    return { id: issued.id, name: input.name, scopes: issued.scopes, token: issued.token, createdAt: issued.createdAt, expiresAt: issued.expiresAt };
  }

  async list(tenant: string): Promise<TokenView[]> {
    return this.db.read(tenant, async (client) => {
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.api_tokens ORDER BY id`);
      return rows.rows.map(tokenView);
    });
  }

  async revoke(tenant: string, id: string, context: CommandContext): Promise<void> {
    const found = await this.db.read(tenant, (client) => client.query(`SELECT 1 FROM ${this.db.schema}.api_tokens WHERE id = $1`, [id]));
    if (found.rowCount === 0) throw new ProblemError(404, 'TOKEN_NOT_FOUND', `token ${id} not found`);
    await this.commands.run(apiTokenDecider, { tenant, aggregateType: API_TOKEN, aggregateId: id }, { kind: 'revoke' }, context);
  }
}
