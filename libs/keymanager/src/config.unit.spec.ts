import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseKeyManagerConfig } from './config.js';
import { KeyManagerError } from './errors.js';
import { WebhookKeyManager } from './webhook.js';

function configError(pattern: RegExp): (err: unknown) => boolean {
  return (err) =>
    err instanceof KeyManagerError && err.code === 'CONFIG_INVALID' && pattern.test(err.message);
}

describe('parseKeyManagerConfig', () => {
  it('accepts each kind and freezes the result', () => {
    assert.deepEqual(parseKeyManagerConfig({ kind: 'memory' }), { kind: 'memory' });
    const disk = parseKeyManagerConfig({ kind: 'disk', dir: '/d', kekPath: '/k', createKek: true });
    assert.deepEqual(disk, { kind: 'disk', dir: '/d', kekPath: '/k', createKek: true });
    assert.ok(Object.isFrozen(disk));
    assert.deepEqual(
      parseKeyManagerConfig({
        kind: 'webhook',
        webhookURL: 'https://km',
        authType: 'bearer',
        tokenPath: '/t',
        timeout: '5s',
      }),
      {
        kind: 'webhook',
        webhookURL: 'https://km',
        authType: 'bearer',
        tokenPath: '/t',
        timeout: '5s',
      },
    );
  });

  it('a bearer token is given as a file or (unsealed by the signer) inline, never both', () => {
    const inline = { kind: 'webhook', webhookURL: 'https://km', authType: 'bearer', token: 'abc.DEF-123' };
    assert.deepEqual(parseKeyManagerConfig(inline), inline);
    assert.throws(() => parseKeyManagerConfig({ ...inline, tokenPath: '/t' }), configError(/token: give token or tokenPath/));
    for (const token of ['two words', 'line\nbreak', 'x'.repeat(4097), 'tök']) {
      assert.throws(() => parseKeyManagerConfig({ ...inline, token }), configError(/keyManager\.token/), JSON.stringify(token));
    }
  });

  it('names the offending key', () => {
    assert.throws(() => parseKeyManagerConfig({ kind: 'hsm' }), configError(/keyManager\.kind/));
    assert.throws(
      () => parseKeyManagerConfig({ kind: 'memory', dir: '/x' }),
      configError(/keyManager\.dir: unknown key/),
    );
    assert.throws(
      () => parseKeyManagerConfig({ kind: 'disk', dir: '/d' }),
      configError(/keyManager\.kekPath: required/),
    );
    assert.throws(
      () =>
        parseKeyManagerConfig({ kind: 'webhook', webhookURL: 'https://km', authType: 'bearer' }),
      configError(/tokenPath: required/),
    );
    assert.throws(
      () => parseKeyManagerConfig({ kind: 'webhook', webhookURL: 'https://km', authType: 'mtls' }),
      configError(/authType/),
    );
    assert.throws(() => parseKeyManagerConfig('memory'), configError(/must be an object/));
  });

  it('webhook options are validated once, at construction', () => {
    assert.throws(
      () => new WebhookKeyManager({ webhookURL: 'http://km.internal' }),
      configError(/must be https/),
    );
    assert.throws(
      () => new WebhookKeyManager({ webhookURL: 'https://km', timeout: '5 parsecs' }),
      configError(/timeout/),
    );
    assert.throws(
      () => new WebhookKeyManager({ webhookURL: 'https://km', timeout: '-1s' }),
      configError(/positive/),
    );
    assert.throws(
      () => new WebhookKeyManager({ webhookURL: 'https://u:p@km' }),
      configError(/credentials/),
    );
    const km = new WebhookKeyManager({
      webhookURL: 'http://127.0.0.1:1',
      allowInsecureForTests: true,
    });
    assert.equal(km.ready(), false, 'not ready before discovery');
    void km.close();
  });
});
