import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapTrustProblem, DEFAULT_AGENT_SOCKET_PATH, loadAgentConfig } from './config.js';

describe('agent config', () => {
  it('has working defaults', () => {
    const config = loadAgentConfig({});
    assert.equal(config.socketPath, DEFAULT_AGENT_SOCKET_PATH);
    assert.equal(config.procRoot, '/proc');
    assert.equal(config.hashExecutables, true);
    assert.ok(Object.isFrozen(config));
  });

  it('reads TP_AGENT_* keys, rejects unknown ones and names the key in errors', () => {
    assert.equal(
      loadAgentConfig({ TP_AGENT_SOCKET_PATH: '/tmp/x/api.sock' }).socketPath,
      '/tmp/x/api.sock',
    );
    assert.throws(() => loadAgentConfig({ TP_AGENT_SOCKT_PATH: '/x' }), {
      code: 'CONFIG_UNKNOWN_KEY',
      key: 'TP_AGENT_SOCKT_PATH',
    });
    assert.throws(() => loadAgentConfig({ TP_AGENT_SOCKET_PATH: 'relative.sock' }), {
      code: 'CONFIG_INVALID',
      key: 'TP_AGENT_SOCKET_PATH',
    });
    // Other services' keys are not the agent's business.
    assert.equal(loadAgentConfig({ TP_SIGNER_PORT: '1' }).socketPath, DEFAULT_AGENT_SOCKET_PATH);
  });

  it('needs a trust bundle for the first attestation unless insecure bootstrap is asked for, never both', () => {
    const bundle = { TP_AGENT_TRUST_BUNDLE_PATH: '/etc/trustplane/bundle.pem' };
    const insecure = { TP_AGENT_INSECURE_BOOTSTRAP: 'true' };
    assert.equal(bootstrapTrustProblem(loadAgentConfig(bundle)), undefined);
    assert.equal(bootstrapTrustProblem(loadAgentConfig(insecure)), undefined);
    assert.match(
      bootstrapTrustProblem(loadAgentConfig({})) ?? '',
      /TP_AGENT_TRUST_BUNDLE_PATH is required.*tpctl trust-domain bundle/,
    );
    assert.match(
      bootstrapTrustProblem(loadAgentConfig({ ...bundle, ...insecure })) ?? '',
      /contradict/,
    );
  });
});
