// The operator's policy over tenant-written key-manager sections, lexically: hostile paths and
// URLs are refused with the option named; an unrestricted (self-hosted) policy allows all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyManagerPolicyProblems, parseKeyManagerConfig, parsePathRoots, parseUrlPrefixes, type KeyManagerPolicy } from './index.js';

const policy: KeyManagerPolicy = {
  kind: 'confined',
  pathRoots: parsePathRoots('/var/lib/tp/tenants/{tenant},/etc/tp/shared-ca'),
  webhookUrlPrefixes: parseUrlPrefixes('https://kms.internal:8443/v1,https://kms2.internal'),
};
const TENANT = 't-aaaaaaaaaa';

function problems(spec: Record<string, unknown>, p: KeyManagerPolicy = policy): string[] {
  return keyManagerPolicyProblems(parseKeyManagerConfig(spec), p, TENANT).map((x) => `${x.key}: ${x.code}`);
}

const disk = (dir: string, kekPath = '/var/lib/tp/tenants/t-aaaaaaaaaa/kek') => ({ kind: 'disk', dir, kekPath });
const webhook = (webhookURL: string, extra: Record<string, unknown> = {}) => ({ kind: 'webhook', webhookURL, ...extra });

test('paths inside the tenant root and URLs under an allowed prefix pass', () => {
  assert.deepEqual(problems(disk('/var/lib/tp/tenants/t-aaaaaaaaaa/keys')), []);
  assert.deepEqual(problems(disk('/var/lib/tp/tenants/t-aaaaaaaaaa')), [], 'the root itself');
  assert.deepEqual(problems(webhook('https://kms.internal:8443/v1')), []);
  assert.deepEqual(problems(webhook('https://kms.internal:8443/v1/keys/tenant-a', { caCertPath: '/etc/tp/shared-ca/ca.pem' })), []);
  assert.deepEqual(problems(webhook('https://KMS2.internal/anything')), [], 'host names compare without case');
  assert.deepEqual(problems({ kind: 'memory' }), []);
});

test('hostile paths are refused, naming the option', () => {
  const cases: [Record<string, unknown>, string][] = [
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa/../t-bbbbbbbbbb/keys'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa/keys/../../../../../etc'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-bbbbbbbbbb/keys'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa-evil/keys'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa//keys'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa/./keys'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa/keys/'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/etc'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('keys'), 'dir: CONFIG_NOT_ALLOWED'],
    [disk('/var/lib/tp/tenants/t-aaaaaaaaaa/keys', '/etc/shadow'), 'kekPath: CONFIG_NOT_ALLOWED'],
    [webhook('https://kms.internal:8443/v1', { authType: 'bearer', tokenPath: '/root/.ssh/id_ed25519' }), 'tokenPath: CONFIG_NOT_ALLOWED'],
    [webhook('https://kms.internal:8443/v1', { caCertPath: '/etc/tp/shared-ca/../../passwd' }), 'caCertPath: CONFIG_NOT_ALLOWED'],
  ];
  for (const [spec, expected] of cases) assert.deepEqual(problems(spec), [expected], JSON.stringify(spec));
});

test('webhook URLs off the allow-list are refused, however they are dressed', () => {
  for (const url of [
    'https://evil.example/v1',
    'https://kms.internal:8444/v1',
    'https://kms.internal/v1',
    'https://kms.internal:8443/v2',
    'https://kms.internal:8443/v1-evil',
    'https://kms2.internal.evil.example/',
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://169.254.169.254/latest/meta-data',
  ]) {
    assert.deepEqual(problems(webhook(url)), ['webhookURL: CONFIG_NOT_ALLOWED'], url);
  }
  // Not even https, or with credentials: refused by the parser before the policy.
  for (const url of ['file:///etc/passwd', 'http://kms.internal:8443/v1', 'https://kms.internal:8443@evil.example/v1', 'https://kms.internal:8443.evil.example/v1', 'gopher://kms.internal/']) {
    assert.throws(() => parseKeyManagerConfig(webhook(url)), /webhookURL/, url);
  }
  assert.deepEqual(problems(webhook('http://kms.internal:8443/v1', { allowInsecureForTests: true })).sort(), ['allowInsecureForTests: CONFIG_NOT_ALLOWED', 'webhookURL: CONFIG_NOT_ALLOWED']);
});

test('no roots and no allow-list: every path and every webhook is refused; unrestricted allows all', () => {
  const closed: KeyManagerPolicy = { kind: 'confined', pathRoots: [], webhookUrlPrefixes: [] };
  assert.deepEqual(problems(disk('/var/lib/tp/tenants/t-aaaaaaaaaa/keys'), closed), ['dir: CONFIG_NOT_ALLOWED', 'kekPath: CONFIG_NOT_ALLOWED']);
  assert.deepEqual(problems(webhook('https://kms.internal:8443/v1'), closed), ['webhookURL: CONFIG_NOT_ALLOWED']);
  assert.deepEqual(problems(disk('/anywhere', '/etc/kek'), { kind: 'unrestricted' }), []);
});

test('operator settings are checked at boot', () => {
  assert.throws(() => parsePathRoots('relative/root'), /absolute/);
  assert.throws(() => parsePathRoots('/var/lib/../etc'), /normalized/);
  assert.throws(() => parsePathRoots('/'), /other than \//);
  assert.throws(() => parsePathRoots('/var/lib/tp/t-{tenant}'), /whole path segment/);
  assert.deepEqual(parsePathRoots(''), []);
  assert.throws(() => parseUrlPrefixes('http://kms.internal'), /https/);
  assert.throws(() => parseUrlPrefixes('https://user:pw@kms.internal'), /credentials/);
  assert.throws(() => parseUrlPrefixes('not a url'), /not a URL/);
});
