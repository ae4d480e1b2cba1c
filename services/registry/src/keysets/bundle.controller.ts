import { Controller, Get, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { principalOf } from '../request-context.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';
import { SignerClient } from './signer.client.js';

/**
 * A trust domain's current trust bundle, as the signer holds it: what an operator hands a new
 * agent (`TP_AGENT_TRUST_BUNDLE_PATH`) so its first connection to the signer is verified. The
 * trust domain must belong to the caller's organization (404 otherwise).
 */
@Controller('api/v1/trust-domains/:td/bundle')
export class BundleController {
  constructor(
    private readonly trustDomains: TrustDomainsService,
    private readonly signer: SignerClient,
  ) {}

  @Get()
  @RequireScope('trust-domains:read')
  async get(
    @Param('td') td: string,
    @Req() request: FastifyRequest,
  ): Promise<Readonly<Record<string, unknown>>> {
    const principal = principalOf(request);
    const trustDomainId = await this.trustDomains.idOf(principal.tenant, td);
    return this.signer.bundle(principal, { trustDomainId });
  }
}
