import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { commandContextFor, principalOf, RequireScope, ShownOnce } from '@trustplane/api-kit';
import { CLOCK, type Clock } from '@trustplane/platform';
import type { FastifyRequest } from 'fastify';
import { DeploymentKeysService } from './deployment-keys.service.js';

/** Deployment keys of one deployment (trust domain and deployment by id or name). */
@Controller('api/v1/trust-domains/:td/deployments/:d/keys')
export class DeploymentKeysController {
  constructor(
    private readonly keys: DeploymentKeysService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('deployments:write')
  @ShownOnce('privateKeyPem')
  async create(@Param('td') td: string, @Param('d') d: string, @Req() request: FastifyRequest) {
    return this.keys.create(principalOf(request).tenant, td, d, commandContextFor(request, this.clock));
  }

  @Get()
  @RequireScope('trust-domains:read')
  async list(@Param('td') td: string, @Param('d') d: string, @Req() request: FastifyRequest) {
    return { items: await this.keys.list(principalOf(request).tenant, td, d), nextCursor: null };
  }

  @Get(':k')
  @RequireScope('trust-domains:read')
  async get(@Param('td') td: string, @Param('d') d: string, @Param('k') k: string, @Req() request: FastifyRequest) {
    return this.keys.get(principalOf(request).tenant, td, d, k);
  }

  @Post(':k/enable')
  @HttpCode(200)
  @RequireScope('deployments:write')
  async enable(@Param('td') td: string, @Param('d') d: string, @Param('k') k: string, @Req() request: FastifyRequest) {
    return this.keys.change(principalOf(request).tenant, td, d, k, { kind: 'enable' }, commandContextFor(request, this.clock));
  }

  @Post(':k/disable')
  @HttpCode(200)
  @RequireScope('deployments:write')
  async disable(@Param('td') td: string, @Param('d') d: string, @Param('k') k: string, @Req() request: FastifyRequest) {
    return this.keys.change(principalOf(request).tenant, td, d, k, { kind: 'disable' }, commandContextFor(request, this.clock));
  }

  @Delete(':k')
  @HttpCode(204)
  @RequireScope('deployments:write')
  async remove(@Param('td') td: string, @Param('d') d: string, @Param('k') k: string, @Req() request: FastifyRequest): Promise<void> {
    await this.keys.change(principalOf(request).tenant, td, d, k, { kind: 'delete' }, commandContextFor(request, this.clock));
  }
}
