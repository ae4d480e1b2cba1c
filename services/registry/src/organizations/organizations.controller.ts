import { Body, Controller, Get, Inject, Patch, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock } from '@trustplane/platform';
import { RenameOrganizationBody } from '../api-schemas.js';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { OrganizationsService, type OrganizationView } from './organizations.service.js';


/** The caller's organization (organizations themselves are created on the host). */
@Controller('api/v1/organization')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @RequireScope('authenticated')
  async get(@Req() request: FastifyRequest): Promise<OrganizationView> {
    return this.organizations.get(principalOf(request).tenant);
  }

  @Patch()
  @RequireScope('admin')
  async rename(@Body() body: unknown, @Req() request: FastifyRequest): Promise<OrganizationView> {
    const { name } = parseRequest(RenameOrganizationBody, body);
    return this.organizations.rename(principalOf(request).tenant, name, commandContextFor(request, this.clock));
  }
}
