import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock } from '@trustplane/platform';
import { BanAgentBody } from '../api-schemas.js';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { pageRequestOf } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { AgentsService } from './agents.service.js';


/** Node agents of a trust domain. */
@Controller('api/v1/trust-domains/:td/agents')
export class TrustDomainAgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @RequireScope('trust-domains:read')
  async list(@Param('td') td: string, @Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    return this.agents.list(principalOf(request).tenant, td, pageRequestOf(query));
  }
}

/** One node agent by id. */
@Controller('api/v1/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get(':id')
  @RequireScope('trust-domains:read')
  async show(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.agents.get(principalOf(request).tenant, id);
  }

  @Post(':id/ban')
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async ban(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const input = parseRequest(BanAgentBody, body ?? {});
    return this.agents.ban(principalOf(request).tenant, id, input.reason ?? '', commandContextFor(request, this.clock));
  }
}
