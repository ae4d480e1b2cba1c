import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CreatedDeploymentKey, DeploymentKey } from './keys.js';
import type { Cluster, Deployment, Entry, TrustDomain } from './types.js';
import {
  clusterDeleted,
  clusterDisabled,
  clusterInfo,
  clusterList,
  configSectionSet,
  createdOrganization,
  createdToken,
  deploymentCreated,
  deploymentList,
  entryInfo,
  entryList,
  keyCreated,
  keyList,
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
  activeClusters: 1,
  deployments: 1,
  federations: 0,
  activeFederations: 0,
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
  managed: false,
  activeKeys: 2,
  configurationState: 'Unknown',
  lastConfiguredAt: null,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
};

test('trust-domain list: spirlctl columns, active/total counts, widths from content, singular footer', () => {
  assert.equal(
    trustDomainList([{ ...td, activeClusters: 0 }]),
    'Name         ID             State         Self-hosted  Clusters  Federations\n' +
      'example.org  td-1a2b3c4d5e  provisioning  false        0/1       0/0\n' +
      '1 trust domain found.\n',
  );
});

test('trust-domain list: plural footer, self-hosted true, counts without active ones from an older server, empty list', () => {
  const other: TrustDomain = {
    ...td,
    id: 'td-zzzzzzzzzz',
    name: 'a.io',
    kind: 'self-hosted',
    status: 'available',
    clusters: 5,
    activeClusters: 2,
    federations: 3,
    activeFederations: 0,
  };
  assert.equal(
    trustDomainList([td, other]),
    'Name         ID             State         Self-hosted  Clusters  Federations\n' +
      'example.org  td-1a2b3c4d5e  provisioning  false        1/1       0/0\n' +
      'a.io         td-zzzzzzzzzz  available     true         2/5       0/3\n' +
      '2 trust domains found.\n',
  );
  assert.equal(trustDomainList([]), 'No trust domains found.\n');
});

test("trust-domain info: the guide's labels in its order, times as `2030-01-02 00:00:00.5 +0000 UTC`", () => {
  assert.equal(
    trustDomainInfo({ ...td, updatedAt: '2030-01-02T00:00:00.500Z' }),
    [
      'ID:                      td-1a2b3c4d5e',
      'Name:                    example.org',
      'Description:             payments mesh',
      'Status:                  provisioning',
      'Self-Managed:            false',
      'Agent Endpoint:          td-1a2b3c4d5e.agent.example.net:443',
      'SPIFFE Bundle Endpoint:  http://127.0.0.1:8080/t-0000000001/example.org/bundle',
      'JWT Issuer:              http://127.0.0.1:8080/t-0000000001/example.org',
      'JWKS Endpoint:           http://127.0.0.1:8080/t-0000000001/example.org/jwks',
      'OIDC Discovery Endpoint: http://127.0.0.1:8080/t-0000000001/example.org/.well-known/openid-configuration',
      'Clusters:                1/1',
      'Created At:              2030-01-01 00:00:00 +0000 UTC',
      'Last Updated At:         2030-01-02 00:00:00.5 +0000 UTC',
      '',
    ].join('\n'),
  );
});

test('trust-domain info: endpoints the server does not serve (null) are not printed at all; self-hosted is Self-Managed', () => {
  const text = trustDomainInfo({
    ...td,
    kind: 'self-hosted',
    endpoints: { agent: '127.0.0.1:8443', bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null },
  });
  assert.equal(
    text,
    [
      'ID:              td-1a2b3c4d5e',
      'Name:            example.org',
      'Description:     payments mesh',
      'Status:          provisioning',
      'Self-Managed:    true',
      'Agent Endpoint:  127.0.0.1:8443',
      'Clusters:        1/1',
      'Created At:      2030-01-01 00:00:00 +0000 UTC',
      'Last Updated At: 2030-01-02 00:00:00 +0000 UTC',
      '',
    ].join('\n'),
  );
  assert.doesNotMatch(text, /bundle|jwks|openid|issuer|http/i);
});

test('trust-domain info --show-deployments: the count, then Name ID Configuration State Last Configured', () => {
  const text = trustDomainInfo({
    ...td,
    description: '',
    endpoints: { agent: '', bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null },
    deploymentList: [
      deployment,
      { ...deployment, id: 'tdd-5x4bd5nv5l', name: 'us-west-2', configurationState: 'Up to date', lastConfiguredAt: '2025-10-23T18:55:25.212Z' },
    ],
  });
  assert.doesNotMatch(text, /^Description/m, 'an empty description is left out');
  assert.doesNotMatch(text, /endpoint/i);
  assert.ok(
    text.endsWith(
      '\nDeployments: 2\n' +
        'Name       ID              Configuration State  Last Configured\n' +
        'primary    tdd-0a1b2c3d4e  Unknown              -\n' +
        'us-west-2  tdd-5x4bd5nv5l  Up to date           2025-10-23 18:55:25.212 +0000 UTC\n',
    ),
    text,
  );
});

test('deployment list: spirlctl columns; Unknown and - until the deployment reports; across trust domains the trust domain is named', () => {
  assert.equal(
    deploymentList([{ ...deployment, configurationState: 'Pending', lastConfiguredAt: '2030-01-01T00:00:01Z' }]),
    'Name     ID              Configuration State  Last Configured\n' +
      'primary  tdd-0a1b2c3d4e  Pending              2030-01-01 00:00:01 +0000 UTC\n' +
      '1 trust domain deployment found.\n',
  );
  assert.equal(
    deploymentList([{ ...deployment, trustDomainName: 'example.org' }], { acrossTrustDomains: true }),
    'Name     ID              Configuration State  Last Configured  Trust Domain\n' +
      'primary  tdd-0a1b2c3d4e  Unknown              -                example.org\n' +
      '1 trust domain deployment found.\n',
  );
});

