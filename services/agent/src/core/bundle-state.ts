/**
 * The trust bundles the agent holds, read from the signer's bundle stream: its own trust
 * domain's X.509 and JWT authorities, the federated bundles (empty until federation
 * relationships exist), and the X.509 authorities the signer has tainted. Pure.
 */
import { X509Certificate } from 'node:crypto';
import type { agentApi } from '@trustplane/proto';
import type { Jwk, TrustBundle } from '../identity-source.js';

/** One message of the bundle stream, decoded. */
export interface BundleUpdate {
  /** The own trust domain's bundle; absent when the message carried none. */
  readonly own: TrustBundle | undefined;
  /** Bundles of federated trust domains, by trust domain name. */
  readonly federated: ReadonlyMap<string, TrustBundle>;
  /** X.509 authorities whose certificates must be replaced now. */
  readonly tainted: TaintedAuthorities;
}

/** Decodes a StreamBundlesResponse; throws BundleDecodeError when any bundle in it is unreadable. */
export function readBundleUpdate(message: agentApi.StreamBundlesResponse): BundleUpdate {
  const own = message.bundle;
  const federated = new Map<string, TrustBundle>();
  for (const b of message.federatedBundles) {
    federated.set(b.trustDomain, {
      x509Authorities: b.x509Authorities,
      jwtAuthorities: parseJwks(b.jwtAuthorities, b.trustDomain),
    });
  }
  return {
    own:
      own === undefined
        ? undefined
        : { x509Authorities: own.x509Authorities, jwtAuthorities: parseJwks(own.jwtAuthorities, own.trustDomain) },
    federated,
    tainted: new TaintedAuthorities(message.taintedX509Authorities.map((der) => new X509Certificate(der))),
  };
}

/** Whether two bundles hold the same authorities (same DER certificates, same JWKs, in order). */
export function sameBundle(a: TrustBundle, b: TrustBundle): boolean {
  return (
    a.x509Authorities.length === b.x509Authorities.length &&
    a.x509Authorities.every((x, i) => b.x509Authorities[i]?.equals(x) === true) &&
    JSON.stringify(a.jwtAuthorities) === JSON.stringify(b.jwtAuthorities)
  );
}

/** The X.509 authorities the signer tainted. */
export class TaintedAuthorities {
  constructor(private readonly authorities: readonly X509Certificate[]) {}

  get empty(): boolean {
    return this.authorities.length === 0;
  }

  /** Whether `issuer` (the CA certificate that signed an SVID) is tainted. */
  includes(issuer: X509Certificate): boolean {
    return this.authorities.some((t) => t.fingerprint256 === issuer.fingerprint256);
  }

  /** Whether a tainted authority issued `leaf` (checked by signature, not by name alone). */
  issued(leaf: X509Certificate): boolean {
    return this.authorities.some((t) => leaf.checkIssued(t) && leaf.verify(t.publicKey));
  }
}

/** A bundle the signer sent that cannot be read; the agent keeps the bundles it holds. */
export class BundleDecodeError extends Error {
  override readonly name = 'BundleDecodeError';
  readonly code = 'JWT_BUNDLE_UNREADABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The JWKs with a `kid` of a JWKS document. An empty document means "no JWT authorities"; a
 * document that is not JSON or has no `keys` array is not an empty bundle: it throws
 * BundleDecodeError (taking it for an empty one would make every JWT-SVID fail validation).
 */
export function parseJwks(document: Buffer, trustDomain = 'the bundle'): Jwk[] {
  if (document.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(document.toString('utf8'));
  } catch (cause) {
    throw new BundleDecodeError(`the JWT authorities of ${trustDomain} are not JSON`, { cause });
  }
  const keys = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw new BundleDecodeError(`the JWT authorities of ${trustDomain} have no "keys" array`);
  return keys.filter(
    (k): k is Jwk =>
      typeof k === 'object' && k !== null && typeof (k as { kid?: unknown }).kid === 'string',
  );
}
