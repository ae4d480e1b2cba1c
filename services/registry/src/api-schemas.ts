// The request bodies of the registry API, one schema each: the controllers validate with them
// (parseRequest), the OpenAPI document (openapi.ts) publishes them, and tpctl's client types are
// generated from that document (cli/tpctl/scripts/gen-api-types.mjs).
import { AnyObject, Bool, Enum, Int, List, Obj, Str, Type, type TSchema } from '@trustplane/platform';
import { API_SCOPES, API_TOKEN_MAX_TTL_DAYS, CLUSTER_PLATFORMS, JOIN_TOKEN_TTL_BOUNDS, ORGANIZATION_NAME_MAX, TRUST_DOMAIN_DESCRIPTION_MAX } from '@trustplane/registry-domain';
import { MAX_BOOTSTRAP_BUNDLE_BYTES, MAX_BUNDLE_ENDPOINT_URL_LENGTH } from '@trustplane/federation-domain';

const INT32_MAX = 2_147_483_647;

// --- organizations
export const RenameOrganizationBody = Obj({ name: Str({ max: ORGANIZATION_NAME_MAX }) });

// --- trust domains and deployments
export const CreateTrustDomainBody = Obj({
  name: Str({ max: 255, description: 'SPIFFE trust domain name, e.g. example.org' }),
  description: Type.Optional(Str({ min: 0, max: TRUST_DOMAIN_DESCRIPTION_MAX })),
  kind: Type.Optional(Enum(['managed', 'self-hosted'] as const, 'default managed')),
});
export const CreateDeploymentBody = Obj({
  name: Str({ max: 63 }),
  region: Type.Optional(Str({ min: 0, max: 64 })),
});

// --- clusters
export const CreateClusterBody = Obj({
  name: Str({ max: 63 }),
  platform: Enum(CLUSTER_PLATFORMS),
  description: Type.Optional(Str({ min: 0, max: 1024 })),
});
export const AddClusterConfigVersionBody = Obj({ config: AnyObject('the cluster configuration document') });
export const CreateJoinTokenBody = Obj({
  ttlSeconds: Type.Optional(Int({ min: JOIN_TOKEN_TTL_BOUNDS.min, max: JOIN_TOKEN_TTL_BOUNDS.max, description: 'default 3600' })),
});

// --- agents
export const BanAgentBody = Obj({ reason: Type.Optional(Str({ min: 0, max: 500 })) });

// --- keysets
export const EmptyBody = Obj({});

// --- config sections
export const PutConfigSectionBody = Obj({
  schema: Str({ max: 16, description: 'v1' }),
  // Any JSON object: the section's validator names the failing field.
  spec: AnyObject('the section document'),
  expectedVersion: Type.Optional(Int({ min: 0, max: INT32_MAX, description: '0 = must not exist yet' })),
});

// --- entries
const entryFields = {
  spiffeId: Str({ max: 2048 }),
  parentId: Str({ max: 2048 }),
  selectors: List(Str({ max: 4200, description: 'type:value' }), { max: 64 }),
  x509SvidTtl: Type.Optional(Int({ min: 0, max: INT32_MAX })),
  jwtSvidTtl: Type.Optional(Int({ min: 0, max: INT32_MAX })),
  dnsNames: Type.Optional(List(Str({ max: 253 }), { max: 32 })),
  federatesWith: Type.Optional(List(Str({ max: 270 }), { max: 64 })),
  admin: Type.Optional(Bool()),
  downstream: Type.Optional(Bool()),
  hint: Type.Optional(Str({ min: 0, max: 1024 })),
  expiresAt: Type.Optional(Str({ max: 64, description: 'RFC 3339' })),
};
export const CreateEntryBody = Obj(entryFields);
export const UpdateEntryBody = Obj({
  revision: Int({ min: 1, max: INT32_MAX }),
  spiffeId: Type.Optional(entryFields.spiffeId),
  parentId: Type.Optional(entryFields.parentId),
  selectors: Type.Optional(entryFields.selectors),
  x509SvidTtl: entryFields.x509SvidTtl,
  jwtSvidTtl: entryFields.jwtSvidTtl,
  dnsNames: entryFields.dnsNames,
  federatesWith: entryFields.federatesWith,
  admin: entryFields.admin,
  downstream: entryFields.downstream,
  hint: entryFields.hint,
  expiresAt: entryFields.expiresAt,
});

