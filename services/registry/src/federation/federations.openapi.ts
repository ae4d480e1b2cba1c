/** The OpenAPI fragment of federation relationships (built with the registry document's helpers). */
import { jsonSchemaOf } from '@trustplane/platform';
import { CreateFederationBody } from '../api-schemas.js';

type Json = Record<string, unknown>;

/** The helpers of openapi.ts this fragment is built with. */
export interface OpenApiHelpers {
  op(summary: string, scope: string | null, responses: Json, extra?: Json): Json;
  json(schema: Json, description?: string): Json;
  body(schema: Json): Json;
  obj(properties: Json, required?: string[]): Json;
  str(extra?: Json): Json;
  nullable(schema: Json): Json;
  errors(...codes: number[]): Json;
  path(name: string, description: string): Json;
  ref(name: string): Json;
  page(item: string): Json;
  readonly bool: Json;
  readonly paging: Json[];
  readonly td: Json;
}

/** Paths under /api/v1/trust-domains/{td}/federations. */
export function federationPaths(h: OpenApiHelpers): Json {
  const id = h.path('id', 'relationship id (fr-…) or peer trust domain name');
  return {
    '/api/v1/trust-domains/{td}/federations': {
      post: h.op('Federate with a peer trust domain (one-way: its bundle goes to this trust domain\'s workloads)', 'trust-domains:write', { '201': h.json(h.ref('Federation'), 'Created'), ...h.errors(400, 404, 409, 413) }, {
        parameters: [h.td],
        requestBody: h.body(jsonSchemaOf(CreateFederationBody)),
      }),
      get: h.op('List federation relationships', 'trust-domains:read', { '200': h.json(h.page('Federation')), ...h.errors(404) }, { parameters: [h.td, ...h.paging] }),
    },
    '/api/v1/trust-domains/{td}/federations/{id}': {
      get: h.op('Federation relationship info', 'trust-domains:read', { '200': h.json(h.ref('Federation')), ...h.errors(404) }, { parameters: [h.td, id] }),
      delete: h.op('Delete a federation relationship (the peer bundle leaves this trust domain\'s workloads)', 'trust-domains:write', { '204': { description: 'Deleted' }, ...h.errors(404) }, { parameters: [h.td, id] }),
    },
    '/api/v1/trust-domains/{td}/federations/{id}/refresh': {
      post: h.op('Ask for the peer bundle to be fetched now', 'trust-domains:write', { '200': h.json(h.ref('Federation')), ...h.errors(404) }, { parameters: [h.td, id] }),
    },
  };
}

/** Component schemas of the fragment. */
export function federationSchemas(h: OpenApiHelpers): Json {
  const s = h.str();
  return {
    Federation: h.obj({
      id: s,
      trustDomainId: s,
      trustDomain: s,
      peer: h.obj({
        kind: { enum: ['internal', 'external'] },
        trustDomain: s,
        trustDomainId: h.nullable(s),
        bundleEndpointUrl: h.nullable(s),
        profile: h.nullable({ enum: ['https_web', 'https_spiffe'] }),
        endpointSpiffeId: h.nullable(s),
        bootstrapBundle: h.bool,
      }),
      refreshRequestedAt: h.nullable(s),
      createdAt: s,
      updatedAt: s,
    }),
  };
}
