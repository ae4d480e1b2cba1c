// The request bodies of the registry API, one schema each: the controllers validate with them
// (parseRequest), the OpenAPI document (openapi.ts) publishes them, and tpctl's client types are
// generated from that document (cli/tpctl/scripts/gen-api-types.mjs).
import { AnyObject, Bool, Enum, Int, List, Obj, Str, Type } from '@trustplane/platform';
import { API_SCOPES, API_TOKEN_MAX_TTL_DAYS, CLUSTER_PLATFORMS, JOIN_TOKEN_TTL_BOUNDS, ORGANIZATION_NAME_MAX, TRUST_DOMAIN_DESCRIPTION_MAX } from '@trustplane/registry-domain';

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
