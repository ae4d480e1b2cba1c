import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster, Deployment, Entry, TrustDomain } from './types.js';
import {
  clusterInfo,
  clusterList,
  configSectionSet,
  createdOrganization,
  createdToken,
  deploymentList,
  entryInfo,
  entryList,
  keysetList,
  trustDomainInfo,
  trustDomainList,
} from './views.js';

const td: TrustDomain = {
  id: 'td-1a2b3c4d5e',
  name: 'example.org',
  description: 'payments mesh',
  kind: 'managed',
  status: 'provisioning',
  clusters: 1,
  deployments: 1,
  federations: 0,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-02T00:00:00.000Z',
  endpoints: {
    agent: 'td-1a2b3c4d5e.agent.example.net:443',
    bundle: 'http://127.0.0.1:8080/t-0000000001/example.org/bundle',
    jwtIssuer: 'http://127.0.0.1:8080/t-0000000001/example.org',
    jwks: 'http://127.0.0.1:8080/t-0000000001/example.org/jwks',
    oidcDiscovery:
      'http://127.0.0.1:8080/t-0000000001/example.org/.well-known/openid-configuration',
  },
};

const deployment: Deployment = {
  id: 'tdd-0a1b2c3d4e',
  trustDomainId: 'td-1a2b3c4d5e',
  name: 'primary',
  region: 'eu-west-1',
  activeKeys: 2,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
};

test('trust-domain list: the hosted product table, widths from content, singular footer', () => {
  assert.equal(
    trustDomainList([td]),
    'Name         ID             State         Managed  Clusters  Federations\n' +
      'example.org  td-1a2b3c4d5e  provisioning  true     1         0\n' +
      '1 trust domain found.\n',
  );
});

test('trust-domain list: plural footer, self-hosted is not managed, empty list', () => {
  const other: TrustDomain = {
    ...td,
    id: 'td-zzzzzzzzzz',
    name: 'a.io',
    kind: 'self-hosted',
    status: 'available',
    clusters: 12,
    federations: 3,
  };
  assert.equal(
    trustDomainList([td, other]),
    'Name         ID             State         Managed  Clusters  Federations\n' +
      'example.org  td-1a2b3c4d5e  provisioning  true     1         0\n' +
      'a.io         td-zzzzzzzzzz  available     false    12        3\n' +
      '2 trust domains found.\n',
  );
  assert.equal(trustDomainList([]), 'No trust domains found.\n');
});

test('trust-domain info: aligned key/values in a fixed order', () => {
  assert.equal(
    trustDomainInfo(td),
    [
      'Name:                    example.org',
      'ID:                      td-1a2b3c4d5e',
      'Description:             payments mesh',
      'Kind:                    managed',
      'State:                   provisioning',
      'Created:                 2030-01-01T00:00:00.000Z',
      'Updated:                 2030-01-02T00:00:00.000Z',
      'Agent endpoint:          td-1a2b3c4d5e.agent.example.net:443',
      'Bundle endpoint:         http://127.0.0.1:8080/t-0000000001/example.org/bundle',
      'JWT issuer:              http://127.0.0.1:8080/t-0000000001/example.org',
      'JWKS endpoint:           http://127.0.0.1:8080/t-0000000001/example.org/jwks',
      'OIDC discovery endpoint: http://127.0.0.1:8080/t-0000000001/example.org/.well-known/openid-configuration',
      'Clusters:                1',
      'Deployments:             1',
      '',
    ].join('\n'),
  );
});

test('trust-domain info: endpoints the server does not serve (null) are not printed at all', () => {
  const text = trustDomainInfo({
    ...td,
    endpoints: { agent: '127.0.0.1:8443', bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null },
  });
  assert.equal(
    text,
    [
      'Name:           example.org',
      'ID:             td-1a2b3c4d5e',
      'Description:    payments mesh',
      'Kind:           managed',
      'State:          provisioning',
      'Created:        2030-01-01T00:00:00.000Z',
      'Updated:        2030-01-02T00:00:00.000Z',
      'Agent endpoint: 127.0.0.1:8443',
      'Clusters:       1',
      'Deployments:    1',
      '',
    ].join('\n'),
  );
  assert.doesNotMatch(text, /bundle|jwks|openid|issuer|http/i);
});

