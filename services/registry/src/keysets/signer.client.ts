import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS, ProblemError } from '@trustplane/platform';
import {
  signerSubject,
  type BundleRequest,
  type KeysetRequest,
  type KeysetView,
  type SignerError,
  type SignerOperation,
} from '@trustplane/signer-api';
import type { RegistryConfig } from '../config.js';
import { REGISTRY_CONFIG } from '../tokens.js';

const SIGNER_STATUSES: ReadonlySet<number> = new Set([400, 403, 404, 409, 500, 503]);

/**
 * The signer's request/reply contract (libs/signer-api) as the registry uses it: a signer error
 * becomes a problem with the signer's status and code; no answer in time is 503
 * SIGNER_UNAVAILABLE.
 */
@Injectable()
export class SignerClient {
  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
  ) {}

  /** Lists or acts on a deployment's keysets; resolves to the keysets after the operation. */
  async keyset(request: KeysetRequest): Promise<readonly KeysetView[]> {
    const reply = await this.call('keyset', request);
    if (!Array.isArray(reply['keysets'])) throw badReply();
    return reply['keysets'] as KeysetView[];
  }

  /** The trust domain's current SPIFFE bundle document (JWKS with spiffe_sequence). */
  async bundle(request: BundleRequest): Promise<Readonly<Record<string, unknown>>> {
    const reply = await this.call('bundle', request);
    const document = reply['document'];
    if (
      typeof document !== 'object' ||
      document === null ||
      !Array.isArray((document as { keys?: unknown }).keys)
    )
      throw badReply();
    return document as Record<string, unknown>;
  }

  /** One request/reply; resolves to the fields of an `ok` reply. */
  private async call(
    operation: SignerOperation,
    request: object,
  ): Promise<Record<string, unknown>> {
    let data: Uint8Array;
    try {
      const message = await this.nc.request(
        signerSubject(this.config.subjectPrefix, operation),
        JSON.stringify(request),
        { timeout: this.config.signerTimeoutMs },
      );
      data = message.data;
    } catch {
      // No responders, a timeout or a closed connection: the caller can retry later.
      throw new ProblemError(
        503,
        'SIGNER_UNAVAILABLE',
        `no signer answered within ${this.config.signerTimeoutMs / 1000} s; retry later`,
      );
    }
    const reply = parseReply(data);
    if ('error' in reply) {
      const { code, message, status } = reply.error;
      throw new ProblemError(SIGNER_STATUSES.has(status) ? status : 500, code, message);
    }
    return reply.fields;
  }
}

function badReply(): ProblemError {
  return new ProblemError(500, 'SIGNER_BAD_REPLY', 'the signer answered outside its contract');
}

/** Checks the reply's shape (the signer is another process: trust nothing). */
function parseReply(
  data: Uint8Array,
): { fields: Record<string, unknown> } | { error: SignerError } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw badReply();
  }
  if (typeof value !== 'object' || value === null) throw badReply();
  const reply = value as Record<string, unknown>;
  if (reply['ok'] === true) return { fields: reply };
  const error = reply['error'] as Record<string, unknown> | null | undefined;
  if (
    reply['ok'] === false &&
    typeof error === 'object' &&
    error !== null &&
    typeof error['code'] === 'string' &&
    typeof error['message'] === 'string' &&
    typeof error['status'] === 'number'
  ) {
    return {
      error: {
        code: error['code'],
        message: error['message'],
        status: error['status'] as SignerError['status'],
      },
    };
  }
  throw badReply();
}
