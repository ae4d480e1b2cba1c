import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { CLOCK, LOGGER, ProblemError, Public, type Clock } from '@trustplane/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ControlPlaneCredentialGuard } from './credential.guard.js';
import type { ControlPlaneCredential } from './credential.guard.js';
import { SyncNotifier } from './sync.notifier.js';
import { SyncService } from './sync.service.js';
import type { SyncCaller } from './sync.state.js';

/** How often an idle stream says it is alive (and re-reads its position). */
export const SYNC_HEARTBEAT_MS = 15_000;

function callerOf(request: FastifyRequest): SyncCaller {
  const credential: ControlPlaneCredential | undefined = request.syncCredential;
  if (credential === undefined) throw new ProblemError(401, 'UNAUTHENTICATED', 'a valid control-plane credential is required');
  return { tenant: credential.organizationId, deploymentId: credential.deploymentId, trustDomainId: credential.trustDomainId };
}

/**
 * The sync API of self-hosted deployments. `@Public()` only exempts these routes from the API
 * token guard: {@link ControlPlaneCredentialGuard} authenticates every one of them with a
 * control-plane credential, and API tokens are refused here.
 */
@Controller('api/v1/sync')
@Public()
@UseGuards(ControlPlaneCredentialGuard)
export class SyncController {
  constructor(
    private readonly sync: SyncService,
    private readonly notifier: SyncNotifier,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * The stream (NDJSON, one JSON object a line): `{"type":"state","position":N,"state":{…}}`
   * with the complete current state whenever the position moves past what the client has
   * (`?after=` = its last applied position; nothing is sent while it is current), `{"type":
   * "heartbeat","position":N}` when idle, and `{"type":"end","reason":"CREDENTIAL_EXPIRED"}` as
   * the last line when the credential runs out (the client exchanges a new one and resumes), or
   * `SHUTTING_DOWN` when the registry stops (the client reconnects to another replica).
   */
  @Get('stream')
  async stream(@Query('after') afterParam: string | undefined, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const caller = callerOf(request);
    const after = afterParam === undefined ? 0 : Number(afterParam);
    if (!Number.isSafeInteger(after) || after < 0 || (afterParam !== undefined && !/^\d{1,16}$/.test(afterParam))) {
      throw new ProblemError(400, 'SYNC_POSITION_INVALID', 'after must be a whole number ≥ 0 (the last applied position)');
    }
    const deployment = await this.sync.deployment(caller);
    const expiresAt = request.syncCredential?.expiresAt.getTime() ?? 0;
    const closed = new AbortController();
    request.raw.on('close', () => closed.abort());
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    const send = (message: unknown): void => void raw.write(`${JSON.stringify(message)}\n`);
    let position = after;
    try {
      while (!closed.signal.aborted) {
        if (this.notifier.stopping) {
          send({ type: 'end', reason: 'SHUTTING_DOWN' });
          break;
        }
        const untilExpiry = expiresAt - this.clock.now().getTime();
        if (untilExpiry <= 0) {
          send({ type: 'end', reason: 'CREDENTIAL_EXPIRED' });
          break;
        }
        // Arm the wake-up before reading, so a change committed during the read is not missed.
        const changed = this.notifier.next(deployment.trustDomainId, Math.min(SYNC_HEARTBEAT_MS, untilExpiry), closed.signal);
        const snapshot = await this.sync.snapshot(caller, deployment, position);
        if (snapshot.state !== undefined) {
          position = snapshot.position;
          send({ type: 'state', position, state: snapshot.state });
        } else {
          send({ type: 'heartbeat', position: snapshot.position });
        }
        await changed;
      }
    } catch (error) {
      this.logger.warn({ err: error, deploymentId: deployment.id }, 'sync stream failed');
      send({ type: 'end', reason: 'ERROR' });
    } finally {
      raw.end();
    }
  }

  /** A self-hosted signer's report: validated against its trust domain, then appended. */
  @Post('report')
  @HttpCode(200)
  async report(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.sync.report(callerOf(request), body, this.clock.now());
  }
}
