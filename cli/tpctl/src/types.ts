// The REST resources tpctl reads, as docs/api.md describes them (camelCase JSON). Only what the
// CLI renders is typed strictly; `--output json` prints the server's JSON untouched anyway.

/** Public endpoints of a trust domain; null for those not served (yet). */
export interface TrustDomainEndpoints {
  /** Where agents reach the trust-domain server. */
  agent: string | null;
  /** The SPIFFE bundle endpoint. */
  bundle: string | null;
  /** The `iss` of JWT-SVIDs. */
  jwtIssuer: string | null;
  /** The JWKS endpoint. */
  jwks: string | null;
  /** The OIDC discovery document. */
  oidcDiscovery: string | null;
}

/** A trust domain (`GET /trust-domains/{idOrName}`). */
export interface TrustDomain {
  /** `td-…` */
  id: string;
  /** The trust domain name, e.g. `example.org`. */
  name: string;
  /** Free text, possibly empty. */
  description: string | null;
  /** Managed by TrustPlane or served by the operator's own deployments. */
  kind: 'managed' | 'self-hosted';
  /** Lifecycle state. */
  status: string;
  /** Number of clusters. */
  clusters: number;
  /** Number of deployments (docs/api.md: the deployments themselves when `showDeployments=true`). */
  deployments: number | Deployment[];
  /** The deployments, as the registry sends them with `showDeployments=true`. */
  deploymentList?: Deployment[];
  /** Number of federation relationships. */
  federations: number;
  /** Clusters not disabled (older servers: absent). */
  activeClusters?: number;
  /** Federation relationships in effect (older servers: absent). */
  activeFederations?: number;
  /** RFC 3339 creation time. */
  createdAt: string;
  /** RFC 3339 time of the last change. */
  updatedAt: string;
  /** Public endpoints. */
  endpoints?: Partial<TrustDomainEndpoints> | null;
}

/** A deployment of a trust-domain server. */
export interface Deployment {
  /** `tdd-…` */
  id: string;
  /** The trust domain it serves. */
  trustDomainId: string;
  /** The trust domain's name (lists across trust domains, single reads). */
  trustDomainName?: string;
  /** The one deployment of a managed trust domain. */
  managed?: boolean;
  /**
   * Whether the deployment applied the current configuration (self-hosted deployments report
   * it): `Up to date`, `Pending` or `Unknown`; absent until the server has the read model.
   */
  configurationState?: string | null;
  /** RFC 3339 time the deployment last reported applying configuration, or null. */
  lastConfiguredAt?: string | null;
  /** Deployment name. */
  name: string;
  /** Region label, possibly empty. */
  region: string | null;
  /** Number of the deployment's CA keysets that sign now. */
  activeKeys: number;
  /** RFC 3339 creation time. */
  createdAt: string;
  /** RFC 3339 time of the last change. */
  updatedAt: string;
}

/** A cluster of agents. */
export interface Cluster {
  /** `c-…` */
  id: string;
  /** The trust domain it belongs to. */
  trustDomainId: string;
  /** Cluster name. */
  name: string;
  /** Where its agents run. */
  platform: 'k8s' | 'linux' | 'vm' | 'other';
  /** Free text, possibly empty. */
  description: string | null;
  /** Whether agents may still attest. */
  status: 'active' | 'disabled';
  /** Cluster config versions, oldest first. */
  configVersions: { id: string; createdAt: string }[];
  /** RFC 3339 creation time. */
  createdAt: string;
  /** RFC 3339 time of the last change. */
  updatedAt: string;
}

/** A cluster attestation key's private half, returned only by `cluster create`. */
export interface ClusterKey {
  /** `ck-…` */
  keyId: string;
  /** Ed25519 private key, PKCS#8 PEM; shown once, never stored by the server. */
  privateKey: string;
}

/** The answer of `POST …/clusters`: the cluster and its first key. */
export interface CreatedCluster extends Cluster {
  /** Shown once. */
  clusterKey?: ClusterKey;
}

/** A join token as returned once at creation. */
export interface CreatedJoinToken {
  /** `jt-…` */
  id: string;
  /** `tpjt_<jt-…>_<secret>`; shown once. */
  token: string;
  /** The cluster the joining agent belongs to. */
  clusterId: string;
  /** The cluster's trust domain. */
  trustDomainId: string;
  /** RFC 3339 time after which the token is refused. */
  expiresAt: string;
  /** RFC 3339 creation time. */
  createdAt: string;
}

/** A node agent, as attested by the signer. */
export interface Agent {
  /** `ag-…`, derived from cluster and node name. */
  id: string;
  /** The trust domain it belongs to. */
  trustDomainId: string;
  /** Its cluster's id. */
  clusterId: string;
  /** Its cluster's name. */
  clusterName: string;
  /** The node name it attested with. */
  nodeName: string;
  /** `spiffe://<td>/agent/<cluster>/<node>` */
  spiffeId: string;
  /** How it attested. */
  method: 'join_token' | 'cluster_key';
  /** Serial number of its current SVID. */
  serialNumber: string;
  /** RFC 3339 expiry of its current SVID. */
  expiresAt: string;
  /** Whether it is banned. */
  banned: boolean;
  /** Why it was banned, if it was and a reason was given. */
  banReason?: string | null;
  /** RFC 3339 time of its last attestation. */
  attestedAt: string;
}

