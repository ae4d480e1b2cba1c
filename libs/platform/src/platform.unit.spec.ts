import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  commonConfigSchema,
  ConfigError,
  field,
  INFRASTRUCTURE_RETRY_AFTER_SECONDS,
  jsonDepthExceeds,
  loadConfig,
  REDACTED_PATHS,
  redactUrl,
  retryAfterOf,
  runReadinessChecks,
  toProblem,
} from './index.js';
import { DomainError } from '@trustplane/events';
import { EventStoreError } from '@trustplane/eventstore';
import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import pg from 'pg';

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

test('problems: infrastructure failures are 503 with Retry-After, by the one edge rule', () => {
  const appendFailed = (cause: unknown) => new EventStoreError('APPEND_FAILED', 'append to x failed', { cause });
  const insufficient = new JetStreamApiError({ code: 503, err_code: 10047, description: 'insufficient resources' });
  const adminShutdown = Object.assign(new pg.DatabaseError('terminating connection due to administrator command', 0, 'error'), { code: '57P01' });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const cases: [unknown, string][] = [
    [appendFailed(new TimeoutError()), 'EVENT_LOG_UNAVAILABLE'],
    [appendFailed(insufficient), 'EVENT_LOG_UNAVAILABLE'],
    [appendFailed(new ClosedConnectionError()), 'EVENT_LOG_UNAVAILABLE'],
    [new RequestError('no responders', { cause: new NoRespondersError('tp.cmd.x') }), 'MESSAGE_BUS_UNAVAILABLE'],
    [adminShutdown, 'DATABASE_UNAVAILABLE'],
    [new Error('timeout exceeded when trying to connect'), 'DATABASE_UNAVAILABLE'],
    [new Error('Connection terminated unexpectedly'), 'DATABASE_UNAVAILABLE'],
    [refused, 'DEPENDENCY_UNAVAILABLE'],
  ];
  for (const [error, code] of cases) {
    const problem = toProblem(error);
    assert.equal(problem.status, 503, code);
    assert.equal(problem.code, code);
    assert.equal(retryAfterOf(error, problem), INFRASTRUCTURE_RETRY_AFTER_SECONDS);
    assert.doesNotMatch(problem.detail, /127\.0\.0\.1|ECONNREFUSED/);
  }
  // A JetStream refusal of the request itself, a bug, or a constraint violation stays what it is.
  const badRequest = new JetStreamApiError({ code: 400, err_code: 10052, description: 'invalid request' });
  assert.equal(toProblem(appendFailed(badRequest)).status, 500);
  assert.equal(toProblem(new TypeError('x is undefined')).status, 500);
  assert.equal(retryAfterOf(new TypeError('x'), toProblem(new TypeError('x'))), undefined);
  const nul = Object.assign(new pg.DatabaseError('invalid byte sequence for encoding "UTF8": 0x00', 0, 'error'), { code: '22021' });
  assert.equal(toProblem(nul).status, 400);
});

test('JSON depth is measured without recursion; brackets inside strings do not count', () => {
  assert.equal(jsonDepthExceeds('{"a":[1,{"b":[]}]}', 4), false);
  assert.equal(jsonDepthExceeds('{"a":[1,{"b":[]}]}', 3), true);
  assert.equal(jsonDepthExceeds(`{"s":"${'['.repeat(100)}\\"{"}`, 1), false);
  assert.equal(jsonDepthExceeds('['.repeat(1_000_000) + ']'.repeat(1_000_000), 32), true);
});
