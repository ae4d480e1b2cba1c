/**
 * One immutable snapshot seen through the Workload API: which identities a set of selectors
 * gets, and the encoded responses for them. Matches and encoded messages are memoized per
 * snapshot, so callers with the same selectors (and callers granted the same identities) share
 * one computation and one buffer, however many streams they hold.
 */
import { createJwtAuthority, type JwtAuthority } from '@trustplane/crypto';
import { workload } from '@trustplane/proto';
import {
  parseSelector,
  parseSpiffeId,
  selectorsMatch,
  SPIFFE_SCHEME_PREFIX,
  type Selector,
} from '@trustplane/spiffe';
import { createPublicKey } from 'node:crypto';
import type { IdentitySnapshot, Jwk, TrustBundle, WorkloadIdentity } from '../identity-source.js';

/** An identity with its selectors parsed once per snapshot. */
interface PreparedIdentity {
  readonly identity: WorkloadIdentity;
  readonly selectors: readonly Selector[];
  /** Trust domain names this entry federates with (scheme stripped). */
  readonly federatesWith: readonly string[];
}

/** What one selector set is entitled to in one snapshot. */
export interface WorkloadMatch {
  /** Every identity whose selectors are a subset of the caller's, in snapshot (priority) order. */
  readonly identities: readonly WorkloadIdentity[];
  /**
   * The identities served over X.509: those with an SVID, without a repeated non-empty hint
   * (the first with a hint wins, as the spec requires hints to be unique per response).
   */
  readonly x509Identities: readonly WorkloadIdentity[];
  /** Federated trust domain names the matched entries federate with and the agent has bundles for, sorted. */
  readonly federatedTrustDomains: readonly string[];
  /** Memo key of {@link x509Identities} plus the federated set. */
  readonly x509Key: string;
  /** Memo key of the federated set. */
  readonly bundleKey: string;
}

/** Called when a snapshot holds data that cannot be served (logged by the server). */
export type ViewWarning = (message: string, details: Record<string, unknown>) => void;

/** Strips `spiffe://` from a trust domain given in either form. */
export function trustDomainName(value: string): string {
  return value.startsWith(SPIFFE_SCHEME_PREFIX) ? value.slice(SPIFFE_SCHEME_PREFIX.length) : value;
}

/** The bundle map key of the Workload API: `spiffe://<td>`. */
export function bundleKeyOf(trustDomain: string): string {
  return SPIFFE_SCHEME_PREFIX + trustDomain;
}

/** The JWS `alg` of each authority key type (as minted and as validated by @trustplane/crypto). */
const JWS_ALG: Readonly<Record<JwtAuthority['keyType'], string>> = {
  'ec-p256': 'ES256',
  'ec-p384': 'ES384',
  'rsa-2048': 'RS256',
};

/** Members of a JWK that would make it a private key; never served. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The JWKS document (`{"keys":[…]}`) of a bundle's JWT authorities: public members only, `use` jwt-svid (or absent). */
export function jwksDocument(bundle: TrustBundle): Buffer {
  const keys = bundle.jwtAuthorities
    .filter((k) => k.use === undefined || k.use === 'jwt-svid')
    .map((k) => {
      const copy: Record<string, unknown> = { ...k };
      for (const m of PRIVATE_JWK_MEMBERS) delete copy[m];
      return copy;
    });
  return Buffer.from(JSON.stringify({ keys }), 'utf8');
}

/** An immutable view of one snapshot with memoized matches and encoded responses. */
export class WorkloadView {
  private readonly prepared: readonly PreparedIdentity[];
  private readonly ownBundleDer: Buffer;
  private readonly matches = new Map<string, WorkloadMatch>();
  private readonly x509Responses = new Map<string, Buffer>();
  private readonly x509BundleResponses = new Map<string, Buffer>();
  private readonly jwtBundleResponses = new Map<string, Buffer>();
  private readonly jwtAuthorityCache = new Map<string, readonly JwtAuthority[]>();
  private readonly bundleDerCache = new Map<string, Buffer>();

