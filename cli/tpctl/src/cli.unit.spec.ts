// The whole CLI in-process: flags → requests (method, path, query, headers, body), output and
// exit codes, with a fake fetch and an in-memory config file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BootstrapPort, BootstrapTokenRequest } from './bootstrap.js';
import { run } from './cli.js';
import { entryCreateBody, entryFields, entryPatchBody } from './commands/entry.js';
import { bootstrapTokenRequest, defaultTokenName, tokenCreateBody } from './commands/token.js';
import { trustDomainCreateBody } from './commands/trust-domain.js';
import type { ConfigFile } from './config.js';
import { CliError } from './errors.js';
import { snakeCaseKeys } from './json.js';
import type { Deps } from './runtime.js';

interface Seen {
  origin: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

function harness(
  replies: (request: Seen) => Reply,
  options: {
    env?: Record<string, string>;
    config?: ConfigFile;
    bootstrap?: BootstrapPort;
    documents?: Record<string, string>;
  } = {},
) {
  const seen: Seen[] = [];
  let stdout = '';
  let stderr = '';
  const files = new Map<string, ConfigFile>();
  if (options.config !== undefined) files.set('/home/op/.config/tpctl/config.yaml', options.config);
  const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const request: Seen = {
      origin: url.origin,
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    seen.push(request);
    const reply = replies(request);
    const isProblem = reply.status >= 400;
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'content-type': isProblem ? 'application/problem+json' : 'application/json', ...(reply.headers ?? {}) },
    });
  }) as typeof fetch;
  const deps: Deps = {
    env: options.env ?? {},
    home: '/home/op',
    fetch: fakeFetch,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    randomUUID: () => '00000000-0000-4000-8000-000000000001',
    now: () => new Date('2030-01-01T00:00:00.000Z'),
    loadBootstrap: async () => {
      if (options.bootstrap === undefined)
        throw new CliError('BOOTSTRAP_UNAVAILABLE', 'not in this test');
      return options.bootstrap;
    },
    readFile: async (path) => {
      const text = options.documents?.[path];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    },
    readConfig: async (path) => files.get(path) ?? {},
    writeConfig: async (path, config) => void files.set(path, config),
  };
  return {
    seen,
    files,
    run: async (...args: string[]) => {
      stdout = '';
      stderr = '';
      const code = await run(args, deps);
      return { code, stdout, stderr };
    },
  };
}

const td = {
  id: 'td-1a2b3c4d5e',
  name: 'example.org',
  description: '',
  kind: 'managed',
  status: 'provisioning',
  clusters: 1,
  deployments: 1,
  federations: 0,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  endpoints: { agent: null, bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null },
};

test('trust-domain create: body from flags, bearer token, Idempotency-Key on the POST', async () => {
  const h = harness(() => ({ status: 201, body: td }), { env: { TPCTL_TOKEN: 'env-token' } });
  const result = await h.run(
    'trust-domain',
    'create',
    'example.org',
    '--self-hosted',
    '--description',
    'payments',
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(h.seen.length, 1);
  const [request] = h.seen;
  assert.equal(request?.method, 'POST');
  assert.equal(request?.path, '/api/v1/trust-domains');
  assert.deepEqual(request?.body, {
    name: 'example.org',
    kind: 'self-hosted',
    description: 'payments',
  });
  assert.equal(request?.headers['authorization'], 'Bearer env-token');
  assert.equal(request?.headers['idempotency-key'], '00000000-0000-4000-8000-000000000001');
  assert.match(
    result.stdout,
    /^Trust domain example\.org \(td-1a2b3c4d5e\) created\.\n\nID: +td-1a2b3c4d5e\nName: +example\.org\n/,
  );
});

test('trust-domain create body: managed by default, description only when given', () => {
  assert.deepEqual(trustDomainCreateBody('a.io', {}), { name: 'a.io', kind: 'managed' });
  assert.deepEqual(trustDomainCreateBody('a.io', { selfHosted: true }), {
    name: 'a.io',
    kind: 'self-hosted',
  });
});

test('GETs carry no Idempotency-Key; the --token flag beats env and file', async () => {
  const h = harness(() => ({ status: 200, body: { items: [td], nextCursor: null } }), {
    env: { TPCTL_TOKEN: 'env' },
    config: { token: 'file' },
  });
  const result = await h.run('--token', 'flag', 'trust-domain', 'list');
  assert.equal(result.code, 0);
  assert.equal(h.seen[0]?.headers['authorization'], 'Bearer flag');
  assert.equal(h.seen[0]?.headers['idempotency-key'], undefined);
  assert.equal(result.stdout.split('\n').at(-2), '1 trust domain found.');
});

test('the server comes from the config file when neither flag nor env names one', async () => {
  const h = harness(() => ({ status: 200, body: { items: [], nextCursor: null } }), {
    config: { server: 'http://registry.internal:9000' },
  });
  const result = await h.run('trust-domain', 'list');
  assert.equal(result.stdout, 'No trust domains found.\n');
  assert.equal(h.seen[0]?.origin, 'http://registry.internal:9000');
  assert.equal(h.seen[0]?.headers['authorization'], undefined);
  await h.run('trust-domain', 'list');
  const withEnv = harness(() => ({ status: 200, body: { items: [], nextCursor: null } }), {
    env: { TPCTL_SERVER: 'http://env:1' },
    config: { server: 'http://registry.internal:9000' },
  });
  await withEnv.run('trust-domain', 'list');
  assert.equal(withEnv.seen[0]?.origin, 'http://env:1');
  await withEnv.run('--server', 'http://flag:2', 'trust-domain', 'list');
  assert.equal(withEnv.seen[1]?.origin, 'http://flag:2');
});

test('lists follow nextCursor to the end; --output json prints the items array', async () => {
  const h = harness((request) =>
    request.query['after'] === undefined
      ? { status: 200, body: { items: [{ ...td, name: 'a.io' }], nextCursor: 'c1' } }
      : { status: 200, body: { items: [{ ...td, name: 'b.io' }], nextCursor: null } },
  );
  const result = await h.run('trust-domain', 'list', '--output', 'json');
  assert.equal(result.code, 0);
  assert.deepEqual(
    h.seen.map((s) => s.query),
    [{ limit: '200' }, { limit: '200', after: 'c1' }],
  );
  const printed: unknown = JSON.parse(result.stdout);
  assert.deepEqual(
    (printed as { name: string }[]).map((item) => item.name),
    ['a.io', 'b.io'],
  );
});

test('info --show-deployments asks for them', async () => {
  const h = harness(() => ({ status: 200, body: { ...td, deployments: [] } }));
  const result = await h.run(
    '-o',
    'json',
    'trust-domain',
    'info',
    'example.org',
    '--show-deployments',
  );
  assert.equal(result.code, 0);
  assert.equal(h.seen[0]?.path, '/api/v1/trust-domains/example.org');
  assert.deepEqual(h.seen[0]?.query, { showDeployments: 'true' });
  const printed = JSON.parse(result.stdout) as Record<string, unknown>;
  assert.equal(printed['created_at'], td.createdAt, '--output json is snake_case');
  assert.deepEqual(Object.keys(printed).filter((key) => /[A-Z]/.test(key)), []);
  assert.deepEqual(printed['endpoints'], { agent: null, bundle: null, jwt_issuer: null, jwks: null, oidc_discovery: null });
});

test('delete reads the trust domain, deletes it by id and names both', async () => {
  const h = harness((request) =>
    request.method === 'GET' ? { status: 200, body: td } : { status: 204 },
  );
  const result = await h.run('trust-domain', 'delete', 'example.org');
  assert.equal(result.code, 0);
  assert.deepEqual(
    h.seen.map((s) => `${s.method} ${s.path}`),
    ['GET /api/v1/trust-domains/example.org', 'DELETE /api/v1/trust-domains/td-1a2b3c4d5e'],
  );
  assert.equal(result.stdout, 'Trust domain example.org (td-1a2b3c4d5e) deleted.\n');
});

test("a refused delete prints the server's problem as Error: <detail> (<code>) and exits 1", async () => {
  const detail =
    'Trust domain has clusters in use; delete all clusters (production c-1qa5rgostn) before trying again';
  const h = harness((request) =>
    request.method === 'GET'
      ? { status: 200, body: td }
      : {
          status: 409,
          body: { status: 409, title: 'Conflict', code: 'TRUST_DOMAIN_IN_USE', detail },
        },
  );
  const result = await h.run('trust-domain', 'delete', 'td-1a2b3c4d5e');
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, `Error: ${detail} (TRUST_DOMAIN_IN_USE)\n`);
});

