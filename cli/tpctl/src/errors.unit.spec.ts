import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiPath, apiUrl, problemToError } from './client.js';
import { bootstrapError } from './bootstrap.js';
import { ApiError, CliError, renderError } from './errors.js';

test('a problem+json body becomes a typed ApiError with its code and detail', () => {
  const error = problemToError(
    409,
    'Conflict',
    JSON.stringify({
      type: 'https://trustplane.dev/problems/trust-domain-in-use',
      title: 'Conflict',
      status: 409,
      code: 'TRUST_DOMAIN_IN_USE',
      detail:
        'Trust domain has clusters in use; delete all clusters (production c-1qa5rgostn) before trying again',
      blockers: [{ kind: 'cluster', id: 'c-1qa5rgostn', name: 'production' }],
    }),
  );
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 409);
  assert.equal(error.code, 'TRUST_DOMAIN_IN_USE');
  assert.deepEqual(error.problem?.['blockers'], [
    { kind: 'cluster', id: 'c-1qa5rgostn', name: 'production' },
  ]);
  assert.equal(
    renderError(error),
    'Error: Trust domain has clusters in use; delete all clusters (production c-1qa5rgostn) before trying again (TRUST_DOMAIN_IN_USE)\n',
  );
});

test('validation problems list each field under the error line', () => {
  const error = problemToError(
    400,
    'Bad Request',
    JSON.stringify({
      status: 400,
      title: 'Bad Request',
      code: 'VALIDATION_FAILED',
      detail: 'The request is invalid',
      errors: [
        { field: 'selectors[0]', code: 'FORMAT', message: 'selectors[0] must be type:value' },
        { field: 'dnsNames[1]', code: 'LENGTH', message: 'too long' },
      ],
    }),
  );
  assert.equal(
    renderError(error),
    'Error: The request is invalid (VALIDATION_FAILED)\n  selectors[0] must be type:value (FORMAT)\n  dnsNames[1]: too long (LENGTH)\n',
  );
});

test('bodies without a code or without JSON still give a code and a detail', () => {
  assert.equal(
    renderError(problemToError(404, 'Not Found', JSON.stringify({ title: 'Not Found' }))),
    'Error: Not Found (HTTP_404)\n',
  );
  assert.equal(
    renderError(problemToError(502, 'Bad Gateway', '<html>upstream down</html>\n')),
    'Error: <html>upstream down</html> (HTTP_502)\n',
  );
  assert.equal(
    renderError(problemToError(503, 'Service Unavailable', '')),
    'Error: Service Unavailable (HTTP_503)\n',
  );
});

test('CLI-side errors and unexpected throwables use the same shape', () => {
  assert.equal(
    renderError(
      new CliError('SERVER_UNREACHABLE', 'cannot reach http://x:1: connect ECONNREFUSED'),
    ),
    'Error: cannot reach http://x:1: connect ECONNREFUSED (SERVER_UNREACHABLE)\n',
  );
  assert.equal(renderError(new TypeError('boom')), 'Error: boom (INTERNAL)\n');
});

test('paths encode each segment; URLs join the base path and skip undefined query values', () => {
  assert.equal(apiPath('trust-domains', 'a b/c', 'clusters'), '/trust-domains/a%20b%2Fc/clusters');
  assert.equal(
    apiUrl('http://h:1/', '/entries', { spiffeId: 'spiffe://x/y', after: undefined, limit: 200 }),
    'http://h:1/api/v1/entries?spiffeId=spiffe%3A%2F%2Fx%2Fy&limit=200',
  );
});

test('bootstrap failures keep a stable code of their own, else BOOTSTRAP_FAILED', () => {
  const coded = Object.assign(new Error('stream TP_EVENTS not found'), {
    code: 'STREAM_NOT_FOUND',
  });
  assert.equal(
    renderError(bootstrapError(coded)),
    'Error: stream TP_EVENTS not found (STREAM_NOT_FOUND)\n',
  );
  assert.equal(
    renderError(bootstrapError(new Error('organization t-0000000001 does not exist'))),
    'Error: organization t-0000000001 does not exist (BOOTSTRAP_FAILED)\n',
  );
  // Connection failures keep their errno code too.
  const errno = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4222'), {
    code: 'ECONNREFUSED',
  });
  assert.equal(
    renderError(bootstrapError(errno)),
    'Error: connect ECONNREFUSED 127.0.0.1:4222 (ECONNREFUSED)\n',
  );
});
