import type { EventDefinition } from './envelope.js';

/** Whether TrustPlane runs the trust domain's server or the customer does. */
export type TrustDomainKind = 'managed' | 'self-hosted';
/** Lifecycle of a trust domain: `available` once its first CA is active. */
export type TrustDomainStatus = 'initializing' | 'provisioning' | 'available';

/** A trust domain was created in an organization. */
export type TrustDomainCreated = EventDefinition<
  'trustdomain.created',
  1,
  {
    readonly name: string;
    readonly description: string;
    readonly kind: TrustDomainKind;
    readonly status: TrustDomainStatus;
  }
>;
/** A trust domain moved to a new lifecycle status. */
export type TrustDomainStatusChanged = EventDefinition<'trustdomain.status_changed', 1, { readonly status: TrustDomainStatus }>;
/** A trust domain's description changed. */
export type TrustDomainDescribed = EventDefinition<'trustdomain.described', 1, { readonly description: string }>;
/** A trust domain was deleted (after its clusters and deployments). */
export type TrustDomainDeleted = EventDefinition<'trustdomain.deleted', 1, { readonly name: string }>;

/** A trust domain name was reserved in an organization (guards uniqueness). */
export type TrustDomainNameReserved = EventDefinition<'trustdomainname.reserved', 1, { readonly name: string; readonly trustDomainId: string }>;
/** A reserved trust domain name was freed again. */
export type TrustDomainNameReleased = EventDefinition<'trustdomainname.released', 1, { readonly name: string; readonly trustDomainId: string }>;

/** A trust domain deployment (one server region/zone) was created. */
export type DeploymentCreated = EventDefinition<
  'deployment.created',
  1,
  { readonly trustDomainId: string; readonly name: string; readonly region: string; readonly managed: boolean }
>;
/** A deployment was deleted; `force` when it still had active keys. */
export type DeploymentDeleted = EventDefinition<'deployment.deleted', 1, { readonly trustDomainId: string; readonly force: boolean }>;

/** Platforms a cluster can run on. */
export type ClusterPlatform = 'k8s' | 'linux' | 'vm' | 'other';
/** A cluster (a group of agents) was registered in a trust domain. */
export type ClusterCreated = EventDefinition<
  'cluster.created',
  1,
  { readonly trustDomainId: string; readonly name: string; readonly platform: ClusterPlatform; readonly description: string }
>;
/** A cluster was disabled: its agents are refused; it can now be deleted. */
export type ClusterDisabled = EventDefinition<'cluster.disabled', 1, { readonly trustDomainId: string }>;
/** A disabled cluster was deleted. */
export type ClusterDeleted = EventDefinition<'cluster.deleted', 1, { readonly trustDomainId: string }>;
/** A new cluster configuration version was stored (the newest 10 are kept). */
export type ClusterConfigVersionAdded = EventDefinition<
  'cluster.config_version_added',
  1,
  { readonly trustDomainId: string; readonly versionId: string; readonly config: Readonly<Record<string, unknown>> }
>;

/** A cluster's Ed25519 attestation key was registered; only the public key is recorded. */
export type ClusterKeyRegistered = EventDefinition<
  'cluster.key_registered',
  1,
  {
    readonly trustDomainId: string;
    /** Identifies the key among the cluster's keys (e.g. `ck-…`). */
    readonly keyId: string;
    /** Ed25519 public key, SubjectPublicKeyInfo DER, base64. */
    readonly publicKey: string;
  }
>;

/** A single-use join token was issued for a cluster. Only a salted hash of its secret is recorded. */
export type JoinTokenCreated = EventDefinition<
  'jointoken.created',
  1,
  {
    readonly trustDomainId: string;
    /** The cluster (`c-…`) an agent joining with the token belongs to. */
    readonly clusterId: string;
    /** Hex SHA-256(salt ‖ secret). */
    readonly hash: string;
    /** Hex salt. */
    readonly salt: string;
    /** ISO-8601 instant after which the token is refused. */
    readonly expiresAt: string;
  }
>;
/** A join token was spent by a node agent's attestation. */
export type JoinTokenUsed = EventDefinition<
  'jointoken.used',
  1,
  {
    /** The agent (`ag-…`) that attested with the token. */
    readonly agentId: string;
    /** Node name the agent presented. */
    readonly nodeName: string;
    /** ISO-8601 instant of use. */
    readonly usedAt: string;
  }
>;

/** How a node agent proved its identity. */
export type AgentAttestationMethod = 'join_token' | 'cluster_key';
/** A node agent attested (first time or again) and received an agent SVID. */
export type AgentAttested = EventDefinition<
  'agent.attested',
  1,
  {
    readonly trustDomainId: string;
    readonly clusterId: string;
    readonly clusterName: string;
    readonly nodeName: string;
    /** `spiffe://<td>/agent/<clusterName>/<nodeName>`. */
    readonly spiffeId: string;
    readonly method: AgentAttestationMethod;
    /** Serial number of the agent SVID issued (hex). */
    readonly serialNumber: string;
    /** ISO-8601 expiry of that SVID. */
    readonly expiresAt: string;
  }
>;
/** An agent renewed its SVID. */
export type AgentRenewed = EventDefinition<'agent.renewed', 1, { readonly serialNumber: string; readonly expiresAt: string }>;
/** An agent was banned: its SVID is no longer honoured and it cannot attest again. */
export type AgentBanned = EventDefinition<'agent.banned', 1, { readonly reason: string }>;

