// The registry's OpenAPI 3.1 document. `node services/registry/dist/openapi-write.js` writes it
// to services/registry/openapi.json (checked in); a test fails when the two differ or when a
// route is served without being documented.
import { AUTH_RESPONSE_SCHEMAS, AuditQuerySchema, ExchangeCredentialBody } from '@trustplane/auth-client';
import { jsonSchemaOf, type TSchema } from '@trustplane/platform';
import {
  AddClusterConfigVersionBody,
  BanAgentBody,
  CreateClusterBody,
  CreateDeploymentBody,
  CreateEntryBody,
  CreateJoinTokenBody,
  CreateTokenBody,
  CreateTrustDomainBody,
  DeleteDeploymentQuery,
  DeploymentListQuery,
  EntryListQuery,
  PagingQuery,
  SyncStreamQuery,
  PutConfigSectionBody,
  PutConfigSectionQuery,
  RenameOrganizationBody,
  RESPONSE_SCHEMAS,
  TrustDomainInfoQuery,
  UpdateEntryBody,
} from './api-schemas.js';
import { SyncMessageSchema, SyncReportBody } from './sync/report-schema.js';
import { federationPaths, federationSchemas, type OpenApiHelpers } from './federation/federations.openapi.js';

type Json = Record<string, unknown>;
/** A request schema (api-schemas.ts) as it is validated. */
const schema = (s: TSchema): Json => jsonSchemaOf(s);

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Json = {}): Json => ({ type: 'string', ...extra });
const arr = (items: Json): Json => ({ type: 'array', items });
const nullable = (schema: Json): Json => ({ anyOf: [schema, { type: 'null' }] });
const int: Json = { type: 'integer' };
const bool: Json = { type: 'boolean' };
const obj = (properties: Json, required: string[] = Object.keys(properties)): Json => ({ type: 'object', additionalProperties: false, properties, required });
const page = (item: string): Json => obj({ items: arr(ref(item)), nextCursor: nullable(str()) });

const problem = { description: 'RFC 9457 problem', content: { 'application/problem+json': { schema: ref('Problem') } } };
const errors = (...codes: number[]): Json => Object.fromEntries(codes.map((c) => [String(c), problem]));
const json = (schema: Json, description = 'OK'): Json => ({ description, content: { 'application/json': { schema } } });
const body = (schema: Json): Json => ({ required: true, content: { 'application/json': { schema } } });
const path = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: str() });
const idempotencyKey: Json = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Repeat-safe POST: the same key with the same body never creates a second resource (also after a crash) and returns the first answer for 24 h (TP_REGISTRY_IDEMPOTENCY_RETENTION_SECONDS); a request that created a shown-once secret is answered 409 SECRET_SHOWN_ONCE instead; the same key with another body is 422; while the first request runs, 409 IDEMPOTENCY_REQUEST_IN_PROGRESS with Retry-After',
  schema: str({ maxLength: 200, pattern: '^[A-Za-z0-9_.:-]{1,200}$' }),
};
/** The query parameters of a route, one per property of its query schema (api-schemas.ts). */
function queryOf(s: TSchema): Json[] {
  const document = schema(s);
  const required = new Set((document['required'] as string[] | undefined) ?? []);
  return Object.entries(document['properties'] as Record<string, Json>).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: 'query', required: required.has(name), ...(description === undefined ? {} : { description }), schema: rest };
  });
}
const paging = queryOf(PagingQuery);
const td = path('td', 'trust domain id (td-…) or name');

function op(summary: string, scope: string | null, responses: Json, extra: Json = {}): Json {
  return {
    summary,
    ...(scope === null ? { security: [] } : { 'x-required-scope': scope }),
    ...extra,
    responses: { ...responses, ...(scope === null ? {} : errors(400, 401, 403, 414, 503)) },
  };
}

const WRITE_METHODS = ['post', 'put', 'patch', 'delete'];
const accepted: Json = {
  description:
    'Committed, but the read models did not show it within TP_REGISTRY_PROJECTION_WAIT_MS: the write happened; read it at Location (when given) shortly',
  headers: { Location: { description: 'where the resource will be visible', schema: str() } },
  content: { 'application/json': { schema: ref('Accepted') } },
};

/**
 * What every write routed through the event log may also answer: 202 when the read models lag,
 * 415 for a body that is not application/json. Keyset commands are answered by the signer.
 */
