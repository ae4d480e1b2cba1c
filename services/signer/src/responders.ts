import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError } from '@trustplane/events';
import { cryptoErrorKind, isCryptoError } from '@trustplane/crypto';
import { isKeyManagerError } from '@trustplane/keymanager';
import {
  SIGNER_QUEUE_GROUP,
  signerSubject,
  type BundleRequest,
  type KeysetRequest,
  type KeysetView,
  type MintJwtRequest,
  type MintX509Request,
  type SignerError,
  type SignerOperation,
} from '@trustplane/signer-api';
import type { Keyset } from '@trustplane/ca-domain';
import type { Logger } from 'pino';
import { SignerRequestError, SignerUnavailableError, type CaService, type ServedDeployment } from './ca-service.js';

type Handler = (request: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** Maps anything thrown while serving a request to the contract's error (internals hidden). */
export function toSignerError(error: unknown): SignerError {
  if (error instanceof SignerRequestError) return { code: error.code, message: error.message, status: 400 };
  if (error instanceof SignerUnavailableError) return { code: error.code, message: error.message, status: 503 };
  if (error instanceof DomainError) {
    return { code: error.code, message: error.message, status: DOMAIN_ERROR_HTTP_STATUS[error.kind] };
  }
  if (isCryptoError(error)) {
    return cryptoErrorKind(error.code) === 'invalid_input'
      ? { code: error.code, message: error.message, status: 400 }
      : { code: error.code, message: 'signing failed', status: 500 };
  }
  if (isKeyManagerError(error)) {
    const unavailable = ['CUSTODY_UNAVAILABLE', 'WEBHOOK_UNREACHABLE', 'WEBHOOK_TIMEOUT', 'FINGERPRINT_MISMATCH', 'SIGNATURE_INVALID'];
    return { code: error.code, message: unavailable.includes(error.code) ? error.message : 'key manager error', status: unavailable.includes(error.code) ? 503 : 500 };
  }
  return { code: 'INTERNAL', message: 'internal error', status: 500 };
}

function keysetView(keyset: Keyset): KeysetView {
  return {
    id: keyset.keysetId,
    state: keyset.status,
    keyType: keyset.keyType,
    x509: { notBefore: new Date(keyset.notBefore).toISOString(), notAfter: new Date(keyset.notAfter).toISOString(), skid: keyset.x509.subjectKeyId },
    jwt: { kid: keyset.jwt.keyId, notAfter: new Date(keyset.notAfter).toISOString() },
    preparedAt: new Date(keyset.preparedAt).toISOString(),
    activatedAt: keyset.activatedAt === null ? null : new Date(keyset.activatedAt).toISOString(),
  };
}

function text(request: Record<string, unknown>, key: string, required = true): string | undefined {
  const value = request[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) throw new SignerRequestError('REQUEST_INVALID', `${key} must be a non-empty string`);
  return value;
}

function base64(request: Record<string, unknown>, key: string): Uint8Array | undefined {
  const value = text(request, key, false);
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]+=*$/.test(value)) throw new SignerRequestError('REQUEST_INVALID', `${key} must be base64`);
  return Buffer.from(value, 'base64');
}

/**
 * Serves the signer's request/reply contract on NATS (queue group `signer`): keysets, X.509-
 * and JWT-SVID minting for internal callers, and the current bundle.
 */
