import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { parseRequest, ProblemError } from '@trustplane/platform';
import { EmptyBody } from '../api-schemas.js';
import type { KeysetRequest, KeysetView } from '@trustplane/signer-api';
import type { FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/auth.guard.js';
import { principalOf } from '../request-context.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';
import { SignerClient } from './signer.client.js';

const KEYSET_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The answer to a keyset command: the keyset acted on and all of the deployment's keysets after it. */
export interface KeysetCommandResult {
  readonly keyset: KeysetView | null;
  readonly keysets: readonly KeysetView[];
}

/** The keyset a prepare created: the most recently prepared one. */
function newestPrepared(keysets: readonly KeysetView[]): KeysetView | null {
  let newest: KeysetView | null = null;
  for (const keyset of keysets) {
    if (keyset.state !== 'prepared') continue;
    if (newest === null || keyset.preparedAt > newest.preparedAt || (keyset.preparedAt === newest.preparedAt && keyset.id > newest.id)) newest = keyset;
  }
  return newest;
}

/**
 * A deployment's CA keysets, served by the signer. Each route first checks that the deployment
 * belongs to the caller's organization and trust domain (404 otherwise); the request to the
 * signer carries the caller's authority, which the signer checks again.
 */
@Controller('api/v1/trust-domains/:td/deployments/:id/keysets')
export class KeysetsController {
  constructor(
    private readonly trustDomains: TrustDomainsService,
    private readonly signer: SignerClient,
  ) {}

  @Get()
  @RequireScope('trust-domains:read')
  async list(@Param('td') td: string, @Param('id') id: string, @Req() request: FastifyRequest) {
    const keysets = await this.send(request, td, id, 'list');
    return { items: keysets, nextCursor: null };
  }

  @Post()
  @HttpCode(201)
  @RequireScope('trust-domains:write')
  async prepare(@Param('td') td: string, @Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest): Promise<KeysetCommandResult> {
    emptyBody(body);
    const keysets = await this.send(request, td, id, 'prepare');
    return { keyset: newestPrepared(keysets), keysets };
  }

  @Post(':keysetId/activate')
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async activate(@Param('td') td: string, @Param('id') id: string, @Param('keysetId') keysetId: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    return this.act(request, td, id, 'activate', keysetId, body);
  }

  @Post(':keysetId/taint')
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async taint(@Param('td') td: string, @Param('id') id: string, @Param('keysetId') keysetId: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    return this.act(request, td, id, 'taint', keysetId, body);
  }

  @Post(':keysetId/revoke')
  @HttpCode(200)
  @RequireScope('trust-domains:write')
  async revoke(@Param('td') td: string, @Param('id') id: string, @Param('keysetId') keysetId: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    return this.act(request, td, id, 'revoke', keysetId, body);
  }

  private async act(
    request: FastifyRequest,
    td: string,
    id: string,
    op: 'activate' | 'taint' | 'revoke',
    keysetId: string,
    body: unknown,
  ): Promise<KeysetCommandResult> {
    emptyBody(body);
    if (!KEYSET_ID.test(keysetId)) throw new ProblemError(404, 'KEYSET_NOT_FOUND', `keyset ${keysetId} not found`);
    const keysets = await this.send(request, td, id, op, keysetId);
    return { keyset: keysets.find((k) => k.id === keysetId) ?? null, keysets };
  }

  private async send(request: FastifyRequest, td: string, id: string, op: KeysetRequest['op'], keysetId?: string): Promise<readonly KeysetView[]> {
    const principal = principalOf(request);
    const deployment = await this.trustDomains.deployment(principal.tenant, td, id);
    return this.signer.keyset(principal, { op, deploymentId: deployment.id, ...(keysetId === undefined ? {} : { keysetId }) });
  }
}

/** Keyset commands take no parameters: an absent body or `{}`. */
function emptyBody(body: unknown): void {
  if (body !== undefined && body !== null) parseRequest(EmptyBody, body);
}
