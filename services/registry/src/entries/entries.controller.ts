import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { CLOCK, parseBody, v, type Clock } from '@trustplane/platform';
import type { RegistrationEntryInput } from '@trustplane/spiffe';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { pageRequestOf } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { EntriesService } from './entries.service.js';

const entryFields = {
  spiffeId: v.string({ max: 2048 }),
  parentId: v.string({ max: 2048 }),
  selectors: v.array(v.string({ max: 4200 }), { max: 64 }),
  x509SvidTtl: v.optional(v.int({ min: 0, max: 2_147_483_647 })),
  jwtSvidTtl: v.optional(v.int({ min: 0, max: 2_147_483_647 })),
  dnsNames: v.optional(v.array(v.string({ max: 253 }), { max: 32 })),
  federatesWith: v.optional(v.array(v.string({ max: 270 }), { max: 64 })),
  admin: v.optional(v.bool()),
  downstream: v.optional(v.bool()),
  hint: v.optional(v.string({ min: 0, max: 1024 })),
  expiresAt: v.optional(v.string({ max: 64 })),
};
const createEntryBody = v.object(entryFields);
const updateEntryBody = v.object({
  revision: v.int({ min: 1, max: 2_147_483_647 }),
  spiffeId: v.optional(entryFields.spiffeId),
  parentId: v.optional(entryFields.parentId),
  selectors: v.optional(entryFields.selectors),
  x509SvidTtl: entryFields.x509SvidTtl,
  jwtSvidTtl: entryFields.jwtSvidTtl,
  dnsNames: entryFields.dnsNames,
  federatesWith: entryFields.federatesWith,
  admin: entryFields.admin,
  downstream: entryFields.downstream,
  hint: entryFields.hint,
  expiresAt: entryFields.expiresAt,
});

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
    const input = toInput(parseBody(createEntryBody, body)) as RegistrationEntryInput;
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
    const { revision, ...patch } = parseBody(updateEntryBody, body);
    return this.entries.update(principalOf(request).tenant, id, revision, toInput(patch), commandContextFor(request, this.clock));
  }

  @Delete('entries/:id')
  @HttpCode(204)
  @RequireScope('entries:write')
  async delete(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    await this.entries.delete(principalOf(request).tenant, id, commandContextFor(request, this.clock));
  }
}
