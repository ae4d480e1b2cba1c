import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoError, cryptoErrorKind, isCryptoError, type CryptoErrorCode } from './index';

describe('CryptoError', () => {
  it('carries a stable code and a chained cause', () => {
    const cause = new Error('low level');
    const err = new CryptoError('CSR_BAD_SIGNATURE', 'bad', { cause });
    assert.equal(err.code, 'CSR_BAD_SIGNATURE');
    assert.equal(err.cause, cause);
    assert.equal(err.name, 'CryptoError');
    assert.ok(isCryptoError(err, 'CSR_BAD_SIGNATURE'));
    assert.ok(!isCryptoError(err, 'TTL_TOO_LONG'));
    assert.ok(!isCryptoError(cause));
  });

  it('classifies signer and builder faults as internal, the rest as invalid input', () => {
    const internal: CryptoErrorCode[] = [
      'SIGNER_FAILED',
      'OUTPUT_VALIDATION_FAILED',
      'INVALID_OPTIONS',
    ];
    for (const code of internal) assert.equal(cryptoErrorKind(code), 'internal');
    for (const code of ['TTL_TOO_LONG', 'CSR_BAD_SIGNATURE', 'TOO_MANY_URI_SANS'] as const) {
      assert.equal(cryptoErrorKind(code), 'invalid_input');
    }
  });
});