const createdKey: CreatedDeploymentKey = {
  id: 'tdk-pfze0ki4lt',
  deploymentId: 'tdd-t6rml5zfg5',
  deploymentName: 'us-west-2',
  trustDomainId: 'td-ro6d997e6n',
  trustDomainName: 'on-prem.example.com',
  state: 'active',
  fingerprint: 'ab'.repeat(32),
  publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n',
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  lastUsedAt: null,
  privateKeyPem: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFAKEFAKE\n-----END PRIVATE KEY-----\n',
};

test('deployment create: the deployment, the key id, the private key once with the notice, and the Helm values', () => {
  const text = deploymentCreated({ ...deployment, id: 'tdd-t6rml5zfg5', name: 'us-west-2', trustDomainId: 'td-ro6d997e6n', trustDomainName: 'on-prem.example.com' }, createdKey);
  assert.match(text, /^Trust domain deployment 'us-west-2' created successfully\.\n/);
  assert.match(text, /^Deployment name: +us-west-2$/m);
  assert.match(text, /^Deployment ID: +tdd-t6rml5zfg5$/m);
  assert.match(text, /^Trust domain name: +on-prem\.example\.com$/m);
  assert.match(text, /^Trust domain ID: +td-ro6d997e6n$/m);
  assert.match(text, /^Key id: +tdk-pfze0ki4lt$/m);
  assert.match(text, /Private Key:\n-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFAKEFAKE\n-----END PRIVATE KEY-----\n/);
  assert.match(text, /shown this one time and cannot be retrieved again/);
  assert.ok(
    text.includes(
      'trustDomainDeployment:\n' +
        '  id: tdd-t6rml5zfg5\n' +
        '  name: "us-west-2"\n' +
        '  trustDomainID: "td-ro6d997e6n"\n' +
        '  trustDomainName: "on-prem.example.com"\n' +
        '  controlPlane:\n' +
        '    auth:\n' +
        '      key:\n' +
        '        id: "tdk-pfze0ki4lt"\n' +
        '        pem: |\n' +
        '          -----BEGIN PRIVATE KEY-----\n' +
        '          MC4CAQAwBQYDK2VwBCIEIFAKEFAKE\n' +
        '          -----END PRIVATE KEY-----\n',
    ),
    text,
  );
});

test('deployment key create, and key list blocks with the public key, last use and a count', () => {
  const text = keyCreated(createdKey);
  assert.match(text, /^Trust domain key 'tdk-pfze0ki4lt' created successfully\.\n/);
  assert.match(text, /^Deployment name: +us-west-2$/m);
  assert.match(text, /^Trust domain name: +on-prem\.example\.com$/m);
  assert.match(text, /^Key id: +tdk-pfze0ki4lt$/m);
  assert.match(text, /Private Key:\n-----BEGIN PRIVATE KEY-----/);
  const { privateKeyPem: _secret, ...listed } = createdKey;
  const used: DeploymentKey = { ...listed, id: 'tdk-w7rtaev6t3', state: 'disabled', lastUsedAt: '2030-01-02T03:04:05.000Z', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEB\n-----END PUBLIC KEY-----' };
  assert.equal(
    keyList([listed, used]),
    [
      'Trust Domain Name:   on-prem.example.com',
      'Trust Domain ID:     td-ro6d997e6n',
      'Deployment Name:     us-west-2',
      'Trust Domain Key ID: tdk-pfze0ki4lt',
      'State:               active',
      'Last Used At:        -',
      'Public Key:',
      '-----BEGIN PUBLIC KEY-----',
      'MCowBQYDK2VwAyEA',
      '-----END PUBLIC KEY-----',
      '',
      'Trust Domain Name:   on-prem.example.com',
      'Trust Domain ID:     td-ro6d997e6n',
      'Deployment Name:     us-west-2',
      'Trust Domain Key ID: tdk-w7rtaev6t3',
      'State:               disabled',
      'Last Used At:        2030-01-02 03:04:05 +0000 UTC',
      'Public Key:',
      '-----BEGIN PUBLIC KEY-----',
      'MCowBQYDK2VwAyEB',
      '-----END PUBLIC KEY-----',
      '',
      '2 trust domain keys found.',
      '',
    ].join('\n'),
  );
  assert.equal(keyList([]), 'No trust domain keys found.\n');
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

test('cluster list (spirlctl columns), disable and delete messages per config version, and info', () => {
  assert.equal(
    clusterList([cluster]),
    'Name        ID            Configs  Created\n' +
      'production  c-1qa5rgostn  2        2030-01-01T00:00:00Z\n' +
      '1 cluster found.\n',
  );
  assert.equal(
    clusterDisabled(cluster),
    'Cluster config cv-0000000001 disabled.\nCluster config cv-0000000002 disabled.\nCluster production (c-1qa5rgostn) disabled.\n',
  );
  assert.equal(
    clusterDeleted(cluster),
    'Deleted cluster version cv-0000000001.\nDeleted cluster version cv-0000000002.\nCluster production (c-1qa5rgostn) deleted.\n',
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
  assert.ok(text.endsWith('\nDeployments: 1\nName     ID              Configuration State  Last Configured\nprimary  tdd-0a1b2c3d4e  Unknown              -\n'), text);
  assert.ok(!trustDomainInfo(td).includes('Deployments:'));
});

test('config set outcomes: stored, unchanged, and the two validate-only answers', () => {
  const base = {
    targetKind: 'cluster' as const,
    targetId: 'c-0000000001',
    trustDomainId: 'td-0000000001',
    section: 'agent',
    schema: 'v1' as const,
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