test('trust-domain info --show-deployments: the count, then the deployments table; no endpoints at all', () => {
  const text = trustDomainInfo({
    ...td,
    description: '',
    endpoints: null,
    deployments: [deployment],
  });
  assert.match(text, /^Description: -$/m);
  assert.doesNotMatch(text, /endpoint/i);
  assert.ok(
    text.endsWith(
      'Deployments: 1\n' +
        '\n' +
        'Deployments:\n' +
        'Name     ID              Region     Active keys  Created\n' +
        'primary  tdd-0a1b2c3d4e  eu-west-1  2            2030-01-01T00:00:00.000Z\n' +
        '1 deployment found.\n',
    ),
    text,
  );
});

test('deployment list: empty region shows -', () => {
  assert.equal(
    deploymentList([{ ...deployment, region: null }]),
    'Name     ID              Region  Active keys  Created\n' +
      'primary  tdd-0a1b2c3d4e  -       2            2030-01-01T00:00:00.000Z\n' +
      '1 deployment found.\n',
  );
});

const cluster: Cluster = {
  id: 'c-1qa5rgostn',
  trustDomainId: 'td-1a2b3c4d5e',
  name: 'production',
  platform: 'k8s',
  description: '',
  status: 'active',
  configVersions: [
    { id: 'cv-0000000001', createdAt: '2030-01-01T00:00:00.000Z' },
    { id: 'cv-0000000002', createdAt: '2030-01-03T00:00:00.000Z' },
  ],
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-03T00:00:00.000Z',
};

test('cluster list and info', () => {
  assert.equal(
    clusterList([cluster]),
    'Name        ID            Platform  Status  Config versions  Created\n' +
      'production  c-1qa5rgostn  k8s       active  2                2030-01-01T00:00:00.000Z\n' +
      '1 cluster found.\n',
  );
  assert.equal(clusterList([]), 'No clusters found.\n');
  assert.equal(
    clusterInfo(cluster),
    [
      'Name:                  production',
      'ID:                    c-1qa5rgostn',
      'Trust domain:          td-1a2b3c4d5e',
      'Platform:              k8s',
      'Description:           -',
      'Status:                active',
      'Config versions:       2',
      'Latest config version: cv-0000000002 (2030-01-03T00:00:00.000Z)',
      'Created:               2030-01-01T00:00:00.000Z',
      'Updated:               2030-01-03T00:00:00.000Z',
      '',
    ].join('\n'),
  );
});

const entry: Entry = {
  id: 'e-0000000001',
  trustDomainId: 'td-1a2b3c4d5e',
  spiffeId: 'spiffe://example.org/payments',
  parentId: 'spiffe://example.org/agent/node-1',
  selectors: ['k8s:ns:payments', 'k8s:sa:api'],
  x509SvidTtl: null,
  jwtSvidTtl: 300,
  dnsNames: [],
  federatesWith: ['partner.io'],
  admin: false,
  downstream: false,
  hint: null,
  expiresAt: null,
  revision: 3,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-02T00:00:00.000Z',
};

test('entry list: selectors joined by commas, plural "entries"', () => {
  const second: Entry = {
    ...entry,
    id: 'e-0000000002',
    spiffeId: 'spiffe://example.org/web',
    selectors: ['unix:uid:1000'],
    revision: 1,
  };
  assert.equal(
    entryList([entry, second]),
    'ID            SPIFFE ID                      Parent ID                          Selectors                   Revision\n' +
      'e-0000000001  spiffe://example.org/payments  spiffe://example.org/agent/node-1  k8s:ns:payments,k8s:sa:api  3\n' +
      'e-0000000002  spiffe://example.org/web       spiffe://example.org/agent/node-1  unix:uid:1000               1\n' +
      '2 entries found.\n',
  );
  assert.equal(entryList([entry]).split('\n').at(-2), '1 entry found.');
  assert.equal(entryList([]), 'No entries found.\n');
});

