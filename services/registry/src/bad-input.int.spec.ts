// Validate before append: every string field of every request body the API documents, every path
// parameter and every query parameter, pushed through a corpus of text PostgreSQL or a terminal
// cannot take. Each is answered 400 (414 for an over-long path segment) as problem+json, nothing
// is appended to the log, and no projection dead-letters anything. The operations and their
// fields come from the OpenAPI document, so a new field or route cannot be left out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { handleCommand } from '@trustplane/eventstore';
import { AGENT, agentDecider, agentIdFor } from '@trustplane/registry-domain';
import { openApiDocument } from './openapi.js';
import { call, startRegistryHarness, type ApiResponse, type RegistryHarness } from './testing/harness.js';

type Json = Record<string, unknown>;

/** Strings no field may hold (UTF-16; JSON carries lone surrogates as \ud800 escapes). */
const BAD_TEXT: readonly string[] = [
  'nul\u0000inside',
  '\u0000',
  'lone high \ud800',
  'lone low \udc00',
  'swapped \udc00\ud800',
  'bell\u0007',
  'escape \u001b[31mred',
  'del\u007f',
  'c1\u0085',
  'bidi \u202egnp.exe',
  'nonchar \uffff',
  'x'.repeat(20_000),
];
/** The same, percent-encoded for paths and queries (a lone surrogate is invalid UTF-8 there). */
const BAD_URL_TEXT: readonly string[] = ['%00', 'a%00b', '%07', '%1B%5B31m', '%7F', '%C2%85', '%E2%80%AE', '%EF%BF%BF', '%ED%A0%80', '%FF', '%E0%A4%A'];

let h: RegistryHarness;
let token: string;
const values: Record<string, string> = {};

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> => call(h.url, method, path, { token, ...(body === undefined ? {} : { body }) });

/** A valid body for every operation that has string fields; a new one without a fixture fails the test. */
function validBodies(): Record<string, Json> {
  return {
    'PATCH /api/v1/organization': { name: 'Corpus Org' },
    'POST /api/v1/trust-domains': { name: 'valid.example', description: 'fine', kind: 'managed' },
    'POST /api/v1/trust-domains/{td}/deployments': { name: 'eu-1', region: 'eu-west' },
    'POST /api/v1/trust-domains/{td}/clusters': { name: 'valid', platform: 'linux', description: 'fine' },
    'POST /api/v1/trust-domains/{td}/clusters/{id}/config-versions': { config: { replicas: 2, labels: { team: 'payments' } } },
    'POST /api/v1/agents/{id}/ban': { reason: 'decommissioned' },
    'POST /api/v1/trust-domains/{td}/entries': {
      spiffeId: 'spiffe://corpus.example/valid',
      parentId: 'spiffe://corpus.example/agent/prod/n1',
      selectors: ['unix:uid:1000'],
      dnsNames: ['valid.internal'],
      federatesWith: ['peer.example'],
      hint: 'valid',
      expiresAt: '2099-01-01T00:00:00Z',
    },
    'PATCH /api/v1/entries/{id}': { revision: 1, hint: 'valid' },
    'POST /api/v1/tokens': { name: 'valid', scopes: ['entries:read'] },
    'PUT /api/v1/config/{targetKind}/{targetId}/{section}': { schema: 'v1', spec: { logLevel: 'info' } },
    'POST /api/v1/trust-domains/{td}/federations': { trustDomain: 'peer.example', bundleEndpointUrl: 'https://peers.example.net/federation/peer', profile: 'https_web' },
  };
}

/** Path parameter values of existing resources, so that only the bad field can be the problem. */
function pathOf(template: string): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = name === 'id' ? idFor(template) : name === 'td' && template.includes('/deployments') ? values['selfHosted'] : values[name];
    if (value === undefined) throw new Error(`no fixture value for {${name}} in ${template}`);
    return value;
  });
}

function idFor(template: string): string | undefined {
  if (template.includes('/clusters/')) return values['cluster'];
  if (template.includes('/deployments/')) return values['deployment'];
  if (template.startsWith('/api/v1/agents/')) return values['agent'];
  if (template.startsWith('/api/v1/entries/')) return values['entry'];
  if (template.startsWith('/api/v1/tokens/')) return values['tokenId'];
  if (template.includes('/federations/')) return values['federation'];
  return undefined;
}

