import { signDeploymentAssertion, type DeploymentAssertionInput } from './assertion.js';
import { EXCHANGE_PATH } from './contract.js';
import { AuthClientError } from './errors.js';

/** A control-plane credential as the exchange returns it. */
export interface ControlPlaneCredential {
  /** The JWT to send as `Authorization: Bearer …` to the control plane's sync routes. */
  readonly credential: string;
  readonly expiresAt: Date;
  readonly deploymentId: string;
  readonly trustDomainId: string;
  readonly organizationId: string;
}

/** Options of {@link fetchControlPlaneCredential}. */
export interface FetchCredentialOptions extends Omit<DeploymentAssertionInput, 'jti'> {
  /** Give up after this long (default 10 s). */
  readonly timeoutMs?: number;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
}

/**
 * Signs a fresh assertion with the deployment key and exchanges it at
 * `<baseUrl>/api/v1/auth/deployment-credentials` (the auth service, or the registry that
 * forwards to it). A refusal throws EXCHANGE_REFUSED with the server's status and code.
 */
export async function fetchControlPlaneCredential(baseUrl: string, options: FetchCredentialOptions): Promise<ControlPlaneCredential> {
  const assertion = signDeploymentAssertion(options);
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(new URL(EXCHANGE_PATH, baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ assertion }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new AuthClientError('EXCHANGE_FAILED', `the credential exchange at ${baseUrl} could not be reached`, { cause });
  }
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok) {
    const serverCode = typeof body?.['code'] === 'string' ? body['code'] : undefined;
    const detail = typeof body?.['detail'] === 'string' ? `: ${body['detail']}` : '';
    throw new AuthClientError('EXCHANGE_REFUSED', `the control plane refused the exchange (${response.status} ${serverCode ?? ''})${detail}`, {
      status: response.status,
      ...(serverCode === undefined ? {} : { serverCode }),
    });
  }
  const fields = ['credential', 'expiresAt', 'deploymentId', 'trustDomainId', 'organizationId'] as const;
  if (body === undefined || fields.some((field) => typeof body[field] !== 'string')) {
    throw new AuthClientError('EXCHANGE_FAILED', 'the exchange answered without a credential');
  }
  return {
    credential: String(body['credential']),
    expiresAt: new Date(String(body['expiresAt'])),
    deploymentId: String(body['deploymentId']),
    trustDomainId: String(body['trustDomainId']),
    organizationId: String(body['organizationId']),
  };
}
