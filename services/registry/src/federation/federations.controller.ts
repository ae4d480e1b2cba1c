import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock } from '@trustplane/platform';
import { CreateFederationBody } from '../api-schemas.js';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { pageRequestOf } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { FederationsService } from './federations.service.js';


/** Federation relationships of a trust domain: which peer bundles its workloads receive. */
@Controller('api/v1/trust-domains/:td/federations')
export class FederationsController {
  constructor(
    private readonly federations: FederationsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  async create(@Param('td') td: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const input = parseRequest(CreateFederationBody, body);
    return this.federations.create(principalOf(request).tenant, td, input, commandContextFor(request, this.clock));
  }

  @Get()
  @RequireScope('trust-domains:read')
  async list(@Param('td') td: string, @Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    return this.federations.list(principalOf(request).tenant, td, pageRequestOf(query));
  }

  @Get(':id')
  @RequireScope('trust-domains:read')
  async info(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.federations.get(principalOf(request).tenant, td, id);
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async refresh(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.federations.refresh(principalOf(request).tenant, td, id, commandContextFor(request, this.clock));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('trust-domains:write')
  async delete(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    await this.federations.delete(principalOf(request).tenant, td, id, commandContextFor(request, this.clock));
  }
}