/** A leaf of a request body schema that takes text: its path, and whether it is a free-form object. */
interface TextLeaf {
  readonly path: readonly (string | number)[];
  readonly freeForm: boolean;
}

function resolve(schema: Json, document: Json): Json {
  const ref = schema['$ref'];
  if (typeof ref !== 'string') return schema;
  const name = ref.split('/').at(-1) ?? '';
  return ((document['components'] as Json)['schemas'] as Json)[name] as Json;
}

/** Every field of a body schema that can carry text (strings, enums, string arrays, free-form objects). */
function textLeaves(schema: Json, document: Json, path: (string | number)[] = []): TextLeaf[] {
  const resolved = resolve(schema, document);
  if (Array.isArray(resolved['anyOf'])) return textLeaves((resolved['anyOf'] as Json[])[0] ?? {}, document, path);
  if (resolved['type'] === 'array') return textLeaves(resolved['items'] as Json, document, [...path, 0]);
  if (resolved['type'] === 'object') {
    const properties = resolved['properties'] as Json | undefined;
    if (properties === undefined) return [{ path, freeForm: true }];
    return Object.entries(properties).flatMap(([key, child]) => textLeaves(child as Json, document, [...path, key]));
  }
  if (resolved['type'] === 'string' || Array.isArray(resolved['enum'])) return [{ path, freeForm: false }];
  return [];
}

/** `container` with `value` at `path`; an array on the way becomes a one-element array. */
function withValue(container: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (typeof head === 'number') return [withValue(undefined, rest, value)];
  const record = typeof container === 'object' && container !== null && !Array.isArray(container) ? (container as Json) : {};
  return { ...record, [head]: withValue(record[head], rest, value) };
}

/** The bad variants of one leaf: the bad text as the value, and (free-form objects) as a key. */
function badValues(leaf: TextLeaf, bad: string): unknown[] {
  return leaf.freeForm ? [{ [bad]: 'value' }, { key: bad }, { nested: [{ key: bad }] }] : [bad];
}

async function deadLetters(): Promise<number> {
  const rows = await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registry.projection_dead_letters');
  return rows.rows[0]?.n ?? -1;
}

function assertRefused(response: ApiResponse, statuses: readonly number[], label: string): void {
  assert.ok(statuses.includes(response.status), `${label} → ${response.status} ${JSON.stringify(response.json)?.slice(0, 300)}`);
  assert.match(response.type, /application\/problem\+json/, label);
}

