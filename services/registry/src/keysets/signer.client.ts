import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusConnectionState, LOGGER, METRICS, NATS, ProblemError, RetryableProblemError, INFRASTRUCTURE_RETRY_AFTER_SECONDS, type ServiceMetrics } from '@trustplane/platform';
import {
  signerSubject,
  type ApiTokenAuthority,
  type BundleRequest,
  type KeysetRequest,
  type KeysetView,
  type SealSecretRequest,
  type SignerError,
  type SignerOperation,
} from '@trustplane/signer-api';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Principal } from '../auth/principal.js';
import type { RegistryConfig } from '../config.js';
import { REGISTRY_CONFIG } from '../tokens.js';

const SIGNER_STATUSES: ReadonlySet<number> = new Set([400, 403, 404, 409, 500, 503]);
const FAILURES_METRIC = 'tp_registry_signer_call_failures_total';

/** The authority a request carries: the caller's authenticated principal, never its secret. */
export function authorityOf(principal: Principal): ApiTokenAuthority {
  return { kind: 'api-token', tenant: principal.tenant, tokenId: principal.tokenId, scopes: [...principal.scopes] };
}

/** Why a request got no usable answer (nats.js error names), as a metric label. */
export function failureReason(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  const check = error as Error & { isNoResponders?: () => boolean };
  if (typeof check.isNoResponders === 'function' && check.isNoResponders()) return 'no_responders';
  const names = [error.name, error.cause instanceof Error ? error.cause.name : ''];
  if (names.includes('TimeoutError')) return 'timeout';
  if (names.includes('PermissionViolationError')) return 'permission_denied';
  if (names.includes('ClosedConnectionError') || names.includes('DrainingConnectionError')) return 'disconnected';
  return 'error';
}

/**
 * The signer's request/reply contract (libs/signer-api) as the registry uses it. Every request
 * carries the caller's authority (the signer re-checks it). A signer error becomes a problem
 * with the signer's status and code; no answer (no responders, a timeout, a closed connection)
 * is 503 SIGNER_UNAVAILABLE, and its cause is logged and counted
 * (`tp_registry_signer_call_failures_total{operation, reason}`), never swallowed.
 */
@Injectable()
export class SignerClient {
  private readonly failures: Counter<'operation' | 'reason'>;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: ServiceMetrics,
    private readonly bus: BusConnectionState,
  ) {
    const existing = metrics.registry.getSingleMetric(FAILURES_METRIC);
    this.failures =
      (existing as Counter<'operation' | 'reason'> | undefined) ??
      new Counter({ name: FAILURES_METRIC, help: 'Signer requests that got no usable answer', labelNames: ['operation', 'reason'], registers: [metrics.registry] });
  }

  /** Lists or acts on a deployment's keysets; resolves to the keysets after the operation. */
  async keyset(principal: Principal, request: Omit<KeysetRequest, 'authority'>): Promise<readonly KeysetView[]> {
    const reply = await this.call('keyset', { ...request, authority: authorityOf(principal) });
    if (!Array.isArray(reply['keysets'])) throw this.badReply('keyset');
    return reply['keysets'] as KeysetView[];
  }

  /** The trust domain's current SPIFFE bundle document (JWKS with spiffe_sequence). */
  async bundle(principal: Principal, request: Omit<BundleRequest, 'authority'>): Promise<Readonly<Record<string, unknown>>> {
    const reply = await this.call('bundle', { ...request, authority: authorityOf(principal) });
    const document = reply['document'];
    if (typeof document !== 'object' || document === null || !Array.isArray((document as { keys?: unknown }).keys)) throw this.badReply('bundle');
    return document as Record<string, unknown>;
  }

  /** Has the signer seal a secret given through the API; resolves to its reference (`sec-…`). */
  async sealSecret(principal: Principal, request: Omit<SealSecretRequest, 'authority'>): Promise<string> {
    const reply = await this.call('seal-secret', { ...request, authority: authorityOf(principal) });
    const ref = reply['secretRef'];
    if (typeof ref !== 'string' || !/^sec-[0-9a-f]{20}$/.test(ref)) throw this.badReply('seal-secret');
    return ref;
  }

  /** One request/reply; resolves to the fields of an `ok` reply. */
  private async call(operation: SignerOperation, request: object): Promise<Record<string, unknown>> {
    let data: Uint8Array;
    const down = this.bus.problem();
    if (down !== undefined) {
      // Known down: answer now rather than after the request timeout.
      this.failures.inc({ operation, reason: 'disconnected' });
      this.logger.warn({ operation, reason: 'disconnected', cause: down }, 'signer request not sent: NATS is disconnected');
      throw new RetryableProblemError(503, 'SIGNER_UNAVAILABLE', 'the signer cannot be reached right now (NATS is disconnected); retry', INFRASTRUCTURE_RETRY_AFTER_SECONDS);
    }
    try {
      const message = await this.nc.request(signerSubject(this.config.subjectPrefix, operation), JSON.stringify(request), { timeout: this.config.signerTimeoutMs });
      data = message.data;
    } catch (error) {
      // No responders, a timeout or a closed connection: the caller can retry later.
      const reason = failureReason(error);
      this.failures.inc({ operation, reason });
      this.logger.warn({ err: error, operation, reason }, 'signer request got no answer');
      throw new ProblemError(503, 'SIGNER_UNAVAILABLE', `no signer answered within ${this.config.signerTimeoutMs / 1000} s; retry later`);
    }
    const reply = parseReply(data);
    if (reply === undefined) throw this.badReply(operation);
    if ('error' in reply) {
      const { code, message, status } = reply.error;
      throw new ProblemError(SIGNER_STATUSES.has(status) ? status : 500, code, message);
    }
    return reply.fields;
  }

  private badReply(operation: SignerOperation): ProblemError {
    this.failures.inc({ operation, reason: 'bad_reply' });
    this.logger.error({ operation }, 'the signer answered outside its contract');
    return new ProblemError(500, 'SIGNER_BAD_REPLY', 'the signer answered outside its contract');
  }
}

/** Checks the reply's shape (the signer is another process: trust nothing); undefined when off contract. */
function parseReply(data: Uint8Array): { fields: Record<string, unknown> } | { error: SignerError } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const reply = value as Record<string, unknown>;
  if (reply['ok'] === true) return { fields: reply };
  const error = reply['error'] as Record<string, unknown> | null | undefined;
  if (reply['ok'] === false && typeof error === 'object' && error !== null && typeof error['code'] === 'string' && typeof error['message'] === 'string' && typeof error['status'] === 'number') {
    return { error: { code: error['code'], message: error['message'], status: error['status'] as SignerError['status'] } };
  }
  return undefined;
}
