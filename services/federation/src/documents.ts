/**
 * The public documents of a trust domain, built from its published SPIFFE bundle (pure):
 * the bundle itself (SPIFFE Trust Domain and Bundle §4), the JWKS of its JWT authorities
 * (RFC 7517, `use: sig`, so generic JOSE libraries select the keys) and the OpenID Connect
 * discovery document (OpenID Connect Discovery 1.0 §3) pointing at that JWKS.
 */
import type { SpiffeBundleDocument, SpiffeBundleKey } from '@trustplane/events';

/** JWK members that only private (or symmetric) keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Public members a published key may carry; anything else is dropped (allow-list, not deny-list). */
const PUBLIC_MEMBERS = ['kty', 'use', 'kid', 'alg', 'x5c', 'crv', 'x', 'y', 'n', 'e'] as const;

/** A public JWK as published. */
export type PublicJwk = Readonly<Partial<Record<(typeof PUBLIC_MEMBERS)[number], string | readonly string[]>>>;

/** The trust domain a document is published for. */
export interface PublishedTrustDomain {
  readonly organizationId: string;
  readonly trustDomainId: string;
  /** The SPIFFE trust domain name (`example.org`). */
  readonly trustDomain: string;
}

/** The three public documents of one trust domain. */
export interface TrustDomainDocuments {
  readonly bundle: Readonly<Record<string, unknown>>;
  readonly jwks: Readonly<Record<string, unknown>>;
  readonly discovery: Readonly<Record<string, unknown>>;
}

/** The OIDC issuer of a trust domain: `<base>/<org-id>/<td-id>`. */
export function issuerOf(publicBaseUrl: string, td: Pick<PublishedTrustDomain, 'organizationId' | 'trustDomainId'>): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/${td.organizationId}/${td.trustDomainId}`;
}

/** Copies only the public members of a key (a private member can never pass through). */
export function publicJwk(key: SpiffeBundleKey | Readonly<Record<string, unknown>>): PublicJwk {
  const source = key as Readonly<Record<string, unknown>>;
  const out: Record<string, string | readonly string[]> = {};
  for (const member of PUBLIC_MEMBERS) {
    const value = source[member];
    if (typeof value === 'string') out[member] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[member] = [...(value as string[])];
  }
  return out;
}

/** The JWS algorithm the signer uses with a JWT authority key (ES256, ES384 or RS256). */
export function jwsAlgOf(key: Pick<SpiffeBundleKey, 'kty' | 'crv'>): 'ES256' | 'ES384' | 'RS256' | undefined {
  if (key.kty === 'RSA') return 'RS256';
  if (key.kty === 'EC' && key.crv === 'P-256') return 'ES256';
  if (key.kty === 'EC' && key.crv === 'P-384') return 'ES384';
  return undefined;
}

/**
 * The SPIFFE bundle as published: `x509-svid` keys with exactly one `x5c` and no `kid`,
 * `jwt-svid` keys with a `kid`; keys that do not meet that are left out rather than published
 * malformed (the signer never produces them). Sequence and refresh hint as in the event.
 */
export function spiffeBundleOf(document: SpiffeBundleDocument): Readonly<Record<string, unknown>> {
  const keys: PublicJwk[] = [];
  for (const key of document.keys) {
    const jwk = publicJwk(key);
    if (key.use === 'x509-svid') {
      if (key.x5c?.length !== 1) continue;
      const { kid: _kid, ...withoutKid } = jwk;
      keys.push(withoutKid);
    } else if (key.use === 'jwt-svid') {
      if (typeof key.kid !== 'string' || key.kid === '') continue;
      const { x5c: _x5c, ...withoutX5c } = jwk;
      keys.push(withoutX5c);
    }
  }
  return { keys, spiffe_refresh_hint: document.spiffe_refresh_hint, spiffe_sequence: document.spiffe_sequence };
}

/** The JWT authorities as a plain JWKS: `use: sig`, `kid`, `alg` (what JOSE libraries select on). */
export function jwksOf(document: SpiffeBundleDocument): Readonly<Record<string, unknown>> {
  const keys = document.keys
    .filter((key) => key.use === 'jwt-svid' && typeof key.kid === 'string' && key.kid !== '')
    .map((key) => {
      const { x5c: _x5c, ...jwk } = publicJwk(key);
      const alg = jwsAlgOf(key);
      return { ...jwk, use: 'sig', ...(alg === undefined ? {} : { alg }) };
    });
  return { keys };
}

/**
 * The OpenID Connect discovery document: issuer, jwks_uri, `id_token` responses, `public`
 * subjects and the algorithms of the JWT authorities currently in the bundle (RS256 is listed
 * always, as OpenID Connect Discovery §3 requires it).
 */
export function discoveryOf(document: SpiffeBundleDocument, issuer: string): Readonly<Record<string, unknown>> {
  const algs = new Set<string>(['RS256']);
  for (const key of document.keys) {
    const alg = key.use === 'jwt-svid' ? jwsAlgOf(key) : undefined;
    if (alg !== undefined) algs.add(alg);
  }
  return {
    issuer,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...algs].sort(),
  };
}

/** All three documents of a trust domain. */
export function documentsOf(document: SpiffeBundleDocument, issuer: string): TrustDomainDocuments {
  return { bundle: spiffeBundleOf(document), jwks: jwksOf(document), discovery: discoveryOf(document, issuer) };
}

/** Every private JWK member found anywhere in a parsed JSON value, as `path.member` (empty = clean). */
export function privateMembersIn(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => privateMembersIn(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  for (const [name, member] of Object.entries(value as Record<string, unknown>)) {
    if ((PRIVATE_JWK_MEMBERS as readonly string[]).includes(name)) found.push(`${path}.${name}`);
    found.push(...privateMembersIn(member, `${path}.${name}`));
  }
  return found;
}
