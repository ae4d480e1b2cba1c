// The signer's request/reply contract for internal callers (registry, agent API, revocation).
// JSON over NATS request/reply on `<prefix>.cmd.signer.<operation>`, queue group `signer`.
// In production these subjects are restricted by NATS permissions: only the registry and the
// agent API may publish to them (see docs/signer.md).
import { commandSubject } from '@trustplane/events';

/** Operations the signer answers. */
export const SIGNER_OPERATIONS = ['keyset', 'mint-x509', 'mint-jwt', 'bundle'] as const;
/** One operation. */
export type SignerOperation = (typeof SIGNER_OPERATIONS)[number];
/** Queue group every signer instance joins. */
export const SIGNER_QUEUE_GROUP = 'signer';

/** The subject of one signer operation. */
export function signerSubject(prefix: string, operation: SignerOperation): string {
  return commandSubject(prefix, 'signer', operation);
}

/** A refused or failed request: a stable code, a message and the HTTP-like status it maps to. */
export interface SignerError {
  readonly code: string;
  readonly message: string;
  readonly status: 400 | 403 | 404 | 409 | 500 | 503;
}

/** Every reply is either `{ok: true, ...}` or `{ok: false, error}`. */
export type SignerReply<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: SignerError };

/** A keyset as shown to operators (public facts only). */
export interface KeysetView {
  readonly id: string;
  readonly state: 'prepared' | 'active' | 'old' | 'tainted' | 'revoked' | 'dropped';
  readonly keyType: string;
  readonly x509: { readonly notBefore: string; readonly notAfter: string; readonly skid: string };
  readonly jwt: { readonly kid: string; readonly notAfter: string };
  readonly preparedAt: string;
  readonly activatedAt: string | null;
}

/** `keyset`: list, or act on the keysets of one deployment. */
export interface KeysetRequest {
  readonly op: 'list' | 'prepare' | 'activate' | 'taint' | 'revoke';
  readonly tenant: string;
  readonly deploymentId: string;
  /** Required for activate / taint / revoke. */
  readonly keysetId?: string;
}
/** Reply to `keyset`: the deployment's keysets after the operation. */
export type KeysetReply = SignerReply<{ readonly keysets: readonly KeysetView[] }>;

/** `mint-x509`: an X.509-SVID for a public key (SPKI DER, base64) or a CSR (DER, base64). */
export interface MintX509Request {
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly spiffeId: string;
  readonly publicKey?: string;
  readonly csr?: string;
  readonly dnsNames?: readonly string[];
  readonly ttlSeconds?: number;
}
/** Reply to `mint-x509`: the chain leaf-first (DER, base64). */
export type MintX509Reply = SignerReply<{ readonly chain: readonly string[]; readonly expiresAt: string; readonly keysetId: string }>;

/** `mint-jwt`: a JWT-SVID. */
export interface MintJwtRequest {
  readonly tenant: string;
  readonly trustDomainId: string;
  readonly spiffeId: string;
  readonly audience: readonly string[];
  readonly ttlSeconds?: number;
}
/** Reply to `mint-jwt`. */
export type MintJwtReply = SignerReply<{ readonly token: string; readonly expiresAt: string; readonly kid: string }>;

/** `bundle`: the current trust bundle of a trust domain. */
export interface BundleRequest {
  readonly tenant: string;
  readonly trustDomainId: string;
}
/** Reply to `bundle`: the SPIFFE bundle document (JWKS with spiffe_sequence / spiffe_refresh_hint). */
export type BundleReply = SignerReply<{ readonly sequence: number; readonly document: Readonly<Record<string, unknown>> }>;