before(async () => {
  h = await startRegistryHarness('badinput', { TP_REGISTRY_FEDERATION_URLS: 'https://peers.example.net/federation/' });
  const org = await h.organization('Corpus');
  token = org.token;
  const td = await api('POST', '/api/v1/trust-domains', { name: 'corpus.example' });
  assert.equal(td.status, 201);
  values['td'] = td.json.id;
  const selfHosted = await api('POST', '/api/v1/trust-domains', { name: 'self.example', kind: 'self-hosted' });
  values['selfHosted'] = selfHosted.json.id;
  const deployment = await api('POST', `/api/v1/trust-domains/${selfHosted.json.id}/deployments`, { name: 'fixture' });
  assert.equal(deployment.status, 201);
  values['deployment'] = deployment.json.id;
  const cluster = await api('POST', `/api/v1/trust-domains/${values['td']}/clusters`, { name: 'prod', platform: 'linux' });
  assert.equal(cluster.status, 201);
  values['cluster'] = cluster.json.id;
  const entry = await api('POST', `/api/v1/trust-domains/${values['td']}/entries`, {
    spiffeId: 'spiffe://corpus.example/db',
    parentId: 'spiffe://corpus.example/agent/prod/n1',
    selectors: ['unix:uid:1'],
  });
  assert.equal(entry.status, 201);
  values['entry'] = entry.json.id;
  const created = await api('POST', '/api/v1/tokens', { name: 'fixture', scopes: ['entries:read'] });
  values['tokenId'] = created.json.id;
  const federation = await api('POST', `/api/v1/trust-domains/${values['td']}/federations`, { trustDomain: 'fixture-peer.example', bundleEndpointUrl: 'https://peers.example.net/federation/fixture', profile: 'https_web' });
  assert.equal(federation.status, 201);
  values['federation'] = federation.json.id;
  // An agent, appended the way the signer appends one after attestation.
  const agentId = agentIdFor(values['cluster'] ?? '', 'n1');
  await handleCommand(
    h.log,
    agentDecider,
    { tenant: org.id, aggregateType: AGENT, aggregateId: agentId },
    {
      kind: 'attest',
      trustDomainId: values['td'] ?? '',
      trustDomain: 'corpus.example',
      clusterId: values['cluster'] ?? '',
      clusterName: 'prod',
      nodeName: 'n1',
      method: 'join_token',
      serialNumber: '01',
      expiresAt: new Date(Date.now() + 3_600_000),
    },
    { actor: { kind: 'service', id: 'signer' }, correlationId: 'fixture', causationId: 'fixture', now: new Date() },
  );
  values['agent'] = agentId;
  values['targetKind'] = 'cluster';
  values['targetId'] = values['cluster'] ?? '';
  values['section'] = 'agent';
  values['keysetId'] = 'ks-0';
  values['version'] = 'cv-0000000000';
  for (let attempt = 0; attempt < 200 && (await api('GET', `/api/v1/agents/${agentId}`)).status !== 200; attempt++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(await deadLetters(), 0);
});
after(async () => h.close());

test('every text field of every request body: the bad-text corpus is refused with 400 and nothing is appended', async () => {
  const document = openApiDocument() as Json;
  const fixtures = validBodies();
  const before = await h.log.lastSequence();
  let requests = 0;
  for (const [template, operations] of Object.entries(document['paths'] as Json)) {
    for (const [method, operation] of Object.entries(operations as Json)) {
      // The auth service's routes are forwarded as they are: its own tests hold them to this corpus.
      if ((operation as Json)['x-served-by'] === 'auth') continue;
      const content = ((operation as Json)['requestBody'] as Json | undefined)?.['content'] as Json | undefined;
      const schema = (content?.['application/json'] as Json | undefined)?.['schema'] as Json | undefined;
      if (schema === undefined) continue;
      // Authenticated by a control-plane credential, not an API token: sync/sync.int.spec.ts runs the corpus there.
      if (template.startsWith('/api/v1/sync/')) continue;
      const leaves = textLeaves(schema, document);
      if (leaves.length === 0) continue;
      const name = `${method.toUpperCase()} ${template}`;
      const base = fixtures[name];
      assert.ok(base !== undefined, `${name} takes text but this test has no valid body for it: add one`);
      for (const leaf of leaves) {
        for (const bad of BAD_TEXT) {
          for (const value of badValues(leaf, bad)) {
            const response = await api(method.toUpperCase(), pathOf(template), withValue(base, leaf.path, value));
            assertRefused(response, [400], `${name} ${leaf.path.join('.')}=${JSON.stringify(value).slice(0, 40)}`);
            requests++;
          }
        }
      }
    }
  }
  assert.ok(requests > 300, `only ${requests} requests`);
  assert.equal(await h.log.lastSequence(), before, 'nothing was appended');
  assert.equal(await deadLetters(), 0, 'no dead letters');
  // The fixtures themselves are accepted, so each refusal above was the bad field's doing.
  for (const [name, body] of Object.entries(fixtures)) {
    const [method = '', template = ''] = name.split(' ');
    const response = await api(method, pathOf(template), body);
    assert.ok(response.status >= 200 && response.status < 300, `${name} with its valid body → ${response.status} ${JSON.stringify(response.json)}`);
  }
  assert.equal(await deadLetters(), 0, 'no dead letters after the valid bodies either');
});

test('every path and query parameter: NUL, control characters and invalid UTF-8 are 400, over-long segments 414', async () => {
  const document = openApiDocument() as Json;
  const before = await h.log.lastSequence();
  for (const [template, operations] of Object.entries(document['paths'] as Json)) {
    for (const [method, operation] of Object.entries(operations as Json)) {
      if ((operation as Json)['x-served-by'] === 'auth') continue;
      const parameters = ((operation as Json)['parameters'] as Json[] | undefined) ?? [];
      for (const parameter of parameters) {
        const where = parameter['in'];
        if (where !== 'path' && where !== 'query') continue;
        const name = String(parameter['name']);
        for (const bad of where === 'path' ? [...BAD_URL_TEXT, 'x'.repeat(600)] : BAD_URL_TEXT) {
          const url =
            where === 'path'
              ? pathOf(template.replace(`{${name}}`, '\u0001')).replace('\u0001', bad)
              : `${pathOf(template)}?${name}=${bad}`;
          const response = await call(h.url, method.toUpperCase(), url, { token, ...(method === 'get' || method === 'delete' ? {} : { body: {} }) });
          const expected = bad.length > 500 ? [414] : [400];
          assertRefused(response, expected, `${method.toUpperCase()} ${url.slice(0, 120)}`);
        }
      }
    }
  }
  const cursorOf = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  for (const [what, position] of [
    ['a NUL in the sort key', { key: 'a\u0000', id: 'td-0000000000' }],
    ['a NUL in the id', { key: 'a.example', id: 'td-\u0000' }],
    ['a lone surrogate in the sort key', { key: 'a\ud800', id: 'td-0000000000' }],
    ['an id that is no resource id', { key: 'a.example', id: "x' OR 1=1" }],
    ['the cursor shape of an older version', { after: 'td-0000000000' }],
  ] as const) {
    assertRefused(await api('GET', `/api/v1/trust-domains?after=${cursorOf(position)}`), [400], `cursor with ${what}`);
  }
  assert.equal(await h.log.lastSequence(), before, 'nothing was appended');
  assert.equal(await deadLetters(), 0);
});

test('bodies: only application/json (415 otherwise), bounded nesting (400), and 414 is problem+json', async () => {
  const before = await h.log.lastSequence();
  const raw = (contentType: string, body: string) =>
    fetch(`${h.url}/api/v1/trust-domains`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
  for (const [contentType, body] of [
    ['application/x-www-form-urlencoded', 'name=form.example'],
    ['text/plain', '{"name":"text.example"}'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nmulti.example\r\n--x--\r\n'],
    ['application/json; charset=iso-8859-1', '{"name":"latin.example"}'],
  ] as const) {
    const response = await raw(contentType, body);
    assert.equal(response.status, 415, contentType);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(((await response.json()) as Json)['code'], 'UNSUPPORTED_MEDIA_TYPE');
  }
  const deep = await api('POST', `/api/v1/trust-domains/${values['td']}/clusters/${values['cluster']}/config-versions`, `{"config":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`);
  assertRefused(deep, [400], 'nested 20,000 deep');
  assert.equal(deep.json.code, 'BODY_TOO_DEEP');
  const longUri = await call(h.url, 'GET', `/api/v1/trust-domains/${'a/'.repeat(10_000)}`, { token });
  assertRefused(longUri, [414], 'a 20 kB URI');
  assert.equal(longUri.json.code, 'URI_TOO_LONG');
  assert.equal(await h.log.lastSequence(), before);
});

test('names shaped like resource ids are refused; ids and names stay unambiguous', async () => {
  const before = await h.log.lastSequence();
  for (const [path, body, code] of [
    ['/api/v1/trust-domains', { name: 'td-0123456789' }, 'TRUST_DOMAIN_NAME_INVALID'],
    ['/api/v1/trust-domains', { name: 'c-abcdefghij' }, 'TRUST_DOMAIN_NAME_INVALID'],
    [`/api/v1/trust-domains/${values['td']}/clusters`, { name: 'c-0123456789', platform: 'linux' }, 'CLUSTER_NAME_INVALID'],
    [`/api/v1/trust-domains/${values['td']}/clusters`, { name: String(values['cluster']), platform: 'linux' }, 'CLUSTER_NAME_INVALID'],
    ['/api/v1/tokens', { name: 'tok-0123456789', scopes: ['entries:read'] }, 'TOKEN_NAME_INVALID'],
  ] as const) {
    const response = await api('POST', path, body);
    assertRefused(response, [400], `${path} ${JSON.stringify(body)}`);
    assert.equal(response.json.code, code);
  }
  assert.equal(await h.log.lastSequence(), before);
});
