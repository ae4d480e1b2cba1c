import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { isPrivateInboxSubject } from '@trustplane/bus';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError } from '@trustplane/events';
import { cryptoErrorKind, isCryptoError } from '@trustplane/crypto';
import { isKeyManagerError } from '@trustplane/keymanager';
import { infrastructureFailureOf } from '@trustplane/platform';
import { isResourceId } from '@trustplane/spiffe';
import { keysetScope, SIGNER_QUEUE_GROUP, signerSubject, type KeysetRequest, type KeysetView, type SignerAuthority, type SignerError, type SignerOperation } from '@trustplane/signer-api';
import type { Keyset } from '@trustplane/ca-domain';
import type { Logger } from 'pino';
import { SignerForbiddenError, type AuthorityVerifier } from './authority.js';
import { SignerRequestError, SignerUnavailableError, type CaService, type ServedDeployment } from './ca-service.js';
import type { SignerMetrics } from './metrics.js';
import type { SecretSealer } from './sealed-secrets.js';

type Handler = (request: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** How the responders treat reply subjects. */
export interface SignerResponderOptions {
  /**
   * Also accept replies to the shared `_INBOX.` inbox. Only when the signer itself connects
   * without a NATS user (TP_NATS_ALLOW_ANONYMOUS): then there are no private inboxes at all.
   */
  readonly acceptSharedInbox: boolean;
}

/** Longest reply subject written to the log of an ignored request (it is the sender's text). */
const LOGGED_SUBJECT_MAX = 200;

/** Whether a request's reply subject is one the signer answers: a requester's private inbox. */
export function acceptsReplySubject(reply: string | undefined, options: SignerResponderOptions): boolean {
  if (isPrivateInboxSubject(reply)) return true;
  return options.acceptSharedInbox && typeof reply === 'string' && /^_INBOX\.[^*>\s]+$/.test(reply);
}

/** Maps anything thrown while serving a request to the contract's error (internals hidden). */
export function toSignerError(error: unknown): SignerError {
  if (error instanceof SignerForbiddenError) return { code: error.code, message: error.message, status: 403 };
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
  const down = infrastructureFailureOf(error);
  if (down !== undefined) return { code: down.code, message: down.detail, status: 503 };
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

/** Refuses fields the operation does not define (a request is all or nothing). */
function onlyFields(request: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(request).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new SignerRequestError('REQUEST_INVALID', `unknown fields: ${unknown.join(', ')}`);
}

function text(request: Record<string, unknown>, key: string, maxLength = 4096): string {
  const value = request[key];
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) throw new SignerRequestError('REQUEST_INVALID', `${key} must be a non-empty string`);
  return value;
}

const KEYSET_OPS: readonly KeysetRequest['op'][] = ['list', 'prepare', 'activate', 'taint', 'revoke'];

/**
 * Serves the signer's request/reply contract on NATS (queue group `signer`): keysets, the
 * current bundle and sealing of secrets. Every request is checked before any work: its
 * authority against the event log (AuthorityVerifier), the scope the operation needs, and that
 * the deployment or trust domain it names belongs to the authority's organization.
 */
export class SignerResponders {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly ca: CaService,
    private readonly authority: AuthorityVerifier,
    private readonly sealer: SecretSealer,
    private readonly afterOperatorCommand: () => Promise<void>,
    private readonly metrics: SignerMetrics,
    private readonly logger: Logger,
    private readonly options: SignerResponderOptions = { acceptSharedInbox: false },
  ) {}

  /** Subscribes every operation; resolves once the server has the subscriptions. */
  async start(): Promise<void> {
    const handlers: Record<SignerOperation, Handler> = {
      keyset: (r) => this.keyset(r),
      bundle: (r) => this.bundle(r),
      'seal-secret': (r) => this.sealSecret(r),
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
    await this.nc.flush();
  }

  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) await subscription.drain().catch(() => undefined);
  }

  private async serve(operation: SignerOperation, message: Msg, handler: Handler): Promise<void> {
    // A request is answered only on a private inbox, where only its sender listens. Anything
    // else is not a request of a service: no reply (a plain publish), or a stream message that a
    // consumer with this deliver subject pushed here (NATS 2.9 does not check a push consumer's
    // deliver subject against its creator's permissions), whose reply is JetStream's `$JS.ACK…`.
    // Such a message is not read at all: ignored, logged and counted.
    if (!acceptsReplySubject(message.reply, this.options)) {
      this.metrics.requestsRefused.inc({ operation, code: 'REPLY_NOT_PRIVATE_INBOX' });
      this.logger.warn(
        { operation, code: 'REPLY_NOT_PRIVATE_INBOX', replySubject: message.reply?.slice(0, LOGGED_SUBJECT_MAX) ?? null },
        'signer request ignored: its reply subject is not a private inbox',
      );
      return;
    }
    let reply: Record<string, unknown>;
    try {
      const request: unknown = JSON.parse(new TextDecoder().decode(message.data));
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new SignerRequestError('REQUEST_INVALID', 'request must be a JSON object');
      reply = { ok: true, ...(await handler(request as Record<string, unknown>)) };
    } catch (error) {
      const mapped = error instanceof SyntaxError ? { code: 'REQUEST_INVALID', message: 'request is not JSON', status: 400 as const } : toSignerError(error);
      if (error instanceof SignerForbiddenError) {
        this.metrics.requestsRefused.inc({ operation, code: error.code });
        this.logger.warn({ operation, code: error.code, reason: error.message }, 'signer request refused');
      } else if (mapped.status >= 500) {
        this.logger.error({ err: error, operation }, 'signer request failed');
      }
      reply = { ok: false, error: mapped };
    }
    message.respond(JSON.stringify(reply));
  }

  /** A managed deployment of the authority's organization (404 for any other, as for none). */
  private async deploymentOf(authority: SignerAuthority, deploymentId: string): Promise<ServedDeployment> {
    const deployment = isResourceId('deployment', deploymentId) ? await this.ca.deployment(authority.tenant, { deploymentId }) : undefined;
    if (deployment === undefined) throw new DomainError('DEPLOYMENT_NOT_SERVED', 'no managed deployment of this organization matches', 'not_found');
    return deployment;
  }

  private async keyset(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    onlyFields(request, ['authority', 'op', 'deploymentId', 'keysetId']);
    const op = request['op'];
    if (typeof op !== 'string' || !(KEYSET_OPS as readonly string[]).includes(op)) throw new SignerRequestError('REQUEST_INVALID', `op must be one of ${KEYSET_OPS.join(', ')}`);
    const keysetOp = op as KeysetRequest['op'];
    const authority = await this.authority.verify(request['authority'], keysetScope(keysetOp));
    const deployment = await this.deploymentOf(authority, text(request, 'deploymentId', 64));
    if (keysetOp !== 'list') {
      const keysetId = keysetOp === 'prepare' ? undefined : text(request, 'keysetId', 64);
      await this.ca.operate(deployment, keysetOp, keysetId);
      await this.afterOperatorCommand();
    }
    return { keysets: (await this.ca.keysets(deployment)).map(keysetView) };
  }

  private async bundle(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    onlyFields(request, ['authority', 'trustDomainId']);
    const authority = await this.authority.verify(request['authority'], 'trust-domains:read');
    const trustDomainId = text(request, 'trustDomainId', 64);
    // Managed trust domains, and self-hosted ones whose bundle this signer builds from their reports.
    const owned = isResourceId('trustDomain', trustDomainId) && (await this.ca.hasTrustDomain(authority.tenant, trustDomainId));
    if (!owned) throw new DomainError('TRUST_DOMAIN_NOT_SERVED', 'no trust domain of this organization matches', 'not_found');
    const found = await this.ca.bundle(authority.tenant, trustDomainId);
    if (found === undefined) throw new DomainError('BUNDLE_NOT_FOUND', 'no bundle published for this trust domain yet', 'not_found');
    return found;
  }

  private async sealSecret(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    onlyFields(request, ['authority', 'deploymentId', 'purpose', 'secret']);
    const authority = await this.authority.verify(request['authority'], 'trust-domains:write');
    if (request['purpose'] !== 'webhook-bearer-token') throw new SignerRequestError('REQUEST_INVALID', 'purpose must be webhook-bearer-token');
    const deployment = await this.deploymentOf(authority, text(request, 'deploymentId', 64));
    const deploymentId = deployment.deploymentId;
    const secretRef = await this.sealer.seal({ tenant: authority.tenant, deploymentId, purpose: 'webhook-bearer-token', secret: text(request, 'secret', 8192) });
    return { secretRef };
  }
}
