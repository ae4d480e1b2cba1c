import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  configPath,
  DEFAULT_SERVER,
  mergeConfig,
  parseConfigFile,
  resolveSettings,
} from './config.js';
import { CliError } from './errors.js';

test('flags beat the environment, which beats the file; the default server is local', () => {
  const file = { server: 'http://file:1', token: 'file-token' };
  const env = { TPCTL_SERVER: 'http://env:2', TPCTL_TOKEN: 'env-token' };
  assert.deepEqual(resolveSettings({ server: 'http://flag:3', token: 'flag-token' }, env, file), {
    server: 'http://flag:3',
    serverSource: 'flag',
    token: 'flag-token',
    tokenSource: 'flag',
  });
  assert.deepEqual(resolveSettings({}, env, file), {
    server: 'http://env:2',
    serverSource: 'env',
    token: 'env-token',
    tokenSource: 'env',
  });
  assert.deepEqual(resolveSettings({}, {}, file), {
    server: 'http://file:1',
    serverSource: 'file',
    token: 'file-token',
    tokenSource: 'file',
  });
  assert.deepEqual(resolveSettings({}, {}, {}), {
    server: DEFAULT_SERVER,
    serverSource: 'default',
    token: undefined,
    tokenSource: 'none',
  });
});

test('each setting is resolved on its own, and empty values fall through', () => {
  const settings = resolveSettings(
    { token: 'flag-token' },
    { TPCTL_SERVER: '', TPCTL_TOKEN: 'env-token' },
    { server: 'http://file:1' },
  );
  assert.equal(settings.server, 'http://file:1');
  assert.equal(settings.token, 'flag-token');
});

test('a server that is not an http(s) URL is refused, naming where it came from', () => {
  assert.throws(
    () => resolveSettings({}, { TPCTL_SERVER: 'localhost:8080' }, {}),
    (error: unknown) =>
      error instanceof CliError &&
      error.code === 'INVALID_ARGUMENT' &&
      error.detail.startsWith('TPCTL_SERVER'),
  );
  assert.throws(
    () => resolveSettings({ server: 'ftp://x' }, {}, {}),
    /--server "ftp:\/\/x" must be an http or https URL/,
  );
});

test('the config file path: $TPCTL_CONFIG, else ~/.config/tpctl/config.yaml', () => {
  assert.equal(configPath({ TPCTL_CONFIG: '/etc/tpctl.yaml' }, '/home/op'), '/etc/tpctl.yaml');
  assert.equal(configPath({}, '/home/op'), '/home/op/.config/tpctl/config.yaml');
});

test('the config file is YAML with server and token; unknown keys and bad values are refused', () => {
  assert.deepEqual(parseConfigFile('server: http://a:1\ntoken: t\n', 'c.yaml'), {
    server: 'http://a:1',
    token: 't',
  });
  assert.deepEqual(parseConfigFile('', 'c.yaml'), {});
  const invalid = (text: string, pattern: RegExp) =>
    assert.throws(
      () => parseConfigFile(text, 'c.yaml'),
      (error: unknown) =>
        error instanceof CliError && error.code === 'CONFIG_INVALID' && pattern.test(error.detail),
    );
  invalid('server: http://a:1\ntokn: t\n', /unknown key "tokn"/);
  invalid('token: 42\n', /"token" must be a string/);
  invalid('- a\n', /must be a mapping/);
  invalid('server: [\n', /not valid YAML/);
});

test('set-context merges: given keys replace, others stay', () => {
  assert.deepEqual(mergeConfig({ server: 'http://a:1', token: 'old' }, { token: 'new' }), {
    server: 'http://a:1',
    token: 'new',
  });
  assert.deepEqual(mergeConfig({}, { server: 'http://b:2' }), { server: 'http://b:2' });
});
