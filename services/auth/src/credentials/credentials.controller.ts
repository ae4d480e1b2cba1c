import { Body, Controller, Get, Header, HttpCode, Post } from '@nestjs/common';
import { ExchangeCredentialBody, type DeploymentCredentialView } from '@trustplane/auth-client';
import { parseRequest, Public } from '@trustplane/platform';
import { CredentialSigner } from './credential-signer.js';
import { ExchangeService } from './exchange.service.js';

/** The credential exchange and the credentials' verification keys (both public: the assertion authenticates). */
@Public()
@Controller('api/v1/auth')
export class CredentialsController {
  constructor(
    private readonly exchanges: ExchangeService,
    private readonly signer: CredentialSigner,
  ) {}

  @Post('deployment-credentials')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async exchange(@Body() body: unknown): Promise<DeploymentCredentialView> {
    return this.exchanges.exchange(parseRequest(ExchangeCredentialBody, body).assertion);
  }

  @Get('jwks')
  @Header('cache-control', 'public, max-age=60')
  async jwks() {
    return this.signer.jwks();
  }
}