test('deployment and cluster commands map to their routes, in the flag form and the positional alias', async () => {
  const deployment = { id: 'tdd-0000000001', name: 'primary', trustDomainId: 'td-1a2b3c4d5e', trustDomainName: 'example.org', region: '', activeKeys: 0, createdAt: td.createdAt, updatedAt: td.updatedAt };
  const cluster = { id: 'c-0000000001', name: 'prod', trustDomainId: 'td-1a2b3c4d5e', configVersions: [{ id: 'cv-0000000007', createdAt: td.createdAt }] };
  const h = harness((request) => {
    if (request.method === 'DELETE') return { status: 204 };
    if (request.path.includes('/deployments')) return { status: request.method === 'POST' ? 201 : 200, body: deployment };
    return { status: request.method === 'POST' && !request.path.endsWith('/disable') ? 201 : 200, body: cluster };
  });
  const ok = async (...args: string[]) => {
    const result = await h.run(...args);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  await ok('trust-domain', 'deployment', 'create', 'example.org', 'primary', '--region', 'eu-west-1', '--no-key');
  await ok('trust-domain', 'deployment', 'create', 'primary', '--trust-domain', 'example.org', '--no-key');
  await ok('trust-domain', 'deployment', 'delete', 'example.org', 'primary', '--force');
  const deletedByFlag = await ok('trust-domain', 'deployment', 'delete', 'primary', '--trust-domain', 'example.org');
  assert.equal(deletedByFlag.stdout, 'Deployment primary (tdd-0000000001) deleted.\n');
  await ok('cluster', 'create', 'example.org', 'prod', '--platform', 'k8s', '--description', 'main');
  await ok('cluster', 'create', 'prod', '--trust-domain', 'example.org', '--platform', 'k8s');
  const disabled = await ok('cluster', 'disable', 'prod', '--trust-domain', 'example.org');
  assert.equal(disabled.stdout, 'Cluster config cv-0000000007 disabled.\nCluster prod (c-0000000001) disabled.\n');
  const deleted = await ok('cluster', 'delete', 'example.org', 'prod');
  assert.equal(deleted.stdout, 'Deleted cluster version cv-0000000007.\nCluster prod (c-0000000001) deleted.\n');
  assert.deepEqual(
    h.seen.map((s) => [s.method, s.path, s.query, s.body]),
    [
      ['POST', '/api/v1/trust-domains/example.org/deployments', {}, { name: 'primary', region: 'eu-west-1' }],
      ['POST', '/api/v1/trust-domains/example.org/deployments', {}, { name: 'primary' }],
      ['GET', '/api/v1/trust-domains/example.org/deployments/primary', {}, undefined],
      ['DELETE', '/api/v1/trust-domains/example.org/deployments/tdd-0000000001', { force: 'true' }, undefined],
      ['GET', '/api/v1/trust-domains/example.org/deployments/primary', {}, undefined],
      ['DELETE', '/api/v1/trust-domains/example.org/deployments/tdd-0000000001', {}, undefined],
      ['POST', '/api/v1/trust-domains/example.org/clusters', {}, { name: 'prod', platform: 'k8s', description: 'main' }],
      ['POST', '/api/v1/trust-domains/example.org/clusters', {}, { name: 'prod', platform: 'k8s' }],
      ['POST', '/api/v1/trust-domains/example.org/clusters/prod/disable', {}, undefined],
      ['GET', '/api/v1/trust-domains/example.org/clusters/prod', {}, undefined],
      ['DELETE', '/api/v1/trust-domains/example.org/clusters/c-0000000001', {}, undefined],
    ],
  );
  // A resource without its trust domain, or two trust domains, is refused before any request.
  const before = h.seen.length;
  const missing = await h.run('cluster', 'disable', 'prod');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /name the trust domain: <cluster> --trust-domain <name-or-id> \(INVALID_ARGUMENT\)/);
  const twice = await h.run('cluster', 'list', 'a.io', '--trust-domain', 'b.io');
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /two trust domains given/);
  assert.equal(h.seen.length, before);
});

test('cluster create refuses an unknown platform before any request', async () => {
  const h = harness(() => ({ status: 201, body: {} }));
  const result = await h.run('cluster', 'create', 'example.org', 'prod', '--platform', 'windows');
  assert.equal(result.code, 1);
  assert.equal(h.seen.length, 0);
  assert.match(
    result.stderr,
    /^Error: option '--platform <platform>' argument 'windows' is invalid\. Allowed choices are k8s, linux, vm, other\. \(INVALID_ARGUMENT\)\n/,
  );
});

