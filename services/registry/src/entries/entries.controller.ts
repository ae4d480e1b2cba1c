import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { CLOCK, parseRequest, type Clock } from '@trustplane/platform';
import { CreateEntryBody, UpdateEntryBody } from '../api-schemas.js';
import type { RegistrationEntryInput } from '@trustplane/spiffe';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { pageRequestOf } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { EntriesService } from './entries.service.js';

type EntryBody = { x509SvidTtl?: number; jwtSvidTtl?: number } & Omit<Partial<RegistrationEntryInput>, 'x509SvidTtlSeconds' | 'jwtSvidTtlSeconds'>;

/** Maps API field names (TTLs in seconds) to the validator's input. */
function toInput(body: EntryBody): Partial<RegistrationEntryInput> {
  const { x509SvidTtl, jwtSvidTtl, ...rest } = body;
  return {
    ...rest,
    ...(x509SvidTtl === undefined ? {} : { x509SvidTtlSeconds: x509SvidTtl }),
    ...(jwtSvidTtl === undefined ? {} : { jwtSvidTtlSeconds: jwtSvidTtl }),
  };
}

/** Registration entries. */
@Controller('api/v1')
export class EntriesController {
  constructor(
    private readonly entries: EntriesService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post('trust-domains/:td/entries')
  @HttpCode(201)
  @RequireScope('entries:write')
  async create(@Param('td') td: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const input = toInput(parseRequest(CreateEntryBody, body)) as RegistrationEntryInput;
    return this.entries.create(principalOf(request).tenant, td, input, commandContextFor(request, this.clock));
  }

  @Get('trust-domains/:td/entries')
  @RequireScope('entries:read')
  async list(@Param('td') td: string, @Query() query: Record<string, unknown>, @Req() request: FastifyRequest) {
    const text = (key: string): string | undefined => (typeof query[key] === 'string' ? (query[key] as string) : undefined);
    const filter = {
      ...(text('spiffeId') === undefined ? {} : { spiffeId: text('spiffeId') as string }),
      ...(text('parentId') === undefined ? {} : { parentId: text('parentId') as string }),
      ...(text('selector') === undefined ? {} : { selector: text('selector') as string }),
    };
    return this.entries.list(principalOf(request).tenant, td, filter, pageRequestOf(query));
  }

  @Get('entries/:id')
  @RequireScope('entries:read')
  async show(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.entries.get(principalOf(request).tenant, id);
  }

  @Patch('entries/:id')
  @RequireScope('entries:write')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const { revision, ...patch } = parseRequest(UpdateEntryBody, body);
    return this.entries.update(principalOf(request).tenant, id, revision, toInput(patch), commandContextFor(request, this.clock));
  }

  @Delete('entries/:id')
  @HttpCode(204)
  @RequireScope('entries:write')
  async delete(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    await this.entries.delete(principalOf(request).tenant, id, commandContextFor(request, this.clock));
  }
}
