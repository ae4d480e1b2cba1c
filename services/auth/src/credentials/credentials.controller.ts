import { Body, Controller, Get, Header, HttpCode, Post } from '@nestjs/common';
import { Obj, parseRequest, Public, Str } from '@trustplane/platform';
import { CredentialSigner } from './credential-signer.js';
import { ExchangeService } from './exchange.service.js';

const exchangeBody = Obj({ assertion: Str({ max: 4096, description: 'EdDSA assertion signed with the deployment key' }) });

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
  async exchange(@Body() body: unknown) {
    return this.exchanges.exchange(parseRequest(exchangeBody, body).assertion);
  }

  @Get('jwks')
  @Header('cache-control', 'public, max-age=60')
  async jwks() {
    return this.signer.jwks();
  }
}