test('entry create: repeatable flags become arrays, TTLs numbers', async () => {
  const h = harness(() => ({
    status: 201,
    body: { id: 'e-1', selectors: [], dnsNames: [], federatesWith: [], revision: 1 },
  }));
  const result = await h.run(
    'entry',
    'create',
    'example.org',
    '--spiffe-id',
    'spiffe://example.org/web',
    '--parent-id',
    'spiffe://example.org/agent/n1',
    '--selector',
    'unix:uid:1000',
    '--selector',
    'unix:gid:1000',
    '--x509-svid-ttl',
    '3600',
    '--jwt-svid-ttl',
    '300',
    '--dns-name',
    'web.internal',
    '--federates-with',
    'partner.io',
    '--federates-with',
    'other.io',
    '--admin',
    '--downstream',
    '--hint',
    'web',
    '--expires-at',
    '2031-01-01T00:00:00Z',
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(h.seen[0]?.path, '/api/v1/trust-domains/example.org/entries');
  assert.deepEqual(h.seen[0]?.body, {
    spiffeId: 'spiffe://example.org/web',
    parentId: 'spiffe://example.org/agent/n1',
    selectors: ['unix:uid:1000', 'unix:gid:1000'],
    x509SvidTtl: 3600,
    jwtSvidTtl: 300,
    dnsNames: ['web.internal'],
    federatesWith: ['partner.io', 'other.io'],
    admin: true,
    downstream: true,
    hint: 'web',
    expiresAt: '2031-01-01T00:00:00Z',
  });
});

test('entry flags are validated before any request', async () => {
  const h = harness(() => ({ status: 201, body: {} }));
  const cases: [string[], RegExp][] = [
    [['--selector', 'nocolon'], /argument 'nocolon' is invalid\. must be type:value/],
    [
      ['--selector', 'a:b', '--x509-svid-ttl', '1h'],
      /argument '1h' is invalid\. must be a positive whole number/,
    ],
    [['--selector', 'a:b', '--expires-at', 'tomorrow'], /must be an RFC 3339 time/],
    [
      ['--selector', 'a:b'],
      /^Error: entry create needs --spiffe-id, --parent-id \(INVALID_ARGUMENT\)\n$/,
    ],
  ];
  for (const [flags, pattern] of cases) {
    const result = await h.run('entry', 'create', 'example.org', ...flags);
    assert.equal(result.code, 1);
    assert.match(result.stderr, pattern);
  }
  assert.equal(h.seen.length, 0);
});

test('entry update reads the current revision and sends it with only the changed fields', async () => {
  const h = harness((request) =>
    request.method === 'GET'
      ? { status: 200, body: { id: 'e-1', revision: 7 } }
      : {
          status: 200,
          body: { id: 'e-1', revision: 8, selectors: [], dnsNames: [], federatesWith: [] },
        },
  );
  const result = await h.run(
    'entry',
    'update',
    'e-1',
    '--selector',
    'k8s:ns:a',
    '--no-admin',
    '--expires-at',
    '2031-01-01T00:00:00Z',
  );
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    h.seen.map((s) => [s.method, s.path, s.body]),
    [
      ['GET', '/api/v1/entries/e-1', undefined],
      [
        'PATCH',
        '/api/v1/entries/e-1',
        { revision: 7, selectors: ['k8s:ns:a'], admin: false, expiresAt: '2031-01-01T00:00:00Z' },
      ],
    ],
  );
  assert.match(result.stdout, /^Entry e-1 updated \(revision 8\)\./);
});

test('entry update with nothing to change makes no request', async () => {
  const h = harness(() => ({ status: 200, body: {} }));
  const result = await h.run('entry', 'update', 'e-1');
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    'Error: entry update needs at least one field to change (INVALID_ARGUMENT)\n',
  );
  assert.equal(h.seen.length, 0);
});

test('entry body mapping keeps absent flags absent', () => {
  assert.deepEqual(entryFields({}), {});
  assert.deepEqual(entryCreateBody({ spiffeId: 's', parentId: 'p', selector: ['a:b'] }), {
    spiffeId: 's',
    parentId: 'p',
    selectors: ['a:b'],
  });
  assert.deepEqual(entryPatchBody(2, { hint: '' }), { revision: 2, hint: '' });
});

test('entry list filters become query parameters; show and delete use /entries/{id}', async () => {
  const h = harness((request) =>
    request.method === 'DELETE'
      ? { status: 204 }
      : request.path.endsWith('/entries')
        ? { status: 200, body: { items: [], nextCursor: null } }
        : { status: 200, body: { id: 'e-1' } },
  );
  const listed = await h.run(
    'entry',
    'list',
    'example.org',
    '--spiffe-id',
    'spiffe://example.org/web',
    '--selector',
    'unix:uid:0',
  );
  assert.equal(listed.stdout, 'No entries found.\n');
  const deleted = await h.run('entry', 'delete', 'e-1');
  assert.equal(deleted.stdout, 'Entry e-1 deleted.\n');
  assert.deepEqual(h.seen[0]?.query, {
    spiffeId: 'spiffe://example.org/web',
    selector: 'unix:uid:0',
    limit: '200',
  });
  assert.equal(h.seen[1]?.path, '/api/v1/entries/e-1');
});

test('token create (REST): scopes split on commas, default name from the clock, secret printed once', async () => {
  const h = harness(() => ({
    status: 201,
    body: {
      id: 'tok-1',
      name: 'tpctl-20300101T000000Z',
      scopes: ['entries:read', 'admin'],
      token: 'tp_secret',
      createdAt: '2030-01-01T00:00:00Z',
      expiresAt: null,
    },
  }));
  const result = await h.run(
    'token',
    'create',
    '--scopes',
    'entries:read, admin',
    '--ttl-days',
    '30',
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(h.seen[0]?.path, '/api/v1/tokens');
  assert.equal(h.seen[0]?.headers['idempotency-key'], '00000000-0000-4000-8000-000000000001');
  assert.deepEqual(h.seen[0]?.body, {
    name: 'tpctl-20300101T000000Z',
    scopes: ['entries:read', 'admin'],
    ttlDays: 30,
  });
  assert.match(result.stdout, /\n\ntp_secret\n\nCopy this token now: it is not shown again\.\n$/);
});

test('token and bootstrap bodies', () => {
  const now = new Date('2030-01-01T12:34:56.789Z');
  assert.equal(defaultTokenName(now), 'tpctl-20300101T123456Z');
  assert.deepEqual(tokenCreateBody({ scopes: ['admin'], name: 'ci' }, now), {
    name: 'ci',
    scopes: ['admin'],
  });
  assert.deepEqual(
    bootstrapTokenRequest({ scopes: ['admin'], org: 't-0000000001', ttlDays: 1 }, now),
    {
      organizationId: 't-0000000001',
      name: 'tpctl-20300101T123456Z',
      scopes: ['admin'],
      ttlDays: 1,
    },
  );
  assert.throws(
    () => bootstrapTokenRequest({ scopes: ['admin'], org: 'acme' }, now),
    /--org "acme" is not an organization id/,
  );
});

test('token create --org and org create go host-local: no HTTP at all', async () => {
  const calls: unknown[] = [];
  const bootstrap: BootstrapPort = {
    bootstrapOrganization: async (env, name) => {
      calls.push(['org', env['NATS_URL'], name]);
      // tpctl's own TP_ keys are not passed on: the services refuse unknown TP_ keys.
      assert.deepEqual(Object.keys(env).sort(), ['NATS_URL']);
      return { id: 't-0000000001', name };
    },
    bootstrapToken: async (_env, request: BootstrapTokenRequest) => {
      calls.push(['token', request]);
      return { id: 'tok-1', token: 'tp_boot', scopes: request.scopes, expiresAt: null };
    },
  };
  const h = harness(() => ({ status: 500 }), {
    env: { NATS_URL: 'nats://n:4222', TPCTL_SERVER: 'http://x:1', TPCTL_TOKEN: 't' },
    bootstrap,
  });
  const org = await h.run('org', 'create', '--name', 'acme');
  assert.equal(org.stdout, 'Organization acme (t-0000000001) created.\n');
  const token = await h.run(
    '-o',
    'json',
    'token',
    'create',
    '--org',
    't-0000000001',
    '--scopes',
    'admin',
    '--name',
    'first',
  );
  assert.equal(token.code, 0, token.stderr);
  assert.deepEqual(JSON.parse(token.stdout), {
    id: 'tok-1',
    token: 'tp_boot',
    scopes: ['admin'],
    expires_at: null,
  });
  assert.deepEqual(calls, [
    ['org', 'nats://n:4222', 'acme'],
    ['token', { organizationId: 't-0000000001', name: 'first', scopes: ['admin'] }],
  ]);
  assert.equal(h.seen.length, 0);
});

test('config set-context merges into the file; --output json prints no secret', async () => {
  const h = harness(() => ({ status: 500 }), { config: { server: 'http://old:1', token: 'old' } });
  const result = await h.run('config', 'set-context', '--token', 'new');
  assert.equal(result.stdout, 'Context saved to /home/op/.config/tpctl/config.yaml.\n');
  assert.deepEqual(h.files.get('/home/op/.config/tpctl/config.yaml'), {
    server: 'http://old:1',
    token: 'new',
  });
  const json = await h.run(
    '-o',
    'json',
    'config',
    'set-context',
    '--server',
    'https://tp.example.net',
  );
  assert.deepEqual(JSON.parse(json.stdout), {
    path: '/home/op/.config/tpctl/config.yaml',
    server: 'https://tp.example.net',
    token_set: true,
  });
  const none = await h.run('config', 'set-context');
  assert.equal(none.code, 1);
});

test('usage errors and unknown commands exit 1 in the Error: … (CODE) shape; --help exits 0', async () => {
  const h = harness(() => ({ status: 500 }));
  const missing = await h.run('cluster', 'create', 'example.org', 'prod');
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^Error: required option '--platform <platform>' not specified \(INVALID_ARGUMENT\)\n/,
  );
  const unknown = await h.run('frobnicate');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^Error: unknown command 'frobnicate' \(INVALID_ARGUMENT\)/);
  const help = await h.run('entry', 'create', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--selector <type:value>/);
});