export class SignerResponders {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly ca: CaService,
    private readonly afterOperatorCommand: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const handlers: Record<SignerOperation, Handler> = {
      keyset: (r) => this.keyset(r as unknown as KeysetRequest),
      'mint-x509': (r) => this.mintX509(r as unknown as MintX509Request),
      'mint-jwt': (r) => this.mintJwt(r as unknown as MintJwtRequest),
      bundle: (r) => this.bundle(r as unknown as BundleRequest),
    };
    for (const [operation, handler] of Object.entries(handlers) as [SignerOperation, Handler][]) {
      const subscription = this.nc.subscribe(signerSubject(this.prefix, operation), {
        queue: SIGNER_QUEUE_GROUP,
        callback: (error, message) => {
          if (error !== null) return;
          void this.serve(operation, message, handler);
        },
      });
      this.subscriptions.push(subscription);
    }
  }

  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) await subscription.drain().catch(() => undefined);
  }

  private async serve(operation: SignerOperation, message: Msg, handler: Handler): Promise<void> {
    let reply: Record<string, unknown>;
    try {
      const request: unknown = JSON.parse(new TextDecoder().decode(message.data));
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new SignerRequestError('REQUEST_INVALID', 'request must be a JSON object');
      reply = { ok: true, ...(await handler(request as Record<string, unknown>)) };
    } catch (error) {
      const mapped = error instanceof SyntaxError ? { code: 'REQUEST_INVALID', message: 'request is not JSON', status: 400 as const } : toSignerError(error);
      if (mapped.status >= 500) this.logger.error({ err: error, operation }, 'signer request failed');
      reply = { ok: false, error: mapped };
    }
    message.respond(JSON.stringify(reply));
  }

  private async served(tenant: string, lookup: { deploymentId?: string; trustDomainId?: string }): Promise<ServedDeployment> {
    const deployment = await this.ca.deployment(tenant, lookup);
    if (deployment === undefined) throw new DomainError('DEPLOYMENT_NOT_SERVED', 'no managed deployment of this organization matches', 'not_found');
    return deployment;
  }

  private async keyset(request: KeysetRequest): Promise<Record<string, unknown>> {
    const deployment = await this.served(text(request as never, 'tenant') ?? '', { deploymentId: text(request as never, 'deploymentId') ?? '' });
    if (request.op !== 'list') {
      if (!['prepare', 'activate', 'taint', 'revoke'].includes(request.op)) throw new SignerRequestError('REQUEST_INVALID', `unknown op ${String(request.op)}`);
      await this.ca.operate(deployment, request.op, request.keysetId);
      await this.afterOperatorCommand();
    }
    return { keysets: (await this.ca.keysets(deployment)).map(keysetView) };
  }

  private async mintX509(request: MintX509Request): Promise<Record<string, unknown>> {
    const raw = request as unknown as Record<string, unknown>;
    const deployment = await this.served(text(raw, 'tenant') ?? '', { trustDomainId: text(raw, 'trustDomainId') ?? '' });
    const publicKey = base64(raw, 'publicKey');
    const csr = base64(raw, 'csr');
    if ((publicKey === undefined) === (csr === undefined)) throw new SignerRequestError('REQUEST_INVALID', 'give exactly one of publicKey or csr');
    const { svid, keysetId } = await this.ca.mintX509(deployment, {
      spiffeId: text(raw, 'spiffeId') ?? '',
      ...(publicKey === undefined ? {} : { publicKey }),
      ...(csr === undefined ? {} : { csr }),
      ...(request.dnsNames === undefined ? {} : { dnsNames: request.dnsNames }),
      ...(request.ttlSeconds === undefined ? {} : { ttlSeconds: request.ttlSeconds }),
    });
    return { chain: svid.chain.map((c) => c.toString('base64')), expiresAt: svid.notAfter.toISOString(), keysetId };
  }

  private async mintJwt(request: MintJwtRequest): Promise<Record<string, unknown>> {
    const raw = request as unknown as Record<string, unknown>;
    const deployment = await this.served(text(raw, 'tenant') ?? '', { trustDomainId: text(raw, 'trustDomainId') ?? '' });
    if (!Array.isArray(request.audience)) throw new SignerRequestError('AUDIENCE_REQUIRED', 'audience must be a non-empty array');
    const svid = await this.ca.mintJwt(deployment, {
      spiffeId: text(raw, 'spiffeId') ?? '',
      audience: request.audience,
      ...(request.ttlSeconds === undefined ? {} : { ttlSeconds: request.ttlSeconds }),
    });
    return { token: svid.token, expiresAt: svid.expiresAt.toISOString(), kid: svid.keyId };
  }

  private async bundle(request: BundleRequest): Promise<Record<string, unknown>> {
    const raw = request as unknown as Record<string, unknown>;
    const found = await this.ca.bundle(text(raw, 'tenant') ?? '', text(raw, 'trustDomainId') ?? '');
    if (found === undefined) throw new DomainError('BUNDLE_NOT_FOUND', 'no bundle published for this trust domain yet', 'not_found');
    return found;
  }
}
