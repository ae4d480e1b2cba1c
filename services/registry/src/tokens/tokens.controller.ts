import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock, type Static } from '@trustplane/platform';
import { CreateTokenBody, type WhoamiSchema } from '../api-schemas.js';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { ShownOnce } from '../shown-once.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import { TokensService } from './tokens.service.js';


/** API tokens of the caller's organization. */
@Controller('api/v1/tokens')
export class TokensController {
  constructor(
    private readonly tokens: TokensService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('tokens:write')
  @ShownOnce('token')
  async create(@Body() body: unknown, @Req() request: FastifyRequest) {
    const input = parseRequest(CreateTokenBody, body);
    return this.tokens.create(principalOf(request).tenant, { name: input.name, scopes: input.scopes, ...(input.ttlDays === undefined ? {} : { ttlDays: input.ttlDays }) }, commandContextFor(request, this.clock));
  }

  @Get()
  @RequireScope('tokens:write')
  async list(@Req() request: FastifyRequest) {
    return { items: await this.tokens.list(principalOf(request).tenant), nextCursor: null };
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('tokens:write')
  async revoke(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    await this.tokens.revoke(principalOf(request).tenant, id, commandContextFor(request, this.clock));
  }
}

/** Who the caller is: its organization and the API token it authenticated with. */
@Controller('api/v1/whoami')
export class WhoamiController {
  constructor(
    private readonly tokens: TokensService,
    private readonly organizations: OrganizationsService,
  ) {}

  @Get()
  @RequireScope('authenticated')
  async whoami(@Req() request: FastifyRequest): Promise<Static<typeof WhoamiSchema>> {
    const principal = principalOf(request);
    const organization = await this.organizations.get(principal.tenant);
    const token = await this.tokens.get(principal.tenant, principal.tokenId);
    return {
      organizationId: organization.id,
      organizationName: organization.name,
      tokenId: token.id,
      tokenName: token.name,
      scopes: token.scopes,
      createdAt: token.createdAt,
      expiresAt: token.expiresAt,
    };
  }
}