test('an unreachable server is reported with its URL', async () => {
  const h = harness(() => {
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
  });
  const result = await h.run('--server', 'http://127.0.0.1:1', 'trust-domain', 'list');
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    'Error: cannot reach http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (SERVER_UNREACHABLE)\n',
  );
});

const keyset = (id: string, state: string) => ({
  id,
  state,
  keyType: 'ec-p256',
  x509: { notBefore: '2030-01-01T00:00:00.000Z', notAfter: '2030-01-02T00:00:00.000Z', skid: 'ab' },
  jwt: { kid: `kid-${id}`, notAfter: '2030-01-02T00:00:00.000Z' },
  preparedAt: '2030-01-01T00:00:00.000Z',
  activatedAt: null,
});

test('keyset list|prepare|activate|taint|revoke map to the deployment keyset routes', async () => {
  const h = harness((request) => {
    if (request.method === 'GET')
      return {
        status: 200,
        body: { items: [keyset('ks-1', 'active'), keyset('ks-2', 'prepared')], nextCursor: null },
      };
    const id = request.path.split('/')[8] ?? 'ks-3';
    return {
      status: request.path.endsWith('/keysets') ? 201 : 200,
      body: { keyset: keyset(id, 'prepared'), keysets: [keyset(id, 'prepared')] },
    };
  });
  const list = await h.run(
    'trust-domain',
    'deployment',
    'keyset',
    'list',
    'example.org',
    'tdd-0000000001',
  );
  assert.equal(list.code, 0, list.stderr);
  assert.equal(
    list.stdout,
    'ID    State     Key type  Not before                Not after                 JWT kid\n' +
      'ks-1  active    ec-p256   2030-01-01T00:00:00.000Z  2030-01-02T00:00:00.000Z  kid-ks-1\n' +
      'ks-2  prepared  ec-p256   2030-01-01T00:00:00.000Z  2030-01-02T00:00:00.000Z  kid-ks-2\n' +
      '2 keysets found.\n',
  );
  const prepared = await h.run(
    'td',
    'deployment',
    'keyset',
    'prepare',
    'example.org',
    'tdd-0000000001',
  );
  assert.equal(prepared.code, 0, prepared.stderr);
  assert.match(prepared.stdout, /^Keyset ks-3 prepared\.\n\nID +State/);
  for (const [action, done] of [
    ['activate', 'activated'],
    ['taint', 'tainted'],
    ['revoke', 'revoked'],
  ]) {
    const acted = await h.run(
      'trust-domain',
      'deployment',
      'keyset',
      action ?? '',
      'example.org',
      'tdd-0000000001',
      'ks-7',
    );
    assert.equal(acted.code, 0, acted.stderr);
    assert.match(acted.stdout, new RegExp(`^Keyset ks-7 ${done}\\.\\n\\n`));
  }
  assert.deepEqual(
    h.seen.map((r) => `${r.method} ${r.path}`),
    [
      'GET /api/v1/trust-domains/example.org/deployments/tdd-0000000001/keysets',
      'POST /api/v1/trust-domains/example.org/deployments/tdd-0000000001/keysets',
      'POST /api/v1/trust-domains/example.org/deployments/tdd-0000000001/keysets/ks-7/activate',
      'POST /api/v1/trust-domains/example.org/deployments/tdd-0000000001/keysets/ks-7/taint',
      'POST /api/v1/trust-domains/example.org/deployments/tdd-0000000001/keysets/ks-7/revoke',
    ],
  );
  assert.ok(
    h.seen
      .slice(1)
      .every((r) => r.headers['idempotency-key'] !== undefined && r.body === undefined),
  );
  const json = await h.run(
    '-o',
    'json',
    'trust-domain',
    'deployment',
    'keyset',
    'list',
    'example.org',
    'tdd-0000000001',
  );
  assert.deepEqual(
    JSON.parse(json.stdout).map((k: { id: string }) => k.id),
    ['ks-1', 'ks-2'],
  );
  const actedJson = await h.run(
    '--output',
    'json',
    'td',
    'deployment',
    'keyset',
    'taint',
    'example.org',
    'tdd-0000000001',
    'ks-9',
  );
  assert.equal(JSON.parse(actedJson.stdout).keyset.id, 'ks-9');
});