// --- tokens
export const CreateTokenBody = Obj({
  name: Str({ max: 100 }),
  scopes: List(Enum(API_SCOPES), { min: 1, max: API_SCOPES.length }),
  ttlDays: Type.Optional(Int({ min: 1, max: API_TOKEN_MAX_TTL_DAYS })),
});

// ---------------------------------------------------------------------------------------------
// Query parameters, one closed object schema per route: the OpenAPI document lists each property
// as a query parameter, and the controllers' parsers take their bounds from the same values.
// Query values arrive as text: booleans are the strings true/false.

/** `limit` bounds and default of every keyset-paginated list. */
export const PAGE_LIMIT = { min: 1, max: 200, default: 50 } as const;
const TrueFalse = (description: string) => Type.Optional(Enum(['true', 'false'] as const, description));
export const PagingQuery = Obj({
  limit: Type.Optional(Type.Integer({ minimum: PAGE_LIMIT.min, maximum: PAGE_LIMIT.max, description: `${PAGE_LIMIT.min}–${PAGE_LIMIT.max}, default ${PAGE_LIMIT.default}` })),
  after: Type.Optional(Str({ max: 4096, description: 'nextCursor of the previous page' })),
});
export const SyncStreamQuery = Obj({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'the last applied position (no state is sent while it is current)' })),
});
export const TrustDomainInfoQuery = Obj({ showDeployments: TrueFalse('include deploymentList') });
export const DeploymentListQuery = Obj({
  managed: TrueFalse("false: leave out managed trust domains' deployments; true: only those"),
  ...PagingQuery.properties,
});
export const DeleteDeploymentQuery = Obj({ force: TrueFalse('delete even with active deployment keys') });
export const PutConfigSectionQuery = Obj({ validateOnly: TrueFalse('validate only: append nothing') });
export const EntryListQuery = Obj({
  spiffeId: Type.Optional(Str({ max: 2048, description: 'exact SPIFFE ID' })),
  parentId: Type.Optional(Str({ max: 2048, description: 'exact parent ID' })),
  selector: Type.Optional(Str({ max: 4200, description: 'entries holding this type:value' })),
  ...PagingQuery.properties,
});

// ---------------------------------------------------------------------------------------------
// Response shapes. The views (model/views.ts) are typed by them, the OpenAPI document publishes
// them as components, and tpctl's client types are generated from those components.

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Text = (description?: string) => Type.String(description === undefined ? {} : { description });
const Time = (description?: string) => Type.String({ description: description ?? 'RFC 3339 time' });

export const ScopeSchema = Enum(API_SCOPES);

export const ProblemSchema = Type.Object({
  type: Text(), title: Text(), status: Type.Integer(), detail: Text(), code: Text(), instance: Type.Optional(Text()),
  errors: Type.Optional(Type.Array(Type.Object({ field: Text(), code: Text(), message: Text() }, { additionalProperties: false }))),
  resource: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'SECRET_SHOWN_ONCE: the resource the first request created, without its secret' })),
});
export const ReadinessSchema = Obj({ status: Text(), checks: Type.Record(Type.String(), Type.String()) });
export const AcceptedSchema = Type.Object(
  { id: Text(), status: Enum(['accepted'] as const), detail: Text(), location: Type.Optional(Text()) },
  { description: 'A committed write not yet visible; a request that creates a shown-once secret also carries it here (its only showing)' },
);
export const OrganizationSchema = Obj({ id: Text(), name: Text(), version: Type.Integer(), createdAt: Time(), updatedAt: Time() });

