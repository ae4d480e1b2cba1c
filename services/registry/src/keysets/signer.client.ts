import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS, ProblemError } from '@trustplane/platform';
import { signerSubject, type KeysetReply, type KeysetRequest, type KeysetView } from '@trustplane/signer-api';
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
  private readonly subject: string;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
  ) {
    this.subject = signerSubject(config.subjectPrefix, 'keyset');
  }

  /** Lists or acts on a deployment's keysets; resolves to the keysets after the operation. */
  async keyset(request: KeysetRequest): Promise<readonly KeysetView[]> {
    let data: Uint8Array;
    try {
      const message = await this.nc.request(this.subject, JSON.stringify(request), { timeout: this.config.signerTimeoutMs });
      data = message.data;
    } catch {
      // No responders, a timeout or a closed connection: the caller can retry later.
      throw new ProblemError(503, 'SIGNER_UNAVAILABLE', `no signer answered within ${this.config.signerTimeoutMs / 1000} s; retry later`);
    }
    const reply = parseReply(data);
    if (!reply.ok) {
      const { code, message, status } = reply.error;
      throw new ProblemError(SIGNER_STATUSES.has(status) ? status : 500, code, message);
    }
    return reply.keysets;
  }
}

function badReply(): ProblemError {
  return new ProblemError(500, 'SIGNER_BAD_REPLY', 'the signer answered outside its contract');
}

/** Checks the reply's shape (the signer is another process: trust nothing). */
function parseReply(data: Uint8Array): KeysetReply {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw badReply();
  }
  if (typeof value !== 'object' || value === null) throw badReply();
  const reply = value as Record<string, unknown>;
  if (reply['ok'] === true && Array.isArray(reply['keysets'])) return { ok: true, keysets: reply['keysets'] as KeysetView[] };
  const error = reply['error'] as Record<string, unknown> | undefined;
  if (reply['ok'] === false && error !== undefined && typeof error['code'] === 'string' && typeof error['message'] === 'string' && typeof error['status'] === 'number') {
    return { ok: false, error: { code: error['code'], message: error['message'], status: error['status'] as 400 } };
  }
  throw badReply();
}
