// The built tpctl executable as a subprocess against a fake registry (node:http): flags →
// requests, output, exit codes, headers, and the config file on disk. The e2e against the real
// registry lives with the registry.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

/** The command as npm links it in the repo (README: node_modules/.bin/tpctl). */
const BIN = join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tpctl');

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const recorded: Recorded[] = [];
let server: Server;
let baseUrl = '';
let home = '';

const td = {
  id: 'td-1a2b3c4d5e',
  name: 'example.org',
  description: '',
  kind: 'managed',
  status: 'provisioning',
  clusters: 1,
  activeClusters: 1,
  deployments: 1,
  federations: 0,
  activeFederations: 0,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  endpoints: { agent: null, bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null },
};

const keyset = {
  id: 'ks-0001',
  state: 'prepared',
  keyType: 'ec-p256',
  x509: {
    notBefore: '2030-01-01T00:00:00.000Z',
    notAfter: '2030-01-02T00:00:00.000Z',
    skid: '0a1b',
  },
  jwt: { kid: 'Zm9vYmFy', notAfter: '2030-01-02T00:00:00.000Z' },
  preparedAt: '2030-01-01T00:00:00.000Z',
  activatedAt: null,
};

function reply(res: import('node:http').ServerResponse, status: number, body?: unknown): void {
  const problem = status >= 400;
  res.writeHead(
    status,
    body === undefined
      ? {}
      : { 'content-type': problem ? 'application/problem+json' : 'application/json' },
  );
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'tpctl-int-'));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.headers.authorization !== 'Bearer good-token') {
        reply(res, 401, {
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          code: 'UNAUTHENTICATED',
          detail: 'A valid bearer token is required',
        });
        return;
      }
      const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
      switch (route) {
        case 'GET /api/v1/trust-domains':
          reply(res, 200, { items: [td], nextCursor: null });
          return;
        case 'POST /api/v1/trust-domains':
          reply(res, 201, { ...td, ...(JSON.parse(body) as object) });
          return;
        case 'GET /api/v1/trust-domains/example.org':
          reply(res, 200, td);
          return;
        case 'GET /api/v1/trust-domains/example.org/deployments/tdd-1a2b3c4d5e/keysets':
          reply(res, 200, { items: [keyset], nextCursor: null });
          return;
        case 'POST /api/v1/trust-domains/example.org/deployments/tdd-1a2b3c4d5e/keysets/ks-0001/activate':
          reply(res, 200, {
            keyset: { ...keyset, state: 'active' },
            keysets: [{ ...keyset, state: 'active' }],
          });
          return;
        case 'PUT /api/v1/config/trust-domain-deployment/tdd-1a2b3c4d5e/key-manager': {
          const sent = JSON.parse(body) as { schema: string; spec: Record<string, unknown> };
          reply(res, 200, {
            targetKind: 'trust-domain-deployment',
            targetId: 'tdd-1a2b3c4d5e',
            trustDomainId: 'td-1a2b3c4d5e',
            section: 'key-manager',
            schema: sent.schema,
            spec: sent.spec,
            version: 1,
            createdAt: '2030-01-01T00:00:00.000Z',
            updatedAt: '2030-01-01T00:00:00.000Z',
            changed: true,
            validateOnly: false,
          });
          return;
        }
        case 'DELETE /api/v1/trust-domains/td-1a2b3c4d5e':
          reply(res, 409, {
            type: 'https://trustplane.dev/problems/trust-domain-in-use',
            title: 'Conflict',
            status: 409,
            code: 'TRUST_DOMAIN_IN_USE',
            detail:
              'Trust domain has clusters in use; delete all clusters (production c-1qa5rgostn) before trying again',
            blockers: [{ kind: 'cluster', id: 'c-1qa5rgostn', name: 'production' }],
          });
          return;
        default:
          reply(res, 404, {
            title: 'Not Found',
            status: 404,
            code: 'ROUTE_NOT_FOUND',
            detail: `no route ${route}`,
          });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(home, { recursive: true, force: true });
});

/** Runs the built CLI; asynchronous so the in-process fake server keeps answering. */
function tpctl(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      BIN,
      args,
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: home,
          TPCTL_CONFIG: join(home, 'config.yaml'),
          TPCTL_SERVER: baseUrl,
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test('node_modules/.bin/tpctl is linked at install to the executable bin/tpctl.js (node shebang)', async () => {
  const target = await realpath(BIN);
  assert.equal(target, join(__dirname, '..', 'bin', 'tpctl.js'));
  assert.ok(((await stat(target)).mode & 0o111) !== 0, 'executable');
  assert.ok((await readFile(target, 'utf8')).startsWith('#!/usr/bin/env node\n'));
});

test('trust-domain list: the table on stdout, exit 0, bearer token from TPCTL_TOKEN', async () => {
  recorded.length = 0;
  const result = await tpctl(['trust-domain', 'list'], { TPCTL_TOKEN: 'good-token' });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    'Name         ID             State         Self-hosted  Clusters  Federations\n' +
      'example.org  td-1a2b3c4d5e  provisioning  false        1/1       0/0\n' +
      '1 trust domain found.\n',
  );
  assert.equal(recorded[0]?.url, '/api/v1/trust-domains?limit=200');
  assert.equal(recorded[0]?.headers['idempotency-key'], undefined);
});

test('--output json prints exactly the items array, with snake_case field names', async () => {
  const result = await tpctl(['trust-domain', 'list', '--output', 'json'], {
    TPCTL_TOKEN: 'good-token',
  });
  assert.equal(result.code, 0);
  assert.deepEqual(JSON.parse(result.stdout), [
    {
      id: td.id, name: td.name, description: '', kind: 'managed', status: 'provisioning', clusters: 1, active_clusters: 1, deployments: 1,
      federations: 0, active_federations: 0, created_at: td.createdAt, updated_at: td.updatedAt,
      endpoints: { agent: null, bundle: null, jwt_issuer: null, jwks: null, oidc_discovery: null },
    },
  ]);
});

