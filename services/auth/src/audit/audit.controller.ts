import { Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { principalOf, RequireScope } from '@trustplane/api-kit';
import type { FastifyRequest } from 'fastify';
import { AuditService, type AuditQuery } from './audit.service.js';

const TOKEN_ID = /^tok-[0-9a-z]{10}$|^tdk-[0-9a-z]{10}$/;

function parseQuery(raw: Record<string, string | undefined>): AuditQuery {
  const known = new Set(['actor', 'resource', 'since', 'until', 'after', 'limit']);
  for (const key of Object.keys(raw)) if (!known.has(key)) throw AuditService.badQuery(key, 'unknown parameter');
  const time = (name: 'since' | 'until'): Date | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime()) || value.length > 40) throw AuditService.badQuery(name, 'an ISO-8601 time');
    return parsed;
  };
  const int = (name: 'after' | 'limit', min: number, max: number): number | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (!/^\d{1,12}$/.test(value) || Number(value) < min || Number(value) > max) throw AuditService.badQuery(name, `an integer ${min}–${max}`);
    return Number(value);
  };
  if (raw['actor'] !== undefined && !TOKEN_ID.test(raw['actor'])) throw AuditService.badQuery('actor', 'a token id (tok-…) or deployment key id (tdk-…)');
  if (raw['resource'] !== undefined && (raw['resource'].length === 0 || raw['resource'].length > 512)) throw AuditService.badQuery('resource', '1–512 characters');
  const since = time('since');
  const until = time('until');
  const after = int('after', 0, Number.MAX_SAFE_INTEGER);
  return {
    ...(raw['actor'] === undefined ? {} : { actor: raw['actor'] }),
    ...(raw['resource'] === undefined ? {} : { resource: raw['resource'] }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(after === undefined ? {} : { after }),
    limit: int('limit', 1, 1000) ?? 200,
  };
}

/** The caller's organization's audit chain. */
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequireScope('audit:read')
  async list(@Query() query: Record<string, string | undefined>, @Req() request: FastifyRequest) {
    return this.audit.list(principalOf(request).tenant, parseQuery(query));
  }

  @Post('verify')
  @HttpCode(200)
  @RequireScope('audit:read')
  async verify(@Req() request: FastifyRequest) {
    return this.audit.verify(principalOf(request).tenant);
  }

  @Post('anchor')
  @HttpCode(200)
  @RequireScope('audit:read')
  async anchor(@Req() request: FastifyRequest) {
    return { anchored: await this.audit.anchor(principalOf(request).tenant) };
  }
}