test('keyset: an empty list, and the signer being away reported with its code', async () => {
  const empty = harness(() => ({ status: 200, body: { items: [], nextCursor: null } }));
  assert.equal(
    (await empty.run('td', 'deployment', 'keyset', 'list', 'example.org', 'tdd-0000000001')).stdout,
    'No keysets found.\n',
  );
  const away = harness(() => ({
    status: 503,
    body: {
      status: 503,
      code: 'SIGNER_UNAVAILABLE',
      detail: 'no signer answered within 5 s; retry later',
    },
  }));
  const result = await away.run(
    'td',
    'deployment',
    'keyset',
    'prepare',
    'example.org',
    'tdd-0000000001',
  );
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    'Error: no signer answered within 5 s; retry later (SIGNER_UNAVAILABLE)\n',
  );
});

const keyManagerYaml = `section: key-manager
schema: v1
spec:
  kind: webhook
  webhookURL: https://km.example:8443
  authType: bearer
  tokenPath: /run/secrets/km-token
  timeout: 10s
`;

test('config set: the YAML file goes as JSON to PUT /config/…; version flags; the outcome in words', async () => {
  const h = harness(
    (request) => ({
      status: 200,
      body: {
        targetKind: 'trust-domain-deployment',
        targetId: 'tdd-0000000001',
        trustDomainId: 'td-0000000001',
        section: 'key-manager',
        schema: 'v1',
        spec: (request.body as { spec: unknown }).spec,
        version: 3,
        createdAt: null,
        updatedAt: null,
        changed:
          request.query['validateOnly'] !== undefined ||
          (request.body as { expectedVersion?: number }).expectedVersion === 2,
        validateOnly: request.query['validateOnly'] === 'true',
      },
    }),
    { documents: { 'key-manager.yaml': keyManagerYaml } },
  );
  const stored = await h.run(
    'config',
    'set',
    'trust-domain-deployment',
    '--id',
    'tdd-0000000001',
    'key-manager.yaml',
    '--expected-version',
    '2',
  );
  assert.equal(stored.code, 0, stored.stderr);
  assert.equal(
    stored.stdout,
    'Section key-manager of trust-domain-deployment tdd-0000000001 stored as version 3.\n',
  );
  const [put] = h.seen;
  assert.equal(put?.method, 'PUT');
  assert.equal(put?.path, '/api/v1/config/trust-domain-deployment/tdd-0000000001/key-manager');
  assert.deepEqual(put?.query, {});
  assert.deepEqual(put?.body, {
    schema: 'v1',
    spec: {
      kind: 'webhook',
      webhookURL: 'https://km.example:8443',
      authType: 'bearer',
      tokenPath: '/run/secrets/km-token',
      timeout: '10s',
    },
    expectedVersion: 2,
  });
  assert.equal(put?.headers['content-type'], 'application/json');
  const unchanged = await h.run(
    'config',
    'set',
    'trust-domain-deployment',
    '--id',
    'tdd-0000000001',
    'key-manager.yaml',
  );
  assert.equal(
    unchanged.stdout,
    'Section key-manager of trust-domain-deployment tdd-0000000001 unchanged (version 3).\n',
  );
  assert.equal((h.seen[1]?.body as { expectedVersion?: number }).expectedVersion, undefined);
  const checked = await h.run(
    'config',
    'set',
    'trust-domain-deployment',
    '--id',
    'tdd-0000000001',
    'key-manager.yaml',
    '--validate-only',
  );
  assert.equal(h.seen[2]?.query['validateOnly'], 'true');
  assert.equal(
    checked.stdout,
    'Section key-manager of trust-domain-deployment tdd-0000000001 is valid; nothing was stored (--validate-only). Storing it would make version 3.\n',
  );
  const json = await h.run(
    '-o',
    'json',
    'config',
    'set',
    'trust-domain-deployment',
    '--id',
    'tdd-0000000001',
    'key-manager.yaml',
  );
  assert.equal(JSON.parse(json.stdout).version, 3);
});

test('config set: bad files and flags are refused before any request; server refusals name the field', async () => {
  const h = harness(
    () => ({
      status: 400,
      body: {
        status: 400,
        code: 'CONFIG_INVALID',
        detail: 'config document is invalid: spec.webhookURL: required',
        errors: [{ field: 'spec.webhookURL', code: 'CONFIG_INVALID', message: 'required' }],
      },
    }),
    {
      documents: {
        'agent.yaml': 'section: agent\nschema: v1\nspec: {}\n',
        'extra.yaml': 'section: key-manager\nschema: v1\nspec: {}\ncolour: red\n',
        'list.yaml': '- a\n',
        'broken.yaml': 'section: [\n',
        'nospec.yaml': 'section: key-manager\nschema: v1\n',
        'km.json': '{"section": "key-manager", "schema": "v1", "spec": {"kind": "webhook"}}',
      },
    },
  );
  const refusals: [string[], RegExp][] = [
    [
      ['agent.yaml'],
      /^Error: agent\.yaml: section "agent" is not a trust-domain-deployment section \(expected key-manager\) \(DOCUMENT_INVALID\)\n$/,
    ],
    [
      ['extra.yaml'],
      /unknown key "colour" \(expected section, schema, spec\) \(DOCUMENT_INVALID\)/,
    ],
    [
      ['list.yaml'],
      /must be a mapping with the keys section, schema and spec \(DOCUMENT_INVALID\)/,
    ],
    [['broken.yaml'], /^Error: broken\.yaml is not valid YAML: .* \(DOCUMENT_INVALID\)\n$/],
    [['nospec.yaml'], /"spec" must be a mapping \(DOCUMENT_INVALID\)/],
    [['missing.yaml'], /^Error: cannot read missing\.yaml: ENOENT.* \(DOCUMENT_INVALID\)\n$/],
    [
      ['km.json', '--expected-version', 'latest'],
      /option '--expected-version <n>' argument 'latest' is invalid/,
    ],
  ];
  for (const [args, pattern] of refusals) {
    const result = await h.run(
      'config',
      'set',
      'trust-domain-deployment',
      '--id',
      'tdd-0000000001',
      ...args,
    );
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, pattern);
  }
  const noId = await h.run('config', 'set', 'cluster', 'agent.yaml');
  assert.match(noId.stderr, /name the target: --id, or --trust-domain with --cluster \(INVALID_ARGUMENT\)/);
  const both = await h.run('config', 'set', 'cluster', 'agent.yaml', '--id', 'c-1', '--trust-domain', 'a.io', '--cluster', 'edge');
  assert.match(both.stderr, /give either --id or --trust-domain with --cluster, not both/);
  assert.equal(h.seen.length, 0, 'no request for a refused file or flag');
  const refused = await h.run(
    'config',
    'set',
    'trust-domain-deployment',
    '--id',
    'tdd-0000000001',
    'km.json',
  );
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    'Error: config document is invalid: spec.webhookURL: required (CONFIG_INVALID)\n  spec.webhookURL: required (CONFIG_INVALID)\n',
  );
});

