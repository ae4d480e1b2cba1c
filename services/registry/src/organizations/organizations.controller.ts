import { Body, Controller, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { parseBody, v } from '@trustplane/platform';
import { ORGANIZATION_NAME_MAX } from '@trustplane/registry-domain';
import type { FastifyRequest } from 'fastify';
import { commandContextFor } from '../request-context.js';
import { OrganizationsService, type OrganizationView } from './organizations.service.js';

const organizationBody = v.object({ name: v.string({ max: ORGANIZATION_NAME_MAX }) });

/** REST adapter: request → command → response. */
@Controller('api/v1/organizations')
export class OrganizationsController {
  constructor(private readonly organizations: OrganizationsService) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @Req() request: FastifyRequest): Promise<OrganizationView> {
    const { name } = parseBody(organizationBody, body);
    return this.organizations.create(name, commandContextFor(request, { kind: 'bootstrap', id: 'anonymous' }, this.organizations.clock));
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<OrganizationView> {
    return this.organizations.get(id);
  }

  @Patch(':id')
  async rename(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest): Promise<OrganizationView> {
    const { name } = parseBody(organizationBody, body);
    return this.organizations.rename(id, name, commandContextFor(request, { kind: 'bootstrap', id: 'anonymous' }, this.organizations.clock));
  }
}
