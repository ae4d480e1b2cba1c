import { Controller, Get } from '@nestjs/common';
import { Public } from '@trustplane/platform';
import { openApiDocument } from './openapi.js';

/** Serves the OpenAPI document (public, like health and metrics). */
@Public()
@Controller('api/v1')
export class OpenApiController {
  private readonly document = openApiDocument();

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.document;
  }
}
