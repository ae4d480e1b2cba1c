import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock } from '@trustplane/platform';
import { AddClusterConfigVersionBody, CreateClusterBody, CreateJoinTokenBody } from '../api-schemas.js';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { pageRequestOf } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { ShownOnce } from '../shown-once.js';
import { ClustersService } from './clusters.service.js';


/** Clusters of a trust domain. */
@Controller('api/v1/trust-domains/:td/clusters')
export class ClustersController {
  constructor(
    private readonly clusters: ClustersService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  @ShownOnce('clusterKey')
  async create(@Param('td') td: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const input = parseRequest(CreateClusterBody, body);
    return this.clusters.create(principalOf(request).tenant, td, { name: input.name, platform: input.platform, description: input.description ?? '' }, commandContextFor(request, this.clock));
  }

  @Get()
  @RequireScope('trust-domains:read')
  async list(@Param('td') td: string, @Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    return this.clusters.list(principalOf(request).tenant, td, pageRequestOf(query));
  }

  @Get(':id')
  @RequireScope('trust-domains:read')
  async info(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.clusters.get(principalOf(request).tenant, td, id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async disable(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.clusters.disable(principalOf(request).tenant, td, id, commandContextFor(request, this.clock));
  }

  @Post(':id/config-versions')
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  async addConfigVersion(@Param('td') td: string, @Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const config = parseRequest(AddClusterConfigVersionBody, body).config;
    return this.clusters.addConfigVersion(principalOf(request).tenant, td, id, config, commandContextFor(request, this.clock));
  }

  @Get(':id/config-versions')
  @RequireScope('trust-domains:read')
  async configVersions(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    return { items: await this.clusters.configVersionList(principalOf(request).tenant, td, id), nextCursor: null };
  }

  @Get(':id/config-versions/:version')
  @RequireScope('trust-domains:read')
  async configVersion(@Param('td') td: string, @Param('id') id: string, @Param('version') version: string, @Req() request: FastifyRequest) {
    return this.clusters.configVersion(principalOf(request).tenant, td, id, version);
  }

  @Post(':id/join-tokens')
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  @ShownOnce('token')
  async createJoinToken(@Param('td') td: string, @Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    // An empty POST is fine: every field has a default.
    const input = parseRequest(CreateJoinTokenBody, body ?? {});
    const issued = await this.clusters.createJoinToken(principalOf(request).tenant, td, id, input.ttlSeconds, commandContextFor(request, this.clock));
    return { id: issued.id, token: issued.token, clusterId: issued.clusterId, trustDomainId: issued.trustDomainId, expiresAt: issued.expiresAt, createdAt: issued.createdAt };
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('trust-domains:write')
  async delete(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    await this.clusters.delete(principalOf(request).tenant, td, id, commandContextFor(request, this.clock));
  }
}
