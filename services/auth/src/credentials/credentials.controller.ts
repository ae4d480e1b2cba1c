import { Body, Controller, Get, Header, HttpCode, Post } from '@nestjs/common';
import { parseBody, Public, v } from '@trustplane/platform';
import { CredentialSigner } from './credential-signer.js';
import { ExchangeService } from './exchange.service.js';

const exchangeBody = v.object({ assertion: v.string({ min: 1, max: 4096 }) });

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
    return this.exchanges.exchange(parseBody(exchangeBody, body).assertion);
  }

  @Get('jwks')
  @Header('cache-control', 'public, max-age=60')
  async jwks() {
    return this.signer.jwks();
  }
}
