/** Why an assertion, an exchange or a control-plane credential was refused. */
export type AuthClientErrorCode =
  /** signDeploymentAssertion was given something unusable (no Ed25519 key, bad ids, bad TTL). */
  | 'ASSERTION_INPUT_INVALID'
  /** The auth service refused the exchange; `status` and `serverCode` say how. */
  | 'EXCHANGE_REFUSED'
  /** The auth service could not be reached or answered something that is not a credential. */
  | 'EXCHANGE_FAILED'
  /** The credential is not a compact JWS, or its header or claims are not the contract's. */
  | 'CREDENTIAL_MALFORMED'
  /** Its `alg` is not one the control plane signs with (`none` and HMAC are never accepted). */
  | 'CREDENTIAL_ALG_UNSUPPORTED'
  /** No verification key with its `kid`, even after refetching the JWKS. */
  | 'CREDENTIAL_KEY_UNKNOWN'
  /** The signature does not verify. */
  | 'CREDENTIAL_SIGNATURE_INVALID'
  /** `exp` has passed. */
  | 'CREDENTIAL_EXPIRED'
  /** `iss` or `aud` is not the control plane. */
  | 'CREDENTIAL_AUDIENCE_INVALID'
  /** The verification keys (the auth service's JWKS) could not be fetched: retry later. */
  | 'CREDENTIAL_KEYS_UNAVAILABLE';

/** A typed failure of this library (stable `code`, cause chained). */
export class AuthClientError extends Error {
  override readonly name = 'AuthClientError';
  constructor(
    readonly code: AuthClientErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; serverCode?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.serverCode = options.serverCode;
  }
  /** HTTP status of a refused exchange. */
  readonly status: number | undefined;
  /** The problem+json `code` of a refused exchange. */
  readonly serverCode: string | undefined;
}

/** True when `error` is an {@link AuthClientError} (with `code`, when given). */
export function isAuthClientError(error: unknown, code?: AuthClientErrorCode): error is AuthClientError {
  return error instanceof AuthClientError && (code === undefined || error.code === code);
}