  constructor(
    readonly snapshot: IdentitySnapshot,
    private readonly warn: ViewWarning = () => undefined,
  ) {
    const prepared: PreparedIdentity[] = [];
    for (const identity of snapshot.identities) {
      const selectors: Selector[] = [];
      let valid = identity.selectors.length > 0;
      for (const s of identity.selectors) {
        const parsed = parseSelector(s);
        if (parsed.ok) selectors.push(parsed.value);
        else valid = false;
      }
      if (!valid) {
        // Fail closed: an entry whose selectors cannot all be understood matches nobody.
        warn('identity with unusable selectors is not served', { entryId: identity.entryId });
        continue;
      }
      prepared.push({
        identity,
        selectors,
        federatesWith: [...new Set(identity.federatesWith.map(trustDomainName))],
      });
    }
    this.prepared = prepared;
    this.ownBundleDer = Buffer.concat(snapshot.bundle.x509Authorities as Buffer[]);
  }

  /** The identities `selectors` are entitled to; memoized by `selectorKey` (equal keys ⇔ equal selector sets). */
  match(selectorKey: string, selectors: readonly Selector[]): WorkloadMatch {
    const memo = this.matches.get(selectorKey);
    if (memo !== undefined) return memo;
    const matched = this.prepared.filter((p) => selectorsMatch(selectors, p.selectors));
    const identities = matched.map((p) => p.identity);
    const hints = new Set<string>();
    const x509Identities: WorkloadIdentity[] = [];
    for (const identity of identities) {
      if (identity.x509 === undefined) continue;
      if (identity.hint !== '') {
        if (hints.has(identity.hint)) {
          this.warn('identity dropped: hint already used by a higher-priority identity', {
            entryId: identity.entryId,
            hint: identity.hint,
          });
          continue;
        }
        hints.add(identity.hint);
      }
      x509Identities.push(identity);
    }
    const federated = new Set<string>();
    for (const p of matched) {
      for (const td of p.federatesWith) {
        if (td !== this.snapshot.trustDomain && this.snapshot.federatedBundles.has(td))
          federated.add(td);
      }
    }
    const federatedTrustDomains = [...federated].sort();
    const bundleKey = federatedTrustDomains.join(' ');
    const result: WorkloadMatch = Object.freeze({
      identities: Object.freeze(identities),
      x509Identities: Object.freeze(x509Identities),
      federatedTrustDomains: Object.freeze(federatedTrustDomains),
      x509Key: `${x509Identities.map((i) => `${i.entryId}@${i.revision}`).join(' ')}|${bundleKey}`,
      bundleKey,
    });
    this.matches.set(selectorKey, result);
    return result;
  }

  /** The encoded X509SVIDResponse for a match; undefined when it has no SVID to serve yet. */
  x509SvidResponse(match: WorkloadMatch): Buffer | undefined {
    if (match.x509Identities.length === 0) return undefined;
    const memo = this.x509Responses.get(match.x509Key);
    if (memo !== undefined) return memo;
    const message = this.x509SvidMessage(match);
    const encoded = Buffer.from(workload.X509SVIDResponse.encode(message).finish());
    this.x509Responses.set(match.x509Key, encoded);
    return encoded;
  }

  /** The X509SVIDResponse message for a match (unencoded; for tests and diagnostics). */
  x509SvidMessage(match: WorkloadMatch): workload.X509SVIDResponse {
    return {
      svids: match.x509Identities.map((identity) => ({
        spiffeId: identity.spiffeId,
        x509Svid: Buffer.concat((identity.x509?.chain ?? []) as Buffer[]),
        x509SvidKey: identity.x509?.privateKey ?? Buffer.alloc(0),
        bundle: this.bundleDerFor(identity.spiffeId),
        hint: identity.hint,
      })),
      crl: [],
      federatedBundles: this.federatedBundleMap(match),
    };
  }

  /** The encoded X509BundlesResponse: own bundle plus the match's federated bundles. */
  x509BundlesResponse(match: WorkloadMatch): Buffer {
    const memo = this.x509BundleResponses.get(match.bundleKey);
    if (memo !== undefined) return memo;
    const bundles: Record<string, Buffer> = {
      [bundleKeyOf(this.snapshot.trustDomain)]: this.ownBundleDer,
      ...this.federatedBundleMap(match),
    };
    const encoded = Buffer.from(workload.X509BundlesResponse.encode({ crl: [], bundles }).finish());
    this.x509BundleResponses.set(match.bundleKey, encoded);
    return encoded;
  }

