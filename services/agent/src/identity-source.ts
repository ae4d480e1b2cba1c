/**
 * The seam between the two halves of the node agent.
 *
 * The agent core (node attestation, mTLS to the signer, entry sync, CSR signing) produces
 * identities; the Workload API (this package's `workload/`) serves them to local workloads.
 * The core implements {@link IdentitySource}; the Workload API only reads snapshots, listens
 * for changes and asks for JWT-SVIDs. Nothing else crosses this boundary.
 */

/**
 * A public JSON Web Key (RFC 7517) of a JWT authority, as published in the trust domain's
 * bundle (`use: jwt-svid`). `kid` is required: JWT-SVIDs name their signing key by it.
 * Private members (`d`, `p`, …) must never be present; the Workload API strips them anyway.
 */
export interface Jwk {
  /** Key ID, matched against the `kid` header of JWT-SVIDs. */
  readonly kid: string;
  /** Key type: `EC` or `RSA`. */
  readonly kty: string;
  /** Further members (`crv`, `x`, `y`, `n`, `e`, `use`, `alg`, …). */
  readonly [member: string]: unknown;
}

/** The trust anchors of one trust domain. */
export interface TrustBundle {
  /** X.509 authorities: CA certificates, DER, in bundle order. */
  readonly x509Authorities: readonly Buffer[];
  /** JWT authorities: public JWKs, each with `kid`. */
  readonly jwtAuthorities: readonly Jwk[];
}

/** The X.509-SVID of an identity, held by the agent. */
export interface X509SvidMaterial {
  /** Certificate chain, DER, leaf first (intermediates may follow; the root is not required). */
  readonly chain: readonly Buffer[];
  /**
   * The leaf's private key, PKCS#8 DER, unencrypted. Generated on this node (EC P-256) and
   * never sent anywhere but to the entitled workload over the local socket.
   */
  readonly privateKey: Buffer;
  /** notAfter of the leaf. */
  readonly expiresAt: Date;
}

/** One registration entry that applies to workloads on this node, with its credentials. */
export interface WorkloadIdentity {
  /** Registration entry ID (`e-…`); unique within a snapshot. */
  readonly entryId: string;
  /** The SPIFFE ID the entry grants, `spiffe://<td>/<path>`. */
  readonly spiffeId: string;
  /**
   * Workload selectors in canonical `type:value` form (e.g. `unix:uid:1000`). A workload gets
   * this identity when every one of these is among its own selectors; an identity with no
   * selectors (or one that does not parse) matches nobody.
   */
  readonly selectors: readonly string[];
  /** Trust domain names (e.g. `partner.example`) whose bundles workloads of this entry receive. */
  readonly federatesWith: readonly string[];
  /** Operator hint for workloads holding several identities (`''` for none). */
  readonly hint: string;
  /** The current X.509-SVID; undefined until it has been minted (the identity is then not served over X.509). */
  readonly x509: X509SvidMaterial | undefined;
  /** Monotonic revision of the entry (or of its SVID); changes whenever this object's content does. */
  readonly revision: number;
}

/**
 * Everything the Workload API serves, at one point in time. Immutable: the source replaces
 * the whole snapshot on every change rather than editing it.
 */
export interface IdentitySnapshot {
  /** This node's trust domain name (no scheme), e.g. `example.org`. */
  readonly trustDomain: string;
  /** The bundle of {@link trustDomain}. */
  readonly bundle: TrustBundle;
  /** Bundles of federated trust domains, keyed by trust domain name (no scheme). */
  readonly federatedBundles: ReadonlyMap<string, TrustBundle>;
  /**
   * Identities for workloads on this node, in priority order: when a workload matches several,
   * the first is its default identity.
   */
  readonly identities: readonly WorkloadIdentity[];
}

/** A JWT-SVID minted by the signer. */
export interface MintedJwtSvid {
  /** The JWS compact serialization. */
  readonly token: string;
  /** The token's `exp`. */
  readonly expiresAt: Date;
}

/** What the Workload API needs from the agent core. */
export interface IdentitySource {
  /** The current snapshot; cheap (returns the held object, never copies). */
  snapshot(): IdentitySnapshot;
  /**
   * Registers a listener called (synchronously, with no arguments) after the snapshot was
   * replaced: rotation, new or removed entry, bundle change. Returns the unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /**
   * Mints a JWT-SVID for `spiffeId` (one of the snapshot's identities) with these audiences
   * (non-empty, deduplicated and sorted by the caller). The core asks the signer; the Workload
   * API caches the result until half of its lifetime has passed.
   */
  mintJwtSvid(spiffeId: string, audience: readonly string[]): Promise<MintedJwtSvid>;
}

/** An empty snapshot for a trust domain: no identities, no authorities. */
export function emptySnapshot(trustDomain: string): IdentitySnapshot {
  return {
    trustDomain,
    bundle: { x509Authorities: [], jwtAuthorities: [] },
    federatedBundles: new Map(),
    identities: [],
  };
}

/** Mints a JWT-SVID; plugged into {@link StaticIdentitySource}. */
export type JwtSvidMinter = (
  spiffeId: string,
  audience: readonly string[],
) => Promise<MintedJwtSvid>;

/**
 * An in-memory {@link IdentitySource}: holds a snapshot set from outside and notifies listeners
 * when it is replaced. Used by tests, and a base the agent core may build on.
 */
export class StaticIdentitySource implements IdentitySource {
  private current: IdentitySnapshot;
  private readonly listeners = new Set<() => void>();

  constructor(
    initial: IdentitySnapshot,
    private readonly minter: JwtSvidMinter = () =>
      Promise.reject(new Error('this identity source cannot mint JWT-SVIDs')),
  ) {
    this.current = initial;
  }

  snapshot(): IdentitySnapshot {
    return this.current;
  }

  /** Replaces the snapshot and notifies every listener. */
  set(snapshot: IdentitySnapshot): void {
    this.current = snapshot;
    this.emit();
  }

  /** Replaces the snapshot with `change(current)` and notifies every listener. */
  update(change: (current: IdentitySnapshot) => IdentitySnapshot): void {
    this.set(change(this.current));
  }

  /** Notifies listeners without changing the snapshot (e.g. after an in-place rebuild upstream). */
  emit(): void {
    for (const listener of [...this.listeners]) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  mintJwtSvid(spiffeId: string, audience: readonly string[]): Promise<MintedJwtSvid> {
    return this.minter(spiffeId, audience);
  }
}
