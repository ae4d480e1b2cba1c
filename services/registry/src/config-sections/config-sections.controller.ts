import { Body, Controller, Get, HttpCode, Inject, Param, Put, Query, Req } from '@nestjs/common';
import type { ConfigTargetKind } from '@trustplane/events';
import { CLOCK, parseRequest, ProblemError, type Clock } from '@trustplane/platform';
import { PutConfigSectionBody } from '../api-schemas.js';
import { CONFIG_TARGET_KINDS, isConfigTargetKind } from '@trustplane/registry-domain';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { queryFlag } from '../pagination.js';
import { commandContextFor, principalOf } from '../request-context.js';
import { ConfigSectionsService } from './config-sections.service.js';


function targetKindOf(value: string): ConfigTargetKind {
  if (isConfigTargetKind(value)) return value;
  const message = `targetKind must be one of ${CONFIG_TARGET_KINDS.join(', ')}`;
  throw new ProblemError(400, 'VALIDATION_FAILED', message, [{ field: 'targetKind', code: 'ENUM', message }]);
}

/** Config sections of trust-domain deployments and clusters. */
@Controller('api/v1/config/:targetKind/:targetId/:section')
export class ConfigSectionsController {
  constructor(
    private readonly sections: ConfigSectionsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Put()
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async set(
    @Param('targetKind') targetKind: string,
    @Param('targetId') targetId: string,
    @Param('section') section: string,
    @Query('validateOnly') validateOnly: string | undefined,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const kind = targetKindOf(targetKind);
    const only = queryFlag('validateOnly', validateOnly);
    const input = parseRequest(PutConfigSectionBody, body);
    return this.sections.set(principalOf(request), { kind, id: targetId, section }, input, only, commandContextFor(request, this.clock));
  }

  @Get()
  @RequireScope('trust-domains:read')
  async get(@Param('targetKind') targetKind: string, @Param('targetId') targetId: string, @Param('section') section: string, @Req() request: FastifyRequest) {
    return this.sections.get(principalOf(request).tenant, { kind: targetKindOf(targetKind), id: targetId, section });
  }
}