test('every POST carries a fresh UUID Idempotency-Key and a JSON body', async () => {
  recorded.length = 0;
  for (let i = 0; i < 2; i++) {
    const result = await tpctl(['trust-domain', 'create', 'example.org', '--description', 'd'], {
      TPCTL_TOKEN: 'good-token',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Trust domain example\.org \(td-1a2b3c4d5e\) created\./);
  }
  const keys = recorded.map((r) => r.headers['idempotency-key']);
  for (const key of keys)
    assert.match(
      String(key),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  assert.notEqual(keys[0], keys[1]);
  assert.equal(recorded[0]?.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(recorded[0]?.body ?? ''), {
    name: 'example.org',
    kind: 'managed',
    description: 'd',
  });
});

test('a refusal prints Error: <detail> (<code>) on stderr and exits 1', async () => {
  const result = await tpctl(['trust-domain', 'delete', 'example.org'], {
    TPCTL_TOKEN: 'good-token',
  });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr,
    'Error: Trust domain has clusters in use; delete all clusters (production c-1qa5rgostn) before trying again (TRUST_DOMAIN_IN_USE)\n',
  );
});

test('no token: the 401 is reported with its code', async () => {
  const result = await tpctl(['trust-domain', 'list']);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'Error: A valid bearer token is required (UNAUTHENTICATED)\n');
});

test('config set-context writes a 0600 YAML file the next invocation uses', async () => {
  const path = join(home, 'config.yaml');
  await writeFile(path, 'server: http://127.0.0.1:1\n', { mode: 0o644 });
  const saved = await tpctl(
    ['config', 'set-context', '--server', baseUrl, '--token', 'good-token'],
    { TPCTL_SERVER: '' },
  );
  assert.equal(saved.code, 0, saved.stderr);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(await readFile(path, 'utf8'), `server: ${baseUrl}\ntoken: good-token\n`);
  const listed = await tpctl(['trust-domain', 'list', '-o', 'json'], { TPCTL_SERVER: '' });
  assert.equal(listed.code, 0, listed.stderr);
  // The flag beats the file.
  const flagged = await tpctl(['--token', 'bad', 'trust-domain', 'list'], { TPCTL_SERVER: '' });
  assert.equal(flagged.code, 1);
  await rm(path);
});

test('an unknown config key stops tpctl naming the key', async () => {
  const path = join(home, 'config.yaml');
  await writeFile(path, 'sever: http://x\n');
  const result = await tpctl(['trust-domain', 'list']);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `Error: ${path}: unknown key "sever" (expected server, token) (CONFIG_INVALID)\n`,
  );
  await rm(path);
});

test('an unreachable server exits 1 with SERVER_UNREACHABLE', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const result = await tpctl(['trust-domain', 'list'], {
    TPCTL_SERVER: `http://127.0.0.1:${port}`,
  });
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `Error: cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (SERVER_UNREACHABLE)\n`,
  );
});

test('keyset list and activate: the table and the confirmation', async () => {
  recorded.length = 0;
  const list = await tpctl(
    ['trust-domain', 'deployment', 'keyset', 'list', 'example.org', 'tdd-1a2b3c4d5e'],
    {
      TPCTL_TOKEN: 'good-token',
    },
  );
  assert.equal(list.code, 0, list.stderr);
  assert.equal(
    list.stdout,
    'ID       State     Key type  Not before                Not after                 JWT kid\n' +
      'ks-0001  prepared  ec-p256   2030-01-01T00:00:00.000Z  2030-01-02T00:00:00.000Z  Zm9vYmFy\n' +
      '1 keyset found.\n',
  );
  const activated = await tpctl(
    [
      'trust-domain',
      'deployment',
      'keyset',
      'activate',
      'example.org',
      'tdd-1a2b3c4d5e',
      'ks-0001',
    ],
    { TPCTL_TOKEN: 'good-token' },
  );
  assert.equal(activated.code, 0, activated.stderr);
  assert.match(activated.stdout, /^Keyset ks-0001 activated\.\n\nID +State.*\nks-0001 +active /);
  assert.equal(recorded[1]?.method, 'POST');
  assert.equal(recorded[1]?.body, '');
});

test('config set reads the YAML file from disk and sends it as JSON', async () => {
  recorded.length = 0;
  const file = join(home, 'key-manager.yaml');
  await writeFile(
    file,
    'section: key-manager\nschema: v1\nspec:\n  kind: disk\n  dir: /var/lib/tp/keys\n  kekPath: /etc/tp/kek\n',
  );
  const result = await tpctl(
    ['config', 'set', 'trust-domain-deployment', '--id', 'tdd-1a2b3c4d5e', file],
    {
      TPCTL_TOKEN: 'good-token',
    },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    'Section key-manager of trust-domain-deployment tdd-1a2b3c4d5e stored as version 1.\n',
  );
  assert.equal(recorded[0]?.method, 'PUT');
  assert.equal(recorded[0]?.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(recorded[0]?.body ?? ''), {
    schema: 'v1',
    spec: { kind: 'disk', dir: '/var/lib/tp/keys', kekPath: '/etc/tp/kek' },
  });
  const missing = await tpctl(
    ['config', 'set', 'trust-domain-deployment', '--id', 'tdd-1a2b3c4d5e', join(home, 'nope.yaml')],
    {
      TPCTL_TOKEN: 'good-token',
    },
  );
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: cannot read .*nope\.yaml: ENOENT.*\(DOCUMENT_INVALID\)\n$/);
});
