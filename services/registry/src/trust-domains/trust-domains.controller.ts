import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock } from '@trustplane/platform';
import { CreateDeploymentBody, CreateTrustDomainBody } from '../api-schemas.js';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { pageRequestOf, queryFlag } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { TrustDomainsService } from './trust-domains.service.js';


/** Trust domains and deployments. */
@Controller('api/v1/trust-domains')
export class TrustDomainsController {
  constructor(
    private readonly trustDomains: TrustDomainsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  async create(@Body() body: unknown, @Req() request: FastifyRequest) {
    const input = parseRequest(CreateTrustDomainBody, body);
    return this.trustDomains.create(
      principalOf(request).tenant,
      { name: input.name, description: input.description ?? '', kind: input.kind ?? 'managed' },
      commandContextFor(request, this.clock),
    );
  }

  @Get()
  @RequireScope('trust-domains:read')
  async list(@Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    return this.trustDomains.list(principalOf(request).tenant, pageRequestOf(query));
  }

  @Get(':td')
  @RequireScope('trust-domains:read')
  async info(@Param('td') td: string, @Query('showDeployments') showDeployments: string | undefined, @Req() request: FastifyRequest) {
    const tenant = principalOf(request).tenant;
    const view = await this.trustDomains.get(tenant, td);
    if (!queryFlag('showDeployments', showDeployments)) return view;
    return { ...view, deploymentList: (await this.trustDomains.deployments(tenant, td)).items };
  }

  @Delete(':td')
  @HttpCode(204)
  @RequireScope('trust-domains:write')
  async delete(@Param('td') td: string, @Req() request: FastifyRequest): Promise<void> {
    await this.trustDomains.delete(principalOf(request).tenant, td, commandContextFor(request, this.clock));
  }

  @Post(':td/deployments')
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  async createDeployment(@Param('td') td: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const input = parseRequest(CreateDeploymentBody, body);
    return this.trustDomains.createDeployment(principalOf(request).tenant, td, { name: input.name, region: input.region ?? '' }, commandContextFor(request, this.clock));
  }

  @Get(':td/deployments')
  @RequireScope('trust-domains:read')
  async deployments(@Param('td') td: string, @Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    return this.trustDomains.deployments(principalOf(request).tenant, td, pageRequestOf(query));
  }

  @Get(':td/deployments/:id')
  @RequireScope('trust-domains:read')
  async deployment(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.trustDomains.deployment(principalOf(request).tenant, td, id);
  }

  @Delete(':td/deployments/:id')
  @HttpCode(204)
  @RequireScope('trust-domains:write')
  async deleteDeployment(@Param('td') td: string, @Param('id') id: string, @Query('force') force: string | undefined, @Req() request: FastifyRequest): Promise<void> {
    await this.trustDomains.deleteDeployment(principalOf(request).tenant, td, id, queryFlag('force', force), commandContextFor(request, this.clock));
  }
}

/** Deployments across the caller's trust domains. */
@Controller('api/v1/deployments')
export class DeploymentsController {
  constructor(private readonly trustDomains: TrustDomainsService) {}

  /** `?managed=false` leaves out managed trust domains' deployments (`true`: only those). */
  @Get()
  @RequireScope('trust-domains:read')
  async list(@Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    const { managed, ...rest } = query;
    const options = managed === undefined ? {} : { managed: queryFlag('managed', managed) };
    return this.trustDomains.allDeployments(principalOf(request).tenant, pageRequestOf(rest), options);
  }
}
