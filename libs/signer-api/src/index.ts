// The signer's request/reply contract for internal callers (today: the registry). JSON over NATS
// request/reply on `<prefix>.cmd.signer.<operation>`, queue group `signer`. Every request carries
// the caller's authority and the signer re-checks it (see docs/security.md, "Signer requests"):
// NATS permissions decide who may send a request at all, the authority decides what it may do.
import { commandSubject, type ApiScope } from '@trustplane/events';
import { isResourceId } from '@trustplane/spiffe';

/**
 * Operations the signer answers. There is no minting operation: SVIDs are minted only on the
 * agent API (mTLS, entries authorize every SPIFFE ID), never for a request off the bus.
 */
export const SIGNER_OPERATIONS = ['keyset', 'bundle', 'seal-secret'] as const;
/** One operation. */
export type SignerOperation = (typeof SIGNER_OPERATIONS)[number];
/** Queue group every signer instance joins. */
export const SIGNER_QUEUE_GROUP = 'signer';

/** The subject of one signer operation. */
export function signerSubject(prefix: string, operation: SignerOperation): string {
  return commandSubject(prefix, 'signer', operation);
}

/**
 * On whose behalf a request is made: the registry's authenticated principal, an API token of
 * one organization with the scopes it holds. The signer checks it against the event log (the
 * token exists in that organization, is neither revoked nor expired, holds at least the scopes
 * claimed) and then checks the scope the operation needs; the tenant of the request is the
 * authority's, never a field of its own.
 */
export interface ApiTokenAuthority {
  readonly kind: 'api-token';
  /** The organization (`t-…`). */
  readonly tenant: string;
  /** The API token (`tok-…`), never its secret. */
  readonly tokenId: string;
  /** The scopes the registry found on the token. */
  readonly scopes: readonly ApiScope[];
}
/** Every kind of authority a signer request may carry. */
export type SignerAuthority = ApiTokenAuthority;

const API_SCOPE_VALUES: readonly ApiScope[] = ['trust-domains:read', 'trust-domains:write', 'entries:read', 'entries:write', 'tokens:write', 'admin', 'deployments:write', 'audit:read'];

/**
 * Checks the shape of an authority taken off the wire (no I/O: whether the token exists is
 * the signer's next step). Returns why it is unusable, or the typed authority.
 */
export function parseAuthority(value: unknown): { readonly ok: true; readonly authority: SignerAuthority } | { readonly ok: false; readonly reason: string } {
  if (value === undefined || value === null) return { ok: false, reason: 'the request carries no authority' };
  if (typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'authority must be an object' };
  const raw = value as Record<string, unknown>;
  const unknownKeys = Object.keys(raw).filter((k) => !['kind', 'tenant', 'tokenId', 'scopes'].includes(k));
  if (unknownKeys.length > 0) return { ok: false, reason: `authority has unknown fields: ${unknownKeys.join(', ')}` };
  if (raw['kind'] !== 'api-token') return { ok: false, reason: 'authority.kind must be api-token' };
  if (typeof raw['tenant'] !== 'string' || !isResourceId('organization', raw['tenant'])) return { ok: false, reason: 'authority.tenant must be an organization id' };
  if (typeof raw['tokenId'] !== 'string' || !isResourceId('apiToken', raw['tokenId'])) return { ok: false, reason: 'authority.tokenId must be an API token id' };
  const scopes = raw['scopes'];
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > API_SCOPE_VALUES.length || !scopes.every((s): s is ApiScope => (API_SCOPE_VALUES as readonly unknown[]).includes(s))) {
    return { ok: false, reason: 'authority.scopes must list known scopes' };
  }
  return { ok: true, authority: { kind: 'api-token', tenant: raw['tenant'], tokenId: raw['tokenId'], scopes: [...new Set(scopes)] } };
}

/** True when `scopes` grant `required` (`admin` grants everything). */
export function scopesAllow(scopes: readonly ApiScope[], required: ApiScope): boolean {
  return scopes.includes('admin') || scopes.includes(required);
}

/** The scope a keyset operation needs: reading lists, every change writes. */
export function keysetScope(op: KeysetRequest['op']): ApiScope {
  return op === 'list' ? 'trust-domains:read' : 'trust-domains:write';
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

/** `keyset`: list (`trust-domains:read`), or act on (`trust-domains:write`) the keysets of one deployment of the authority's organization. */
export interface KeysetRequest {
  readonly authority: SignerAuthority;
  readonly op: 'list' | 'prepare' | 'activate' | 'taint' | 'revoke';
  readonly deploymentId: string;
  /** Required for activate / taint / revoke. */
  readonly keysetId?: string;
}
/** Reply to `keyset`: the deployment's keysets after the operation. */
export type KeysetReply = SignerReply<{ readonly keysets: readonly KeysetView[] }>;

/** `bundle` (`trust-domains:read`): the current trust bundle of a trust domain of the authority's organization. */
export interface BundleRequest {
  readonly authority: SignerAuthority;
  readonly trustDomainId: string;
}
/** Reply to `bundle`: the SPIFFE bundle document (JWKS with spiffe_sequence / spiffe_refresh_hint). */
export type BundleReply = SignerReply<{ readonly sequence: number; readonly document: Readonly<Record<string, unknown>> }>;

/** What a sealed secret is for (the signer uses it for nothing else). */
export type SealedSecretPurpose = 'webhook-bearer-token';

/**
 * `seal-secret` (`trust-domains:write`): the signer seals a secret given through the API (AES-256-GCM
 * under a key derived from its key-encryption key), stores it bound to the authority's
 * organization and the deployment, and answers a reference. Config sections carry the
 * reference, never the secret.
 */
export interface SealSecretRequest {
  readonly authority: SignerAuthority;
  readonly deploymentId: string;
  readonly purpose: SealedSecretPurpose;
  readonly secret: string;
}
/** Reply to `seal-secret`: the reference to put in the config section (`sec-…`). */
export type SealSecretReply = SignerReply<{ readonly secretRef: string }>;