export const DeploymentSchema = Obj({
  id: Text('tdd-…'), trustDomainId: Text(), trustDomainName: Type.Optional(Text()), name: Text(), region: Text(), managed: Type.Boolean(),
  activeKeys: Type.Integer({ description: 'CA keysets of the deployment that sign now' }),
  configurationState: Enum(['Up to date', 'Pending', 'Unknown'] as const, 'self-hosted: from its reports (Unknown when never reported or stale); managed: Up to date once a CA is active'),
  lastConfiguredAt: Nullable(Time()),
  createdAt: Nullable(Time()), updatedAt: Nullable(Time()),
});
export const TrustDomainEndpointsSchema = Obj({
  agent: Text('host:port of the signer agent API'),
  bundle: Nullable(Text('null until the public endpoints are served (federation)')),
  jwtIssuer: Nullable(Text()),
  jwks: Nullable(Text()),
  oidcDiscovery: Nullable(Text()),
});
export const TrustDomainSchema = Obj({
  id: Text('td-…'), name: Text(), description: Text(), kind: Enum(['managed', 'self-hosted'] as const),
  status: Enum(['initializing', 'provisioning', 'available'] as const),
  clusters: Type.Integer(), activeClusters: Type.Integer({ description: 'clusters not disabled' }),
  deployments: Type.Integer(), federations: Type.Integer(), activeFederations: Type.Integer(),
  createdAt: Nullable(Time()), updatedAt: Nullable(Time()),
  endpoints: TrustDomainEndpointsSchema,
  deploymentList: Type.Optional(Type.Array(DeploymentSchema, { description: 'with showDeployments=true' })),
});
const ConfigVersionRef = Obj({ id: Text('cv-…'), createdAt: Nullable(Time()) });
const clusterFields = {
  id: Text('c-…'), trustDomainId: Text(), name: Text(), platform: Text(), description: Text(), status: Enum(['active', 'disabled'] as const),
  configVersions: Type.Array(ConfigVersionRef, { description: 'oldest first' }), createdAt: Nullable(Time()), updatedAt: Nullable(Time()),
};
export const ClusterSchema = Obj(clusterFields);
export const NewClusterSchema = Obj({
  ...clusterFields,
  clusterKey: Type.Optional(Obj({ keyId: Text('ck-…'), privateKey: Text('Ed25519 private key, PKCS#8 PEM; shown once, never stored') })),
});
export const ClusterConfigVersionSchema = Obj({ id: Text('cv-…'), clusterId: Text(), config: Type.Record(Type.String(), Type.Unknown()), createdAt: Nullable(Time()) });
export const NewJoinTokenSchema = Obj({
  id: Text('jt-…'), token: Text('tpjt_<jt-…>_<secret>; shown once, only its salted hash is stored'),
  clusterId: Text(), trustDomainId: Text(), expiresAt: Time(), createdAt: Time(),
});
export const AgentSchema = Obj({
  id: Text('ag-…, derived from cluster and node name'), trustDomainId: Text(), clusterId: Text(), clusterName: Text(), nodeName: Text(),
  spiffeId: Text('spiffe://<td>/agent/<cluster>/<node>'), method: Enum(['join_token', 'cluster_key'] as const),
  serialNumber: Text(), expiresAt: Nullable(Time()), banned: Type.Boolean(), banReason: Nullable(Text()), attestedAt: Nullable(Time()), createdAt: Nullable(Time()), updatedAt: Nullable(Time()),
});
export const EntrySchema = Obj({
  id: Text(), trustDomainId: Text(), spiffeId: Text(), parentId: Text(), selectors: Type.Array(Text()),
  x509SvidTtl: Nullable(Type.Integer()), jwtSvidTtl: Nullable(Type.Integer()), dnsNames: Type.Array(Text()), federatesWith: Type.Array(Text()),
  admin: Type.Boolean(), downstream: Type.Boolean(), hint: Nullable(Text()), expiresAt: Nullable(Time()), revision: Type.Integer(), createdAt: Nullable(Time()), updatedAt: Nullable(Time()),
});
export const TokenSchema = Obj({ id: Text('tok-…'), name: Text(), scopes: Type.Array(ScopeSchema), revoked: Type.Boolean(), createdAt: Nullable(Time()), expiresAt: Nullable(Time()) });
export const NewTokenSchema = Obj({ id: Text(), name: Text(), scopes: Type.Array(ScopeSchema), token: Text('shown once'), createdAt: Time(), expiresAt: Nullable(Time()) });
export const WhoamiSchema = Obj({
  organizationId: Text('t-…'), organizationName: Text(), tokenId: Text('tok-…'), tokenName: Text(), scopes: Type.Array(ScopeSchema),
  createdAt: Nullable(Time()), expiresAt: Nullable(Time()),
});
export const KeysetSchema = Obj({
  id: Text(),
  state: Enum(['prepared', 'active', 'old', 'tainted', 'revoked', 'dropped'] as const),
  keyType: Text(),
  x509: Obj({ notBefore: Text(), notAfter: Text(), skid: Text() }),
  jwt: Obj({ kid: Text(), notAfter: Text() }),
  preparedAt: Text(),
  activatedAt: Nullable(Text()),
});
export const KeysetCommandResultSchema = Obj({ keyset: Nullable(KeysetSchema), keysets: Type.Array(KeysetSchema) });
export const SpiffeBundleSchema = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown())), spiffe_sequence: Type.Optional(Type.Integer()), spiffe_refresh_hint: Type.Optional(Type.Integer()) },
  { description: 'SPIFFE trust bundle: a JWK set whose x509-svid keys carry one x5c CA certificate and whose jwt-svid keys carry a kid' },
);
const configSectionFields = {
  targetKind: Enum(['trust-domain-deployment', 'cluster'] as const),
  targetId: Text(),
  trustDomainId: Text(),
  section: Text(),
  schema: Enum(['v1'] as const),
  spec: Type.Record(Type.String(), Type.Unknown()),
  version: Type.Integer(),
  createdAt: Nullable(Time()),
  updatedAt: Nullable(Time()),
};
export const ConfigSectionSchema = Obj(configSectionFields);
export const ConfigSectionResultSchema = Obj({ ...configSectionFields, changed: Type.Boolean(), validateOnly: Type.Boolean() });