/** A registration entry. */
export interface Entry {
  /** Entry id. */
  id: string;
  /** The trust domain it belongs to. */
  trustDomainId: string;
  /** The SPIFFE ID issued to matching workloads. */
  spiffeId: string;
  /** The SPIFFE ID of the parent (agent or another entry). */
  parentId: string;
  /** `type:value` selectors. */
  selectors: string[];
  /** X.509-SVID TTL in seconds; null = the default. */
  x509SvidTtl: number | null;
  /** JWT-SVID TTL in seconds; null = the default. */
  jwtSvidTtl: number | null;
  /** DNS SANs. */
  dnsNames: string[];
  /** Trust domains whose bundles the workload receives. */
  federatesWith: string[];
  /** Whether the workload may use the admin API. */
  admin: boolean;
  /** Whether the workload is a downstream CA. */
  downstream: boolean;
  /** Workload hint, possibly empty. */
  hint: string | null;
  /** RFC 3339 expiry, or null. */
  expiresAt: string | null;
  /** Optimistic-concurrency revision. */
  revision: number;
  /** RFC 3339 creation time. */
  createdAt: string;
  /** RFC 3339 time of the last change. */
  updatedAt: string;
}

/** An API token as `POST /tokens` returns it (the only response carrying the secret). */
export interface CreatedToken {
  /** Token id. */
  id: string;
  /** Token name. */
  name: string;
  /** Granted scopes. */
  scopes: string[];
  /** The bearer secret, shown once. */
  token: string;
  /** RFC 3339 creation time. */
  createdAt?: string;
  /** RFC 3339 expiry, or null for none. */
  expiresAt: string | null;
}

/** An organization. */
export interface Organization {
  /** `t-…` */
  id: string;
  /** Organization name. */
  name: string;
}

/** One page of a keyset-paginated list. */
export interface Page<T> {
  /** The items of this page. */
  items: T[];
  /** Cursor for the next page, or null at the end. */
  nextCursor: string | null;
}

/** A CA keyset of a deployment, as the signer reports it (public facts only). */
export interface Keyset {
  /** `ks-…` */
  id: string;
  /** prepared, active, old, tainted, revoked or dropped. */
  state: string;
  /** e.g. `ec-p256`. */
  keyType: string;
  /** The X.509 CA certificate's validity and subject key id. */
  x509: { notBefore: string; notAfter: string; skid: string };
  /** The JWT signing key's `kid`. */
  jwt: { kid: string; notAfter: string };
  /** RFC 3339 time it was prepared. */
  preparedAt: string;
  /** RFC 3339 time it was activated, or null. */
  activatedAt: string | null;
}

/** The answer to a keyset command: the keyset acted on, and every keyset after the change. */
export interface KeysetCommandResult {
  /** The keyset prepared / activated / tainted / revoked (null if the signer no longer lists it). */
  keyset: Keyset | null;
  /** All of the deployment's keysets. */
  keysets: Keyset[];
}

/** A stored config section (`GET /config/{targetKind}/{targetId}/{section}`). */
export interface ConfigSection {
  /** `trust-domain-deployment` or `cluster`. */
  targetKind: string;
  /** `tdd-…` or `c-…`. */
  targetId: string;
  /** The target's trust domain. */
  trustDomainId: string;
  /** Section name, e.g. `key-manager`. */
  section: string;
  /** Schema of `spec`, `v1`. */
  schema: string;
  /** The validated document. */
  spec: Record<string, unknown>;
  /** Version of the section (1 for the first). */
  version: number;
  /** RFC 3339 time of the first version, or null when never stored. */
  createdAt: string | null;
  /** RFC 3339 time of the current version, or null when never stored. */
  updatedAt: string | null;
}

/** The answer to `PUT /config/…`. */
export interface ConfigSectionResult extends ConfigSection {
  /** False when the document equals the stored one. */
  changed: boolean;
  /** True when only validation was asked for (nothing stored). */
  validateOnly: boolean;
}

/** `GET /whoami`: the calling token and its organization. */
export interface Whoami {
  organizationId: string;
  organizationName: string;
  tokenId: string;
  tokenName: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
}

/** An API token as listed (never with its secret). */
export interface Token {
  id: string;
  name: string;
  scopes: string[];
  revoked: boolean;
  createdAt: string;
  expiresAt: string | null;
}

/** A cluster config version with its document. */
export interface ClusterConfigVersion {
  /** `cv-…` */
  id: string;
  clusterId: string;
  config: Record<string, unknown>;
  createdAt: string;
}