test('config get shows the section and its spec as YAML', async () => {
  const h = harness(() => ({
    status: 200,
    body: {
      targetKind: 'cluster',
      targetId: 'c-0000000001',
      trustDomainId: 'td-0000000001',
      section: 'agent',
      schema: 'v1',
      spec: { svidTtlSeconds: 1800, logLevel: 'info' },
      version: 2,
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-02T00:00:00.000Z',
    },
  }));
  const shown = await h.run('config', 'get', 'cluster', '--id', 'c-0000000001', 'agent');
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(h.seen[0]?.path, '/api/v1/config/cluster/c-0000000001/agent');
  assert.equal(
    shown.stdout,
    'Target:       cluster c-0000000001\n' +
      'Trust domain: td-0000000001\n' +
      'Section:      agent\n' +
      'Schema:       v1\n' +
      'Version:      2\n' +
      'Updated:      2030-01-02T00:00:00.000Z\n' +
      'Spec:\n' +
      '  svidTtlSeconds: 1800\n' +
      '  logLevel: info\n',
  );
});

// ---- node attestation: cluster keys, join tokens, agents --------------------------------------

const createdCluster = {
  id: 'c-0000000001',
  trustDomainId: 'td-1a2b3c4d5e',
  name: 'prod',
  platform: 'linux',
  description: '',
  status: 'active',
  configVersions: [],
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  clusterKey: { keyId: 'ck-0000000001', privateKey: '-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n' },
};

test('cluster create prints the private cluster key once, with a warning; --output json includes it', async () => {
  const h = harness(() => ({ status: 201, body: createdCluster }));
  const result = await h.run('cluster', 'create', 'example.org', 'prod', '--platform', 'linux');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Cluster prod \(c-0000000001\) created\.\n/);
  assert.ok(
    result.stdout.endsWith(
      '\nCluster key ck-0000000001 (Ed25519). Save the private key now: it is shown only this once and\n' +
        'is not stored anywhere. Agents of this cluster attest with it.\n\n' +
        '-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n',
    ),
    result.stdout,
  );
  const json = await h.run('--output', 'json', 'cluster', 'create', 'example.org', 'prod', '--platform', 'linux');
  assert.deepEqual(JSON.parse(json.stdout).cluster_key, snakeCaseKeys(createdCluster.clusterKey));
});

const joinToken = {
  id: 'jt-0000000001',
  token: 'tpjt_jt-0000000001_' + 'A'.repeat(43),
  clusterId: 'c-0000000001',
  trustDomainId: 'td-1a2b3c4d5e',
  expiresAt: '2030-01-01T01:00:00.000Z',
  createdAt: '2030-01-01T00:00:00.000Z',
};

test('cluster join-token create with --trust-domain: one POST, ttl parsed, token printed once', async () => {
  const h = harness(() => ({ status: 201, body: joinToken }));
  const result = await h.run('cluster', 'join-token', 'create', '--cluster', 'c-0000000001', '--trust-domain', 'example.org', '--ttl', '10m');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(h.seen.length, 1);
  assert.equal(h.seen[0]?.method, 'POST');
  assert.equal(h.seen[0]?.path, '/api/v1/trust-domains/example.org/clusters/c-0000000001/join-tokens');
  assert.deepEqual(h.seen[0]?.body, { ttlSeconds: 600 });
  assert.equal(
    result.stdout,
    'ID:           jt-0000000001\n' +
      'Cluster:      c-0000000001\n' +
      'Trust domain: td-1a2b3c4d5e\n' +
      'Expires:      2030-01-01T01:00:00.000Z\n' +
      '\nJoin token (single use; shown only this once):\n' +
      `${joinToken.token}\n`,
  );
  const json = await h.run('-o', 'json', 'cluster', 'join-token', 'create', '--cluster', 'prod', '--trust-domain', 'example.org');
  assert.deepEqual(JSON.parse(json.stdout), snakeCaseKeys(joinToken));
  assert.deepEqual(h.seen.at(-1)?.body, {}, 'no --ttl: the server default applies');
});

test('cluster join-token create without --trust-domain finds the cluster across trust domains', async () => {
  const other = { ...td, id: 'td-0000000009', name: 'other.org' };
  const h = harness((request) => {
    if (request.path === '/api/v1/trust-domains') return { status: 200, body: { items: [other, td], nextCursor: null } };
    if (request.method === 'GET' && request.path.startsWith('/api/v1/trust-domains/td-0000000009/')) {
      return { status: 404, body: { type: 'about:blank', title: 'Not Found', status: 404, code: 'CLUSTER_NOT_FOUND', detail: 'cluster c-0000000001 not found' } };
    }
    if (request.method === 'GET') return { status: 200, body: createdCluster };
    return { status: 201, body: joinToken };
  });
  const result = await h.run('cluster', 'join-token', 'create', '--cluster', 'c-0000000001', '--ttl', '3600');
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    h.seen.map((r) => `${r.method} ${r.path}`),
    [
      'GET /api/v1/trust-domains',
      'GET /api/v1/trust-domains/td-0000000009/clusters/c-0000000001',
      'GET /api/v1/trust-domains/td-1a2b3c4d5e/clusters/c-0000000001',
      'POST /api/v1/trust-domains/td-1a2b3c4d5e/clusters/c-0000000001/join-tokens',
    ],
  );
  assert.deepEqual(h.seen.at(-1)?.body, { ttlSeconds: 3600 });
});

test('cluster join-token create: unknown cluster, ambiguous names and bad --ttl are errors', async () => {
  const notFound = harness((request) =>
    request.path === '/api/v1/trust-domains'
      ? { status: 200, body: { items: [td], nextCursor: null } }
      : { status: 404, body: { type: 'about:blank', title: 'Not Found', status: 404, code: 'CLUSTER_NOT_FOUND', detail: 'nope' } },
  );
  const missing = await notFound.run('cluster', 'join-token', 'create', '--cluster', 'c-zzzzzzzzzz');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: cluster c-zzzzzzzzzz not found in any trust domain (CLUSTER_NOT_FOUND)\n');
  assert.ok(notFound.seen.every((r) => r.method === 'GET'), 'nothing was created');

  const other = { ...td, id: 'td-0000000009', name: 'other.org' };
  const ambiguous = harness((request) =>
    request.path === '/api/v1/trust-domains' ? { status: 200, body: { items: [td, other], nextCursor: null } } : { status: 200, body: createdCluster },
  );
  const twice = await ambiguous.run('cluster', 'join-token', 'create', '--cluster', 'prod');
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /exists in several trust domains \(td-1a2b3c4d5e, td-0000000009\); pass --trust-domain/);
  assert.ok(ambiguous.seen.every((r) => r.method === 'GET'));

  const h = harness(() => ({ status: 201, body: joinToken }));
  for (const ttl of ['1 hour', '0', '-5', '1w']) {
    const bad = await h.run('cluster', 'join-token', 'create', '--cluster', 'prod', '--trust-domain', 'example.org', '--ttl', ttl);
    assert.equal(bad.code, 1, ttl);
    assert.match(bad.stderr, /--ttl <duration>.*must be a duration such as 3600, 90s, 10m, 1h or 1d/, ttl);
  }
  assert.equal(h.seen.length, 0);
  const missingFlag = await h.run('cluster', 'join-token', 'create');
  assert.equal(missingFlag.code, 1);
  assert.match(missingFlag.stderr, /--cluster <cluster>/);
});