function withWriteAnswers(paths: Json): Json {
  return Object.fromEntries(
    Object.entries(paths).map(([route, methods]) => [
      route,
      Object.fromEntries(
        Object.entries(methods as Json).map(([method, operation]) => {
          const o = operation as Json;
          if (!WRITE_METHODS.includes(method) || route.includes('/keysets') || route.startsWith('/api/v1/auth/') || route.startsWith('/api/v1/audit')) return [method, o];
          const responses = o['responses'] as Json;
          return [method, { ...o, responses: { ...responses, '202': accepted, ...(o['requestBody'] === undefined ? {} : errors(415)) } }];
        }),
      ),
    ]),
  );
}

const keysetActions = {
  activate: 'Activate a prepared keyset (signer)',
  taint: 'Taint a keyset: stop using it and rotate away (signer)',
  revoke: 'Revoke a tainted keyset: remove it from the bundle (signer)',
} as const;

const configPath: Json[] = [
  { name: 'targetKind', in: 'path', required: true, description: 'what is configured', schema: { enum: ['trust-domain-deployment', 'cluster'] } },
  path('targetId', 'deployment id (tdd-…) or cluster id (c-…)'),
  path('section', 'key-manager (deployments) or agent (clusters)'),
];

/** Marks an operation as answered by the auth service (the registry forwards it as it is). */
const byAuth = (operation: Json): Json => ({ ...operation, 'x-served-by': 'auth' });

/**
 * The auth service's routes, which the registry forwards to TP_REGISTRY_AUTH_URL (auth-proxy.ts)
 * so that clients use one URL; their shapes are the auth service's (libs/auth-client/api-schemas.ts).
 * Without TP_REGISTRY_AUTH_URL they answer 503 AUTH_SERVICE_NOT_CONFIGURED.
 */
function authPaths(): Json {
  const keys = [td, path('id', 'deployment id (tdd-…) or name')];
  const key = [...keys, path('k', 'deployment key id (tdk-…)')];
  return {
    '/api/v1/trust-domains/{td}/deployments/{id}/keys': {
      post: byAuth(op('Create a deployment key (Ed25519; the private key is in this answer only)', 'deployments:write', { '201': json(ref('NewDeploymentKey'), 'Created'), ...errors(404, 409) }, { parameters: [...keys, idempotencyKey] })),
      get: byAuth(op("List a deployment's keys (never their private keys)", 'trust-domains:read', { '200': json(page('DeploymentKey')), ...errors(404) }, { parameters: keys })),
    },
    '/api/v1/trust-domains/{td}/deployments/{id}/keys/{k}': {
      get: byAuth(op('Show a deployment key', 'trust-domains:read', { '200': json(ref('DeploymentKey')), ...errors(404) }, { parameters: key })),
      delete: byAuth(op('Delete a disabled deployment key (409 KEY_NOT_DISABLED otherwise)', 'deployments:write', { '204': { description: 'Deleted' }, ...errors(404, 409) }, { parameters: key })),
    },
    '/api/v1/trust-domains/{td}/deployments/{id}/keys/{k}/enable': {
      post: byAuth(op('Enable a deployment key', 'deployments:write', { '200': json(ref('DeploymentKey')), ...errors(404) }, { parameters: [...key, idempotencyKey] })),
    },
    '/api/v1/trust-domains/{td}/deployments/{id}/keys/{k}/disable': {
      post: byAuth(
        op('Disable a deployment key: no further credential exchanges (credentials already issued stay valid until they expire, ≤ 24 h)', 'deployments:write', { '200': json(ref('DeploymentKey')), ...errors(404) }, {
          parameters: [...key, idempotencyKey],
        }),
      ),
    },
    '/api/v1/auth/deployment-credentials': {
      post: byAuth({
        ...op('Exchange a deployment-key-signed assertion for a control-plane credential (the assertion authenticates)', null, { '200': json(ref('DeploymentCredential')), ...errors(400, 401, 503) }),
        requestBody: body(schema(ExchangeCredentialBody)),
      }),
    },
    '/api/v1/auth/jwks': {
      get: byAuth(op("The control-plane credentials' verification keys", null, { '200': json(ref('CredentialJwks')) })),
    },
    '/api/v1/audit': {
      get: byAuth(op("The organization's audit chain, oldest first", 'audit:read', { '200': json(page('AuditRecord')), ...errors(400) }, { parameters: queryOf(AuditQuerySchema) })),
    },
    '/api/v1/audit/verify': {
      post: byAuth(op("Verify the organization's audit chain (edits, deletions incl. of the tail, insertions, reordering)", 'audit:read', { '200': json(ref('AuditVerdict')) })),
    },
    '/api/v1/audit/anchor': {
      post: byAuth(op("Anchor the organization's chain head in the event log now", 'audit:read', { '200': json(ref('AuditAnchor')) })),
    },
  };
}

