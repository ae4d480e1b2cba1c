import { Injectable } from '@nestjs/common';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError } from '@trustplane/platform';
import { API_TOKEN, apiTokenDecider, mintToken, type TokenAuthority } from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import { CommandBus } from '../command-bus.js';
import { tokenView } from '../model/views.js';
import { newIdFor, type WriteContext } from '../request-context.js';
import { secretShownOnce } from '../shown-once.js';
import { TenantDb } from '../tenant-db.js';

/** A token as listed (never with its secret). */
export type TokenView = ReturnType<typeof tokenView>;

/** A token as returned once at creation. */
export interface IssuedToken {
  readonly id: string;
  /** `tp_<tok-…>_<secret>`; only its salted hash is recorded. */
  readonly token: string;
  readonly scopes: string[];
  readonly expiresAt: string | null;
  readonly createdAt: string;
  /** Stream sequence of the creation (for waiting on the read models). */
  readonly version: number;
}

/** What a new token is: its name, scopes and lifetime, and who grants it. */
export interface TokenRequest {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly ttlDays?: number | undefined;
  /** Who issues the token: its scopes must cover the new token's. */
  readonly authority: TokenAuthority;
}

/** Issues an API token through the event log; returns the token string once. */
export async function issueToken(
  commands: Pick<CommandBus, 'run'>,
  tenant: string,
  input: TokenRequest,
  context: CommandContext,
  id: string = newResourceId('apiToken'),
): Promise<IssuedToken> {
  const minted = mintToken(id);
  const result = await commands.run(
    apiTokenDecider,
    { tenant, aggregateType: API_TOKEN, aggregateId: id },
    { kind: 'create', name: input.name, scopes: input.scopes, ttlDays: input.ttlDays, salt: minted.salt, hash: minted.hash, authority: input.authority },
    context,
  );
  const created = result.events[0];
  if (created?.type !== 'apitoken.created') throw new Error('token was not created');
  return { id, token: minted.token, scopes: [...created.data.scopes], expiresAt: created.data.expiresAt, createdAt: created.occurredAt, version: result.version };
}

/** API tokens of an organization. */
@Injectable()
export class TokensService {
  constructor(
    private readonly commands: CommandBus,
    private readonly db: TenantDb,
  ) {}

  /** Issues a token whose scopes are within the caller's; a repeat of a keyed request gets 409 SECRET_SHOWN_ONCE. */
  async create(tenant: string, input: { name: string; scopes: string[]; ttlDays?: number }, context: WriteContext) {
    const id = newIdFor('apiToken', context);
    if (context.idempotencySeed !== undefined) {
      const existing = await this.commands.state(apiTokenDecider, { tenant, aggregateType: API_TOKEN, aggregateId: id });
      if (existing.phase !== 'absent') throw secretShownOnce(await this.view(tenant, id).catch(() => ({ id })));
    }
    const issued = await issueToken(this.commands, tenant, { ...input, authority: { kind: 'token', scopes: context.scopes } }, context, id);
    const answer = { id, name: input.name, scopes: issued.scopes, token: issued.token, createdAt: issued.createdAt, expiresAt: issued.expiresAt };
    await this.commands.settle(issued.version, { id, extra: answer });
    return answer;
  }

  async list(tenant: string): Promise<TokenView[]> {
    return this.db.read(tenant, async (client) => {
      const rows = await client.query(`SELECT * FROM ${this.db.schema}.api_tokens ORDER BY name COLLATE "C", id`);
      return rows.rows.map(tokenView);
    });
  }

  /** Revokes a token; the caller's scopes must cover the revoked token's. */
  async revoke(tenant: string, id: string, context: WriteContext): Promise<void> {
    await this.view(tenant, id);
    const revoked = await this.commands.run(apiTokenDecider, { tenant, aggregateType: API_TOKEN, aggregateId: id }, { kind: 'revoke', authority: { kind: 'token', scopes: context.scopes } }, context);
    await this.commands.settle(revoked.version, { id });
  }

  /** One token of the tenant (404 otherwise, also for other tenants' ids). */
  async get(tenant: string, id: string): Promise<TokenView> {
    return this.view(tenant, id);
  }

  private async view(tenant: string, id: string): Promise<TokenView> {
    const found = await this.db.read(tenant, (client) => client.query(`SELECT * FROM ${this.db.schema}.api_tokens WHERE id = $1`, [id]));
    const row = found.rows[0];
    if (row === undefined) throw new ProblemError(404, 'TOKEN_NOT_FOUND', `token ${id} not found`);
    return tokenView(row);
  }
}