const agent = {
  id: 'ag-ac19q0qoyg',
  trustDomainId: 'td-1a2b3c4d5e',
  clusterId: 'c-0000000001',
  clusterName: 'prod',
  nodeName: 'node-1',
  spiffeId: 'spiffe://example.org/agent/prod/node-1',
  method: 'join_token',
  serialNumber: '01aa',
  expiresAt: '2030-01-01T01:00:00.000Z',
  banned: false,
  banReason: null,
  attestedAt: '2030-01-01T00:00:00.000Z',
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
};

test('agent list|show|ban map to their routes and print tables', async () => {
  const h = harness((request) => {
    if (request.path === '/api/v1/trust-domains/example.org/agents') return { status: 200, body: { items: [agent], nextCursor: null } };
    if (request.method === 'POST') return { status: 200, body: { ...agent, banned: true, banReason: 'stolen' } };
    return { status: 200, body: agent };
  });
  const list = await h.run('agent', 'list', 'example.org');
  assert.equal(list.code, 0, list.stderr);
  assert.equal(
    list.stdout,
    'ID             SPIFFE ID                               Cluster       Node    Method      Serial  Expires                   Banned  Attested\n' +
      'ag-ac19q0qoyg  spiffe://example.org/agent/prod/node-1  c-0000000001  node-1  join_token  01aa    2030-01-01T01:00:00.000Z  no      2030-01-01T00:00:00.000Z\n' +
      '1 agent found.\n',
  );
  const show = await h.run('agent', 'show', 'ag-ac19q0qoyg');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^ID: {12}ag-ac19q0qoyg\nSPIFFE ID: {5}spiffe:\/\/example\.org\/agent\/prod\/node-1\n/);
  assert.match(show.stdout, /\nCluster: {7}prod \(c-0000000001\)\n/);
  assert.match(show.stdout, /\nBanned: {8}no\n/);
  const ban = await h.run('agent', 'ban', 'ag-ac19q0qoyg', '--reason', 'stolen');
  assert.equal(ban.code, 0, ban.stderr);
  assert.equal(ban.stdout, 'Agent ag-ac19q0qoyg (spiffe://example.org/agent/prod/node-1) banned.\n');
  const post = h.seen.at(-1);
  assert.equal(post?.path, '/api/v1/agents/ag-ac19q0qoyg/ban');
  assert.deepEqual(post?.body, { reason: 'stolen' });
  assert.equal(post?.headers['idempotency-key'], '00000000-0000-4000-8000-000000000001');
  const json = await h.run('--output', 'json', 'agent', 'list', 'example.org');
  assert.deepEqual(JSON.parse(json.stdout), snakeCaseKeys([agent]));
  const shownJson = await h.run('-o', 'json', 'agent', 'ban', 'ag-ac19q0qoyg');
  assert.equal(JSON.parse(shownJson.stdout).banned, true);
  assert.deepEqual(h.seen.at(-1)?.body, {});
});

test('agent list: an empty list says so; an unknown agent is the server’s 404', async () => {
  const h = harness((request) =>
    request.path.endsWith('/agents')
      ? { status: 200, body: { items: [], nextCursor: null } }
      : { status: 404, body: { type: 'about:blank', title: 'Not Found', status: 404, code: 'AGENT_NOT_FOUND', detail: 'agent ag-zzzzzzzzzz not found' } },
  );
  assert.equal((await h.run('agent', 'list', 'example.org')).stdout, 'No agents found.\n');
  const missing = await h.run('agent', 'show', 'ag-zzzzzzzzzz');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: agent ag-zzzzzzzzzz not found (AGENT_NOT_FOUND)\n');
});

test('202 (committed, not yet visible): tpctl says so, prints a shown-once secret it carries, and exits 0', async () => {
  const accepted = {
    id: 'tok-1a2b3c4d5e',
    status: 'accepted',
    detail: 'the change is committed; it will be visible shortly',
    name: 'ci',
    scopes: ['entries:read'],
    token: 'tp_tok-1a2b3c4d5e_secret',
  };
  const h = harness(() => ({ status: 202, body: accepted }));
  const human = await h.run('--token', 't', 'token', 'create', '--scopes', 'entries:read', '--name', 'ci');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^Accepted: tok-1a2b3c4d5e is committed and will be visible shortly\./);
  assert.match(human.stdout, /token: tp_tok-1a2b3c4d5e_secret/);
  assert.match(human.stdout, /shown only once/);
  const json = await h.run('--token', 't', '-o', 'json', 'token', 'create', '--scopes', 'entries:read', '--name', 'ci');
  assert.equal(json.code, 0);
  assert.deepEqual(JSON.parse(json.stdout), snakeCaseKeys(accepted));
  const located = harness(() => ({ status: 202, body: { id: td.id, status: 'accepted', detail: 'x', location: `/api/v1/trust-domains/${td.id}` } }));
  const created = await located.run('--token', 't', 'trust-domain', 'create', 'example.org');
  assert.equal(created.code, 0);
  assert.equal(created.stdout, `Accepted: ${td.id} is committed and will be visible shortly (/api/v1/trust-domains/${td.id}).\n`);
});

test('503 with Retry-After: a POST is sent again with the same Idempotency-Key; other methods are not', async () => {
  const unavailable: Reply = { status: 503, body: { status: 503, code: 'EVENT_LOG_UNAVAILABLE', detail: 'retry' }, headers: { 'retry-after': '0' } };
  let posts = 0;
  const h = harness((request) => (request.method === 'POST' && ++posts === 1 ? unavailable : request.method === 'POST' ? { status: 201, body: td } : unavailable));
  const created = await h.run('--token', 't', 'trust-domain', 'create', 'example.org');
  assert.equal(created.code, 0, created.stderr);
  assert.equal(h.seen.length, 2);
  assert.equal(h.seen[0]?.headers['idempotency-key'], h.seen[1]?.headers['idempotency-key']);
  const deleted = await h.run('--token', 't', 'entry', 'delete', 'e-0123456789');
  assert.equal(deleted.code, 1);
  assert.match(deleted.stderr, /EVENT_LOG_UNAVAILABLE/);
  assert.equal(h.seen.filter((r) => r.method === 'DELETE').length, 1, 'a DELETE is not repeated');
});

