// The one mapping from internal errors to gRPC statuses at the agent API's edge: typed refusals
// keep their code, an unexpected error is INTERNAL without its message (and is logged).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { CryptoError } from '@trustplane/crypto';
import { DomainError } from '@trustplane/events';
import { ConcurrencyError, EventLogUnavailableError, EventStoreError } from '@trustplane/eventstore';
import { KeyManagerError } from '@trustplane/keymanager';
import pino from 'pino';
import { SignerRequestError, SignerUnavailableError } from '../ca-service.js';
import { toSignerError } from '../responders.js';
import { AgentApiError } from './attestation.js';
import { grpcError, toGrpcStatus } from './edge.js';

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

test('typed refusals keep their status and code; nothing is logged for them', () => {
  const { logger, lines } = capturingLogger();
  const cases: [unknown, status, RegExp][] = [
    [new AgentApiError(status.PERMISSION_DENIED, 'AGENT_BANNED', 'the agent is banned'), status.PERMISSION_DENIED, /^the agent is banned$/],
    [new DomainError('NODE_NAME_INVALID', 'bad node name'), status.INVALID_ARGUMENT, /^NODE_NAME_INVALID: /],
    [new DomainError('JOIN_TOKEN_USED', 'used', 'conflict'), status.PERMISSION_DENIED, /^JOIN_TOKEN_USED: /],
    [new DomainError('AGENT_NOT_FOUND', 'no', 'not_found'), status.PERMISSION_DENIED, /^AGENT_NOT_FOUND: /],
    [new DomainError('AGENT_BANNED', 'no', 'forbidden'), status.PERMISSION_DENIED, /^AGENT_BANNED: /],
    [new SignerRequestError('CSR_REQUIRED', 'csr'), status.INVALID_ARGUMENT, /^CSR_REQUIRED: /],
    [new ConcurrencyError('tp.evt.x', 3), status.ABORTED, /concurrent change/],
    [new SignerUnavailableError('no active CA yet'), status.UNAVAILABLE, /^no active CA yet$/],
    [new CryptoError('CSR_BAD_SIGNATURE', 'bad signature'), status.INVALID_ARGUMENT, /^CSR_BAD_SIGNATURE: /],
    [new KeyManagerError('CUSTODY_UNAVAILABLE', 'socket /tmp/x gone'), status.UNAVAILABLE, /^key manager unavailable$/],
  ];
  for (const [error, code, details] of cases) {
    const mapped = toGrpcStatus(error, logger);
    assert.equal(mapped.code, code, String(error));
    assert.match(mapped.details, details, String(error));
  }
  assert.deepEqual(lines, []);
});

test('anything else is INTERNAL without its message, and logged', () => {
  const { logger, lines } = capturingLogger();
  for (const error of [new Error('password=hunter2 at /etc/secret'), new CryptoError('SIGNER_FAILED', 'key x509-ks-1 failed'), 'a string']) {
    const mapped = toGrpcStatus(error, logger);
    assert.deepEqual(mapped, { code: status.INTERNAL, details: 'internal error' });
  }
  assert.equal(lines.length, 3);
  assert.deepEqual(grpcError({ code: status.INTERNAL, details: 'internal error' }), { code: status.INTERNAL, details: 'internal error', name: 'AgentApiError', message: 'internal error' });
});

test('the event log, NATS or PostgreSQL unavailable: UNAVAILABLE with the dependency named (the agent retries), logged as a warning', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const cases: [unknown, RegExp][] = [
    [new EventLogUnavailableError('append to tp.evt.t.agent.a failed: the NATS connection is down'), /^EVENT_LOG_UNAVAILABLE: /],
    [new EventStoreError('APPEND_FAILED', 'append failed', { cause: Object.assign(new Error('insufficient resources'), { name: 'JetStreamApiError', status: 503 }) }), /^EVENT_LOG_UNAVAILABLE: /],
    [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), /^DATABASE_UNAVAILABLE: /],
  ];
  for (const [error, details] of cases) {
    const mapped = toGrpcStatus(error, logger);
    assert.equal(mapped.code, status.UNAVAILABLE, String(error));
    assert.match(mapped.details, details);
  }
  assert.equal(lines.length, 3);
  assert.ok(lines.every((line) => (JSON.parse(line) as { level: number }).level === 40));
  assert.deepEqual(toSignerError(new EventLogUnavailableError('down')), { code: 'EVENT_LOG_UNAVAILABLE', message: 'the event log cannot be reached right now; retry (with the same Idempotency-Key)', status: 503 });
});