/** The OpenAPI components, by name. */
export const RESPONSE_SCHEMAS = {
  Problem: ProblemSchema,
  Readiness: ReadinessSchema,
  Accepted: AcceptedSchema,
  Scope: ScopeSchema,
  Organization: OrganizationSchema,
  TrustDomain: TrustDomainSchema,
  Deployment: DeploymentSchema,
  ClusterConfigVersion: ClusterConfigVersionSchema,
  Whoami: WhoamiSchema,
  Cluster: ClusterSchema,
  NewCluster: NewClusterSchema,
  NewJoinToken: NewJoinTokenSchema,
  Agent: AgentSchema,
  Entry: EntrySchema,
  Token: TokenSchema,
  Keyset: KeysetSchema,
  KeysetCommandResult: KeysetCommandResultSchema,
  SpiffeBundle: SpiffeBundleSchema,
  ConfigSection: ConfigSectionSchema,
  ConfigSectionResult: ConfigSectionResultSchema,
  NewToken: NewTokenSchema,
} as const;

/** The body of a federation create: an internal peer by id, or an external one by endpoint. */
export const CreateFederationBody = Obj({
  peerTrustDomainId: Type.Optional(Str({ max: 13, pattern: /^td-[0-9a-z]{10}$/, patternHint: 'must be a trust domain id (td-…)' })),
  trustDomain: Type.Optional(Str({ max: 255 })),
  bundleEndpointUrl: Type.Optional(Str({ max: MAX_BUNDLE_ENDPOINT_URL_LENGTH })),
  profile: Type.Optional(Enum(['https_web', 'https_spiffe'] as const)),
  endpointSpiffeId: Type.Optional(Str({ max: 2048 })),
  bootstrapBundle: Type.Optional(Str({ max: MAX_BOOTSTRAP_BUNDLE_BYTES })),
});
