import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { commonConfigSchema, ConfigError, field, loadConfig, REDACTED_PATHS, redactUrl, runReadinessChecks, toProblem } from './index.js';
import { DomainError } from '@trustplane/events';

const schema = { ...commonConfigSchema, port: field.int('TP_DEMO_PORT', 'port', { default: 8080, min: 0, max: 65535 }) };
const sources = (env: Record<string, string>) => ({ env, ownedPrefixes: ['TP_'], foreignPrefixes: ['TP_SIGNER_'] });

test('config: defaults apply and the result is frozen', () => {
  const config = loadConfig(schema, sources({}));
  assert.equal(config.port, 8080);
  assert.equal(config.natsUrl, 'nats://127.0.0.1:4222');
  assert.ok(Object.isFrozen(config));
});

test('config: an unknown key under an owned prefix fails at boot naming the key', () => {
  assert.throws(
    () => loadConfig(schema, sources({ TP_DEMO_PROT: '9000' })),
    (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_UNKNOWN_KEY' && e.key === 'TP_DEMO_PROT' && /TP_DEMO_PROT/.test(e.message),
  );
  // Another service's keys are not ours to judge.
  assert.doesNotThrow(() => loadConfig(schema, sources({ TP_SIGNER_ANYTHING: 'x' })));
});

test('config: the local stack credentials of every NATS user are no setting, but a typo of one is refused', () => {
  const config = loadConfig(
    schema,
    sources({ TP_NATS_USER: 'tp-registry', TP_NATS_PASSWORD: 'p', TP_NATS_SIGNER_USER: 'tp-signer', TP_NATS_SIGNER_PASSWORD: 's', TP_NATS_ALLOW_ANONYMOUS: 'true' }),
  );
  assert.equal(config.natsUser, 'tp-registry');
  assert.equal(config.natsAllowAnonymous, true);
  assert.equal(loadConfig(schema, sources({})).natsAllowAnonymous, false, 'an anonymous bus is refused by default');
  assert.throws(
    () => loadConfig(schema, sources({ TP_NATS_PASWORD: 'p' })),
    (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_UNKNOWN_KEY' && e.key === 'TP_NATS_PASWORD',
  );
});

test('config: an invalid value fails naming the key and the rule', () => {
  assert.throws(
    () => loadConfig(schema, sources({ TP_DEMO_PORT: '70000' })),
    (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && e.key === 'TP_DEMO_PORT' && /between 0 and 65535/.test(e.message),
  );
  assert.throws(
    () => loadConfig(schema, sources({ NATS_URL: 'http://x' })),
    (e: unknown) => e instanceof ConfigError && e.key === 'NATS_URL',
  );
  assert.throws(
    () => loadConfig(schema, sources({ TP_LOG_LEVEL: 'loud' })),
    (e: unknown) => e instanceof ConfigError && e.key === 'TP_LOG_LEVEL',
  );
});

test('config: a config file with an unknown key is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'port: 9000\nlogLevl: debug\n');
  assert.throws(
    () => loadConfig(schema, { ...sources({}), file }),
    (e: unknown) => e instanceof ConfigError && e.key === 'logLevl',
  );
  writeFileSync(file, 'port: 9000\n');
  assert.equal(loadConfig(schema, { ...sources({}), file }).port, 9000);
});

test('logging redacts secrets and URLs hide passwords', () => {
  let output = '';
  const sink = new Writable({ write(chunk, _enc, done) { output += chunk.toString(); done(); } });
  const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
  logger.info({ token: 'tp_secret_token', key: { privateKey: 'PEM' }, req: { headers: { authorization: 'Bearer abc' } } }, 'x');
  assert.doesNotMatch(output, /tp_secret_token|PEM|Bearer abc/);
  assert.equal(redactUrl('postgres://u:hunter2@db/x'), 'postgres://u:***@db/x');
});

test('readiness: one failing check makes the service not ready and says why', async () => {
  const report = await runReadinessChecks([
    { name: 'nats', check: async () => undefined },
    { name: 'postgres', check: async () => Promise.reject(new Error('connection refused')) },
    { name: 'slow', check: () => new Promise(() => undefined) },
  ], 50);
  assert.equal(report.ready, false);
  assert.deepEqual(report.checks, { nats: 'ok', postgres: 'connection refused', slow: 'timed out after 50 ms' });
});

test('problems: domain errors map to statuses with their stable code; internals never leak', () => {
  assert.equal(toProblem(new DomainError('X_TAKEN', 'taken', 'conflict')).status, 409);
  assert.equal(toProblem(new DomainError('X_MISSING', 'missing', 'not_found')).status, 404);
  const internal = toProblem(new Error('password=hunter2 at db'));
  assert.equal(internal.status, 500);
  assert.equal(internal.detail, 'internal error');
});