test('config set|get name their target by --trust-domain with --deployment-name or --cluster, looked up to its id', async () => {
  const h = harness(
    (request) => {
      if (request.method === 'GET' && request.path.includes('/deployments/')) return { status: 200, body: { id: 'tdd-0000000009' } };
      if (request.method === 'GET' && request.path.includes('/clusters/')) return { status: 200, body: { id: 'c-0000000009' } };
      return { status: 200, body: { targetKind: 'cluster', targetId: 'c-0000000009', trustDomainId: 'td-1', section: 'agent', schema: 'v1', spec: {}, version: 1, createdAt: null, updatedAt: null, changed: true, validateOnly: false } };
    },
    { documents: { 'key-manager.yaml': keyManagerYaml } },
  );
  const set = await h.run('config', 'set', 'trust-domain-deployment', 'key-manager.yaml', '--trust-domain', 'on-prem.example.com', '--deployment-name', 'us-west-2');
  assert.equal(set.code, 0, set.stderr);
  const got = await h.run('config', 'get', 'cluster', 'agent', '--trust-domain', 'on-prem.example.com', '--cluster', 'edge');
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(
    h.seen.map((s) => `${s.method} ${s.path}`),
    [
      'GET /api/v1/trust-domains/on-prem.example.com/deployments/us-west-2',
      'PUT /api/v1/config/trust-domain-deployment/tdd-0000000009/key-manager',
      'GET /api/v1/trust-domains/on-prem.example.com/clusters/edge',
      'GET /api/v1/config/cluster/c-0000000009/agent',
    ],
  );
});

test('whoami, token list and token revoke by name or id', async () => {
  const tokens = [
    { id: 'tok-0000000001', name: 'ci', scopes: ['entries:read'], revoked: false, createdAt: '2030-01-01T00:00:00.000Z', expiresAt: null },
    { id: 'tok-0000000002', name: 'old', scopes: ['admin'], revoked: false, createdAt: '2029-01-01T00:00:00.000Z', expiresAt: '2029-06-01T00:00:00.000Z' },
    { id: 'tok-0000000003', name: 'twin', scopes: ['admin'], revoked: false, createdAt: '2030-01-01T00:00:00.000Z', expiresAt: null },
    { id: 'tok-0000000004', name: 'twin', scopes: ['admin'], revoked: false, createdAt: '2030-01-01T00:00:00.000Z', expiresAt: null },
  ];
  const h = harness((request) => {
    if (request.path === '/api/v1/whoami') {
      return { status: 200, body: { organizationId: 't-0000000001', organizationName: 'Acme', tokenId: 'tok-0000000001', tokenName: 'ci', scopes: ['entries:read'], createdAt: '2030-01-01T00:00:00.000Z', expiresAt: '2030-02-01T12:00:00.250Z' } };
    }
    if (request.method === 'DELETE') return { status: 204 };
    return { status: 200, body: { items: tokens, nextCursor: null } };
  });
  const me = await h.run('whoami');
  assert.equal(
    me.stdout,
    [
      'Organization: Acme (t-0000000001)',
      'Token ID:     tok-0000000001',
      'Token Name:   ci',
      'Scopes:       entries:read',
      'Expires At:   2030-02-01 12:00:00.25 +0000 UTC',
      '',
    ].join('\n'),
  );
  assert.deepEqual(Object.keys(JSON.parse((await h.run('whoami', '-o', 'json')).stdout) as object), ['organization_id', 'organization_name', 'token_id', 'token_name', 'scopes', 'created_at', 'expires_at']);
  const list = await h.run('token', 'list');
  assert.match(list.stdout, /^Name +ID +Scopes +State +Created +Expires$/m);
  assert.match(list.stdout, /^ci +tok-0000000001 +entries:read +active +2030-01-01T00:00:00Z +never$/m);
  assert.match(list.stdout, /^old +tok-0000000002 +admin +expired +/m);
  assert.match(list.stdout, /^4 tokens found\.$/m);
  h.seen.length = 0;
  assert.equal((await h.run('token', 'revoke', 'ci')).stdout, 'Token ci (tok-0000000001) revoked.\n');
  assert.equal((await h.run('token', 'revoke', 'tok-0000000002')).stdout, 'Token old (tok-0000000002) revoked.\n');
  assert.deepEqual(h.seen.filter((s) => s.method === 'DELETE').map((s) => s.path), ['/api/v1/tokens/tok-0000000001', '/api/v1/tokens/tok-0000000002']);
  const ambiguous = await h.run('token', 'revoke', 'twin');
  assert.equal(ambiguous.code, 1);
  assert.match(ambiguous.stderr, /several tokens are named twin \(tok-0000000003, tok-0000000004\); give the tok-… id \(INVALID_ARGUMENT\)/);
  const missing = await h.run('token', 'revoke', 'nobody');
  assert.match(missing.stderr, /token nobody not found \(TOKEN_NOT_FOUND\)/);
  assert.equal(h.seen.filter((s) => s.method === 'DELETE').length, 2, 'nothing revoked for refused names');
});

test('cluster config list|show|create map to the config-versions routes', async () => {
  const version = { id: 'cv-0000000001', clusterId: 'c-0000000001', config: { logLevel: 'debug', nestedKey: { camelCase: 1 } }, createdAt: '2030-01-01T00:00:00.000Z' };
  const h = harness(
    (request) => {
      if (request.method === 'POST') return { status: 201, body: { id: 'c-0000000001', name: 'edge', configVersions: [{ id: 'cv-0000000002', createdAt: '2030-01-02T00:00:00.000Z' }] } };
      if (request.path.endsWith('/config-versions')) return { status: 200, body: { items: [version], nextCursor: null } };
      return { status: 200, body: version };
    },
    { documents: { 'edge.yaml': 'logLevel: info\n' } },
  );
  const list = await h.run('cluster', 'config', 'list', 'edge', '--trust-domain', 'a.io');
  assert.equal(list.stdout, 'ID             Created\ncv-0000000001  2030-01-01T00:00:00Z\n1 cluster config version found.\n');
  const shown = await h.run('cluster', 'config', 'show', 'cv-0000000001', '--cluster', 'edge', '--trust-domain', 'a.io');
  assert.match(shown.stdout, /^ID: +cv-0000000001\nCluster ID: +c-0000000001\nCreated At: +2030-01-01 00:00:00 \+0000 UTC\nConfig:\n {2}logLevel: debug\n/);
  const json = JSON.parse((await h.run('cluster', 'config', 'show', 'cv-0000000001', '--cluster', 'edge', '--trust-domain', 'a.io', '-o', 'json')).stdout) as Record<string, unknown>;
  assert.deepEqual(json['config'], version.config, 'the user document keeps its own key names');
  assert.equal(json['cluster_id'], 'c-0000000001');
  const created = await h.run('cluster', 'config', 'create', 'edge', '--trust-domain', 'a.io', '--file', 'edge.yaml');
  assert.equal(created.stdout, 'Cluster config cv-0000000002 created for cluster edge.\n');
  assert.deepEqual(
    h.seen.map((s) => [s.method, s.path, s.body]),
    [
      ['GET', '/api/v1/trust-domains/a.io/clusters/edge/config-versions', undefined],
      ['GET', '/api/v1/trust-domains/a.io/clusters/edge/config-versions/cv-0000000001', undefined],
      ['GET', '/api/v1/trust-domains/a.io/clusters/edge/config-versions/cv-0000000001', undefined],
      ['POST', '/api/v1/trust-domains/a.io/clusters/edge/config-versions', { config: { logLevel: 'info' } }],
    ],
  );
});