  /** The encoded JWTBundlesResponse: JWKS of the own and the match's federated trust domains. */
  jwtBundlesResponse(match: WorkloadMatch): Buffer {
    const memo = this.jwtBundleResponses.get(match.bundleKey);
    if (memo !== undefined) return memo;
    const bundles: Record<string, Buffer> = {
      [bundleKeyOf(this.snapshot.trustDomain)]: jwksDocument(this.snapshot.bundle),
    };
    for (const td of match.federatedTrustDomains) {
      const bundle = this.snapshot.federatedBundles.get(td);
      if (bundle !== undefined) bundles[bundleKeyOf(td)] = jwksDocument(bundle);
    }
    const encoded = Buffer.from(workload.JWTBundlesResponse.encode({ bundles }).finish());
    this.jwtBundleResponses.set(match.bundleKey, encoded);
    return encoded;
  }

  /**
   * The JWT authorities a caller with this match may validate tokens of `trustDomain` with:
   * the own trust domain, or one its entries federate with. Empty when there are none.
   * JWKs that do not import (unknown key type, bad coordinates) are skipped.
   */
  jwtAuthoritiesFor(match: WorkloadMatch, trustDomain: string): readonly JwtAuthority[] {
    let bundle: TrustBundle | undefined;
    if (trustDomain === this.snapshot.trustDomain) bundle = this.snapshot.bundle;
    else if (match.federatedTrustDomains.includes(trustDomain)) {
      bundle = this.snapshot.federatedBundles.get(trustDomain);
    }
    if (bundle === undefined) return [];
    const memo = this.jwtAuthorityCache.get(trustDomain);
    if (memo !== undefined) return memo;
    const authorities: JwtAuthority[] = [];
    for (const jwk of bundle.jwtAuthorities) {
      const authority = this.importJwk(trustDomain, jwk);
      if (authority !== undefined) authorities.push(authority);
    }
    this.jwtAuthorityCache.set(trustDomain, authorities);
    return authorities;
  }

  private importJwk(trustDomain: string, jwk: Jwk): JwtAuthority | undefined {
    if (jwk.use !== undefined && jwk.use !== 'jwt-svid') return undefined;
    try {
      const publicKey = createPublicKey({ key: publicJwk(jwk), format: 'jwk' });
      const spki = publicKey.export({ format: 'der', type: 'spki' });
      const authority = createJwtAuthority({ trustDomain, publicKey: spki, keyId: jwk.kid });
      // A key that declares its algorithm must declare the one its type implies.
      if (jwk.alg !== undefined && jwk.alg !== JWS_ALG[authority.keyType]) {
        this.warn('JWT authority skipped: alg does not fit the key', { trustDomain, kid: jwk.kid });
        return undefined;
      }
      return authority;
    } catch {
      this.warn('JWT authority skipped: key does not import', { trustDomain, kid: jwk.kid });
      return undefined;
    }
  }

  private federatedBundleMap(match: WorkloadMatch): Record<string, Buffer> {
    const out: Record<string, Buffer> = {};
    for (const td of match.federatedTrustDomains) {
      const bundle = this.snapshot.federatedBundles.get(td);
      if (bundle !== undefined) out[bundleKeyOf(td)] = this.bundleDer(td, bundle);
    }
    return out;
  }

  /** The X.509 bundle of the SVID's trust domain (the own one unless the ID names a federated domain). */
  private bundleDerFor(spiffeId: string): Buffer {
    const parsed = parseSpiffeId(spiffeId);
    if (parsed.ok && parsed.value.trustDomain !== this.snapshot.trustDomain) {
      const bundle = this.snapshot.federatedBundles.get(parsed.value.trustDomain);
      if (bundle !== undefined) return this.bundleDer(parsed.value.trustDomain, bundle);
    }
    return this.ownBundleDer;
  }

  private bundleDer(trustDomain: string, bundle: TrustBundle): Buffer {
    let der = this.bundleDerCache.get(trustDomain);
    if (der === undefined) {
      der = Buffer.concat(bundle.x509Authorities as Buffer[]);
      this.bundleDerCache.set(trustDomain, der);
    }
    return der;
  }
}

/** The public members of a JWK in the shape node:crypto imports. */
function publicJwk(jwk: Jwk): import('node:crypto').JsonWebKey {
  const out: Record<string, unknown> = {};
  for (const m of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out as import('node:crypto').JsonWebKey;
}
