/**
 * What every conversation of the agent with the signer's agent API shares: the client with its
 * SNI and keepalive settings, the check that the server is the trust domain's signer, unary calls
 * as promises, node-local key generation, and what of an error may be logged.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { agentApi, agentApiSni } from '@trustplane/proto';

/** Deadline of unary calls to the signer. */
export const CALL_DEADLINE_MS = 5_000;
/** Longest reconnect / re-attestation backoff. */
export const MAX_BACKOFF_MS = 15_000;

/** Where the signer is and who it must be. */
export interface SignerAddress {
  /** `host:port` of the signer's agent API. */
  readonly serverAddress: string;
  /** Trust domain ID (`td-…`): selects the signer's certificate by SNI. */
  readonly trustDomainId: string;
  /** Trust domain name: the signer must present `spiffe://<name>/trustplane/server`. */
  readonly trustDomain: string;
}

/** TLS credentials of a connection to the signer. */
export type ChannelCredentials = ReturnType<typeof credentials.createSsl>;

/** Refuses a server certificate that is not the trust domain's signer SVID. */
export function serverIdentityCheck(
  trustDomain: string,
): (hostname: string, cert: { subjectaltname?: string }) => Error | undefined {
  const expected = `URI:spiffe://${trustDomain}/trustplane/server`;
  return (_hostname, cert) => {
    const sans = (cert.subjectaltname ?? '').split(', ');
    return sans.includes(expected)
      ? undefined
      : new Error(`the signer did not present ${expected.slice(4)}`);
  };
}

/** An agent API client for `address` over `creds`. */
export function agentApiClient(
  address: SignerAddress,
  creds: ChannelCredentials,
): agentApi.AgentAPIClient {
  const sni = agentApiSni(address.trustDomainId);
  return new agentApi.AgentAPIClient(address.serverAddress, creds, {
    'grpc.ssl_target_name_override': sni,
    'grpc.default_authority': sni,
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 5_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

/** A unary call as a promise. */
export function unaryCall<T>(
  start: (cb: (error: ServiceError | null, value?: T) => void) => unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => {
      if (error !== null) reject(error);
      else if (value === undefined) reject(new Error('empty response'));
      else resolve(value);
    });
  });
}

/** A new EC P-256 key pair, generated on this node. */
export function newKey(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) =>
    generateKeyPair('ec', { namedCurve: 'P-256' }, (error, publicKey, privateKey) =>
      error ? reject(error) : resolve({ publicKey, privateKey }),
    ),
  );
}

/** What of an error may be logged: code and message, never request data. */
export function redact(error: unknown): Record<string, unknown> {
  if (error !== null && typeof error === 'object') {
    const e = error as Partial<ServiceError>;
    return {
      code: e.code === undefined ? undefined : status[e.code],
      message: e.details ?? e.message,
    };
  }
  return { message: String(error) };
}