/** The helpers, for fragments kept beside their routes. */
const helpers: OpenApiHelpers = { op, json, body, obj, str, nullable, errors, path, ref, page, bool, paging, td };

/** The OpenAPI document of the registry REST API. */
export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'TrustPlane registry API', version: '1.0.0', description: 'Trust domains, deployments, keysets, clusters, join tokens, node agents, config sections, registration entries and API tokens.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: withWriteAnswers({
      '/healthz': { get: op('Liveness', null, { '200': json(obj({ status: str() })) }) },
      '/readyz': { get: op('Readiness (NATS and Postgres)', null, { '200': json(ref('Readiness')), '503': json(ref('Readiness'), 'Not ready') }) },
      '/metrics': { get: op('Prometheus metrics', null, { '200': { description: 'text exposition format', content: { 'text/plain': { schema: str() } } } }) },
      '/api/v1/openapi.json': { get: op('This document', null, { '200': json({ type: 'object' }) }) },
      '/api/v1/sync/stream': {
        get: {
          summary: 'Self-hosted sync stream (NDJSON): the complete state of the credential\'s deployment, then a new state on every change; heartbeats while idle; ends when the credential expires',
          security: [{ controlPlaneCredential: [] }],
          parameters: queryOf(SyncStreamQuery),
          responses: { '200': { description: 'NDJSON lines: {type: state, position, state} | {type: heartbeat, position} | {type: end, reason}', content: { 'application/x-ndjson': { schema: ref('SyncMessage') } } }, ...errors(400, 401, 403, 503) },
        },
      },
      '/api/v1/sync/report': {
        post: {
          summary: 'A self-hosted signer reports its applied position, public CA keysets, agents and status',
          security: [{ controlPlaneCredential: [] }],
          requestBody: body(ref('SyncReport')),
          responses: { '200': json(obj({ currentPosition: int, configured: bool, appended: arr(str()) })), ...errors(400, 401, 403, 413, 415, 503) },
        },
      },
      '/api/v1/organization': {
        get: op("The token's organization", 'authenticated', { '200': json(ref('Organization')) }),
        patch: op('Rename the organization', 'admin', { '200': json(ref('Organization')), ...errors(400) }, { requestBody: body(schema(RenameOrganizationBody)) }),
      },
      '/api/v1/trust-domains': {
        post: op('Create a trust domain', 'trust-domains:write', { '201': json(ref('TrustDomain'), 'Created'), ...errors(400, 409, 413, 422) }, {
          parameters: [idempotencyKey],
          requestBody: body(schema(CreateTrustDomainBody)),
        }),
        get: op('List trust domains', 'trust-domains:read', { '200': json(page('TrustDomain')), ...errors(400) }, { parameters: paging }),
      },
      '/api/v1/trust-domains/{td}': {
        get: op('Trust domain info', 'trust-domains:read', { '200': json(ref('TrustDomain')), ...errors(404) }, {
          parameters: [td, ...queryOf(TrustDomainInfoQuery)],
        }),
        delete: op('Delete a trust domain (refused while clusters or deployments remain)', 'trust-domains:write', { '204': { description: 'Deleted' }, ...errors(404, 409) }, { parameters: [td] }),
      },
      '/api/v1/trust-domains/{td}/deployments': {
        post: op('Create a deployment (self-hosted trust domains)', 'trust-domains:write', { '201': json(ref('Deployment'), 'Created'), ...errors(400, 404, 409) }, {
          parameters: [td, idempotencyKey],
          requestBody: body(schema(CreateDeploymentBody)),
        }),
        get: op('List deployments', 'trust-domains:read', { '200': json(page('Deployment')), ...errors(404) }, { parameters: [td, ...paging] }),
      },
      '/api/v1/deployments': {
        get: op("Deployments across the caller's trust domains, by trust domain name then name", 'trust-domains:read', { '200': json(page('Deployment')), ...errors(400) }, {
          parameters: queryOf(DeploymentListQuery),
        }),
      },
      '/api/v1/whoami': {
        get: op('The calling token and its organization', 'authenticated', { '200': json(ref('Whoami')) }),
      },
      '/api/v1/trust-domains/{td}/deployments/{id}': {
        get: op('Deployment info', 'trust-domains:read', { '200': json(ref('Deployment')), ...errors(404) }, { parameters: [td, path('id', 'deployment id (tdd-…) or name')] }),
        delete: op('Delete a deployment (refused with active keys unless force=true)', 'trust-domains:write', { '204': { description: 'Deleted' }, ...errors(404, 409) }, {
          parameters: [td, path('id', 'deployment id (tdd-…) or name'), ...queryOf(DeleteDeploymentQuery)],
        }),
      },
      '/api/v1/trust-domains/{td}/bundle': {
        get: op("The trust domain's current SPIFFE trust bundle (answered by the signer): hand it to new agents as TP_AGENT_TRUST_BUNDLE_PATH", 'trust-domains:read', {
          '200': json(ref('SpiffeBundle')),
          ...errors(404, 503),
        }, { parameters: [td] }),
      },
      '/api/v1/trust-domains/{td}/deployments/{id}/keysets': {
        get: op("List a deployment's CA keysets (answered by the signer)", 'trust-domains:read', { '200': json(page('Keyset')), ...errors(404, 503) }, {
          parameters: [td, path('id', 'deployment id')],
        }),
        post: op('Prepare a new keyset (signer)', 'trust-domains:write', { '201': json(ref('KeysetCommandResult'), 'Prepared'), ...errors(400, 404, 409, 503) }, {
          parameters: [td, path('id', 'deployment id'), idempotencyKey],
        }),
      },
      ...Object.fromEntries(
        (['activate', 'taint', 'revoke'] as const).map((action) => [
          `/api/v1/trust-domains/{td}/deployments/{id}/keysets/{keysetId}/${action}`,
          {
            post: op(keysetActions[action], 'trust-domains:write', { '200': json(ref('KeysetCommandResult')), ...errors(400, 404, 409, 503) }, {
              parameters: [td, path('id', 'deployment id'), path('keysetId', 'keyset id (ks-…)'), idempotencyKey],
            }),
          },
        ]),
      ),
      '/api/v1/config/{targetKind}/{targetId}/{section}': {
        put: op('Validate and store a config section (optimistic concurrency with expectedVersion)', 'trust-domains:write', {
          '200': json(ref('ConfigSectionResult')),
          ...errors(400, 404, 409, 413),
        }, {
          parameters: [...configPath, ...queryOf(PutConfigSectionQuery)],
          requestBody: body(schema(PutConfigSectionBody)),
        }),
        get: op('Show a config section', 'trust-domains:read', { '200': json(ref('ConfigSection')), ...errors(400, 404) }, { parameters: configPath }),
      },
      '/api/v1/trust-domains/{td}/clusters': {
        post: op('Create a cluster and its first attestation key (private key shown once)', 'trust-domains:write', { '201': json(ref('NewCluster'), 'Created'), ...errors(400, 404, 409) }, {
          parameters: [td, idempotencyKey],
          requestBody: body(schema(CreateClusterBody)),
        }),
        get: op('List clusters', 'trust-domains:read', { '200': json(page('Cluster')), ...errors(404) }, { parameters: [td, ...paging] }),
      },
      '/api/v1/trust-domains/{td}/clusters/{id}': {
        get: op('Cluster info', 'trust-domains:read', { '200': json(ref('Cluster')), ...errors(404) }, { parameters: [td, path('id', 'cluster id or name')] }),
        delete: op('Delete a disabled cluster', 'trust-domains:write', { '204': { description: 'Deleted' }, ...errors(404, 409) }, { parameters: [td, path('id', 'cluster id or name')] }),
      },
      '/api/v1/trust-domains/{td}/clusters/{id}/disable': {
        post: op('Disable a cluster', 'trust-domains:write', { '200': json(ref('Cluster')), ...errors(404) }, { parameters: [td, path('id', 'cluster id or name'), idempotencyKey] }),
      },
      '/api/v1/trust-domains/{td}/clusters/{id}/config-versions': {
        post: op('Store a cluster configuration version (10 kept)', 'trust-domains:write', { '201': json(ref('Cluster'), 'Created'), ...errors(400, 404) }, {
          parameters: [td, path('id', 'cluster id or name'), idempotencyKey],
          requestBody: body(schema(AddClusterConfigVersionBody)),
        }),
        get: op("A cluster's config versions with their documents, oldest first", 'trust-domains:read', { '200': json(page('ClusterConfigVersion')), ...errors(404) }, {
          parameters: [td, path('id', 'cluster id or name')],
        }),
      },
      '/api/v1/trust-domains/{td}/clusters/{id}/config-versions/{version}': {
        get: op('One cluster config version', 'trust-domains:read', { '200': json(ref('ClusterConfigVersion')), ...errors(404) }, {
          parameters: [td, path('id', 'cluster id or name'), path('version', 'config version id (cv-…)')],
        }),
      },
      '/api/v1/trust-domains/{td}/clusters/{id}/join-tokens': {
        post: op('Issue a single-use join token for an active cluster (token shown once)', 'trust-domains:write', { '201': json(ref('NewJoinToken'), 'Created'), ...errors(400, 404, 409) }, {
          parameters: [td, path('id', 'cluster id or name'), idempotencyKey],
          requestBody: { required: false, content: { 'application/json': { schema: schema(CreateJoinTokenBody) } } },
        }),
      },
      '/api/v1/trust-domains/{td}/agents': {
        get: op('List node agents (attested by the signer)', 'trust-domains:read', { '200': json(page('Agent')), ...errors(404) }, { parameters: [td, ...paging] }),
      },
      '/api/v1/agents/{id}': {
        get: op('Show a node agent', 'trust-domains:read', { '200': json(ref('Agent')), ...errors(404) }, { parameters: [path('id', 'agent id (ag-…)')] }),
      },
      '/api/v1/agents/{id}/ban': {
        post: op('Ban a node agent (idempotent): its SVID is no longer honoured and it cannot attest again', 'trust-domains:write', { '200': json(ref('Agent')), ...errors(400, 404) }, {
          parameters: [path('id', 'agent id (ag-…)'), idempotencyKey],
          requestBody: { required: false, content: { 'application/json': { schema: schema(BanAgentBody) } } },
        }),
      },
      '/api/v1/trust-domains/{td}/entries': {
        post: op('Create a registration entry', 'entries:write', { '201': json(ref('Entry'), 'Created'), ...errors(400, 404) }, {
          parameters: [td, idempotencyKey],
          requestBody: body(schema(CreateEntryBody)),
        }),
        get: op('List registration entries', 'entries:read', { '200': json(page('Entry')), ...errors(404) }, {
          parameters: [td, ...queryOf(EntryListQuery)],
        }),
      },
      '/api/v1/entries/{id}': {
        get: op('Show an entry', 'entries:read', { '200': json(ref('Entry')), ...errors(404) }, { parameters: [path('id', 'entry id')] }),
        patch: op('Update an entry (revision required)', 'entries:write', { '200': json(ref('Entry')), ...errors(400, 404, 409) }, {
          parameters: [path('id', 'entry id')],
          requestBody: body(schema(UpdateEntryBody)),
        }),
        delete: op('Delete an entry', 'entries:write', { '204': { description: 'Deleted' }, ...errors(404) }, { parameters: [path('id', 'entry id')] }),
      },
      '/api/v1/tokens': {
        post: op('Create an API token (shown once; its scopes must be within the calling token\'s)', 'tokens:write', { '201': json(ref('NewToken'), 'Created'), ...errors(400, 409) }, {
          parameters: [idempotencyKey],
          requestBody: body(schema(CreateTokenBody)),
        }),
        get: op('List API tokens', 'tokens:write', { '200': json(page('Token')) }),
      },
      '/api/v1/tokens/{id}': {
        delete: op('Revoke an API token (only by a token holding every scope of it)', 'tokens:write', { '204': { description: 'Revoked' }, ...errors(404) }, { parameters: [path('id', 'token id')] }),
      },
      ...federationPaths(helpers),
      ...authPaths(),
    }),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API token: tp_tok-…_…' },
        controlPlaneCredential: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'control-plane credential of a self-hosted deployment (services/auth); only the sync routes accept it' },
      },
      schemas: {
        ...Object.fromEntries(Object.entries({ ...RESPONSE_SCHEMAS, ...AUTH_RESPONSE_SCHEMAS }).map(([name, shape]) => [name, schema(shape)])),
        SyncReport: schema(SyncReportBody),
        SyncMessage: schema(SyncMessageSchema),
        ...federationSchemas(helpers),
      },
    },
  };
}