test('entry show: TTLs in seconds or "default", lists joined, empties as -', () => {
  assert.equal(
    entryInfo(entry),
    [
      'ID:             e-0000000001',
      'Trust domain:   td-1a2b3c4d5e',
      'SPIFFE ID:      spiffe://example.org/payments',
      'Parent ID:      spiffe://example.org/agent/node-1',
      'Selectors:      k8s:ns:payments, k8s:sa:api',
      'X509-SVID TTL:  default',
      'JWT-SVID TTL:   300s',
      'DNS names:      -',
      'Federates with: partner.io',
      'Admin:          false',
      'Downstream:     false',
      'Hint:           -',
      'Expires at:     -',
      'Revision:       3',
      'Created:        2030-01-01T00:00:00.000Z',
      'Updated:        2030-01-02T00:00:00.000Z',
      '',
    ].join('\n'),
  );
});

test('a created token is printed once, with the warning', () => {
  assert.equal(
    createdToken({
      id: 'tok-1',
      name: 'ci',
      scopes: ['entries:read', 'entries:write'],
      token: 'tp_secret',
      expiresAt: null,
    }),
    'Token ci (tok-1) created.\n' +
      'Scopes:  entries:read, entries:write\n' +
      'Expires: never\n' +
      '\n' +
      'tp_secret\n' +
      '\n' +
      'Copy this token now: it is not shown again.\n',
  );
  assert.equal(
    createdOrganization({ id: 't-0000000001', name: 'acme' }),
    'Organization acme (t-0000000001) created.\n',
  );
});

test("info --show-deployments also reads the registry's `deploymentList` next to the count", () => {
  const text = trustDomainInfo({ ...td, deployments: 1, deploymentList: [deployment] });
  assert.ok(
    text.endsWith(
      'Deployments:             1\n' +
        '\n' +
        'Deployments:\n' +
        'Name     ID              Region     Active keys  Created\n' +
        'primary  tdd-0a1b2c3d4e  eu-west-1  2            2030-01-01T00:00:00.000Z\n' +
        '1 deployment found.\n',
    ),
    text,
  );
  assert.ok(!trustDomainInfo(td).includes('Deployments:\n'));
});

test('config set outcomes: stored, unchanged, and the two validate-only answers', () => {
  const base = {
    targetKind: 'cluster',
    targetId: 'c-0000000001',
    trustDomainId: 'td-0000000001',
    section: 'agent',
    schema: 'v1',
    spec: {},
    version: 4,
    createdAt: null,
    updatedAt: null,
  };
  const what = 'Section agent of cluster c-0000000001';
  assert.equal(
    configSectionSet({ ...base, changed: true, validateOnly: false }),
    `${what} stored as version 4.\n`,
  );
  assert.equal(
    configSectionSet({ ...base, changed: false, validateOnly: false }),
    `${what} unchanged (version 4).\n`,
  );
  assert.match(
    configSectionSet({ ...base, changed: true, validateOnly: true }),
    /nothing was stored \(--validate-only\)\. Storing it would make version 4\.\n$/,
  );
  assert.match(
    configSectionSet({ ...base, changed: false, validateOnly: true }),
    /equals the stored version 4; nothing was stored/,
  );
});

test('keyset list: one row per keyset, a singular footer, - for what the signer left out', () => {
  const text = keysetList([
    {
      id: 'ks-1',
      state: 'old',
      keyType: 'ec-p256',
      x509: { notBefore: 'nb', notAfter: 'na', skid: 's' },
      jwt: { kid: '', notAfter: 'na' },
      preparedAt: 'p',
      activatedAt: null,
    },
  ]);
  assert.equal(
    text,
    'ID    State  Key type  Not before  Not after  JWT kid\nks-1  old    ec-p256   nb          na         -\n1 keyset found.\n',
  );
});