/** The data every registration entry carries. */
export interface EntryData {
  readonly trustDomainId: string;
  readonly spiffeId: string;
  readonly parentId: string;
  /** Canonical `type:value` strings, sorted. */
  readonly selectors: readonly string[];
  readonly x509SvidTtl: number | null;
  readonly jwtSvidTtl: number | null;
  readonly dnsNames: readonly string[];
  readonly federatesWith: readonly string[];
  readonly admin: boolean;
  readonly downstream: boolean;
  readonly hint: string | null;
  readonly expiresAt: string | null;
}
/** A registration entry was created (revision 1). */
export type EntryCreated = EventDefinition<'entry.created', 1, EntryData & { readonly revision: number }>;
/** A registration entry was changed; carries the complete new data and revision. */
export type EntryUpdated = EventDefinition<'entry.updated', 1, EntryData & { readonly revision: number }>;
/** A registration entry was deleted. */
export type EntryDeleted = EventDefinition<'entry.deleted', 1, { readonly trustDomainId: string; readonly spiffeId: string }>;

/** Scopes an API token can carry. */
export type ApiScope =
  | 'trust-domains:read'
  | 'trust-domains:write'
  | 'entries:read'
  | 'entries:write'
  | 'tokens:write'
  | 'admin'
  /** Deployment keys (services/auth). */
  | 'deployments:write'
  /** The audit chain (services/auth). */
  | 'audit:read';
/** An API token was issued. Only a salted hash of its secret is recorded, never the token. */
export type ApiTokenCreated = EventDefinition<
  'apitoken.created',
  1,
  {
    readonly name: string;
    readonly scopes: readonly ApiScope[];
    /** Hex salt and hex SHA-256(salt ‖ secret). */
    readonly salt: string;
    readonly hash: string;
    readonly expiresAt: string | null;
  }
>;
/** An API token was revoked. */
export type ApiTokenRevoked = EventDefinition<'apitoken.revoked', 1, Readonly<Record<string, never>>>;

/** What a config section configures: a self-hosted deployment's server or a cluster's agents. */
export type ConfigTargetKind = 'trust-domain-deployment' | 'cluster';
/** A validated config section was stored (a new version of the document). */
export type ConfigSectionSet = EventDefinition<
  'configsection.set',
  1,
  {
    /** Kind of the configured resource. */
    readonly targetKind: ConfigTargetKind;
    /** `tdd-…` or `c-…`. */
    readonly targetId: string;
    /** The trust domain the target belongs to. */
    readonly trustDomainId: string;
    /** Section name, e.g. `key-manager` or `agent`. */
    readonly section: string;
    /** Schema version of `spec`. */
    readonly schema: 'v1';
    /** The validated, normalized document (never secrets: only paths and URLs). */
    readonly spec: Readonly<Record<string, unknown>>;
    /** Version of the section after this change (1 for the first). */
    readonly version: number;
  }
>;

/** Every event of the registry context. */
export type RegistryEvent =
  | TrustDomainCreated
  | TrustDomainStatusChanged
  | TrustDomainDescribed
  | TrustDomainDeleted
  | TrustDomainNameReserved
  | TrustDomainNameReleased
  | DeploymentCreated
  | DeploymentDeleted
  | ClusterCreated
  | ClusterDisabled
  | ClusterDeleted
  | ClusterConfigVersionAdded
  | ClusterKeyRegistered
  | JoinTokenCreated
  | JoinTokenUsed
  | AgentAttested
  | AgentRenewed
  | AgentBanned
  | EntryCreated
  | EntryUpdated
  | EntryDeleted
  | ApiTokenCreated
  | ApiTokenRevoked
  | ConfigSectionSet
  | DeploymentReported
  | DeploymentConfigured;

/** Where a keyset of a self-hosted deployment is in its lifecycle, as its signer reports it. */
export type ReportedKeysetState = 'prepared' | 'active' | 'old' | 'tainted' | 'revoked' | 'dropped';

/** One CA keyset a self-hosted signer reported: public material only. */
export interface ReportedKeyset {
  /** Keyset id within the deployment (`ks-…`). */
  readonly keysetId: string;
  readonly state: ReportedKeysetState;
  /** X.509 CA certificates (DER, base64), validated against the trust domain before appending. */
  readonly x509Authorities: readonly string[];
  /** JWT-SVID verification keys: `kid` and the public JWK (no private members). */
  readonly jwtAuthorities: readonly { readonly kid: string; readonly publicKeyJwk: Readonly<Record<string, string>> }[];
  /** ISO-8601 notAfter of the keyset. */
  readonly notAfter: string;
}

/** A node agent a self-hosted signer serves, as it reported it. */
export interface ReportedAgent {
  readonly agentId: string;
  readonly spiffeId: string;
  readonly clusterId: string;
  readonly nodeName: string;
  /** ISO-8601 expiry of the agent's current SVID. */
  readonly expiresAt: string;
  readonly banned: boolean;
}

/** How a self-hosted signer says it is doing. */
export interface ReportedStatus {
  readonly state: 'serving' | 'degraded';
  /** Short human-readable detail (bounded). */
  readonly detail: string;
}

/**
 * A self-hosted deployment's signer reported its public CA keysets, agents and status (appended
 * when any of them changed, or as a heartbeat when the last report is getting old).
 */
export type DeploymentReported = EventDefinition<
  'deployment.reported',
  1,
  {
    readonly trustDomainId: string;
    /** The sync position the signer has applied. */
    readonly appliedPosition: number;
    readonly keysets: readonly ReportedKeyset[];
    readonly agents: readonly ReportedAgent[];
    readonly status: ReportedStatus;
    /** sha256 hex of the canonical keysets, agents and status (what changed is decided on it). */
    readonly digest: string;
  }
>;

/** A self-hosted deployment applied the trust domain's current sync position. */
export type DeploymentConfigured = EventDefinition<'deployment.configured', 1, { readonly trustDomainId: string; readonly position: number }>;
