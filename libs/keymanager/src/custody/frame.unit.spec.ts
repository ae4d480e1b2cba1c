import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { KeyManagerError } from '../errors.js';
import { fingerprintOf } from '../keys.js';
import type { KeyInfo } from '../types.js';
import { FrameDecoder, FrameWriter, PayloadReader, MAX_FRAME_LENGTH } from './frame.js';
import {
  Op,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type CustodyRequest,
  type CustodyResponse,
} from './protocol.js';

function protocolError(err: unknown): boolean {
  return err instanceof KeyManagerError && err.code === 'PROTOCOL_ERROR';
}

const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  format: 'der',
  type: 'spki',
});
const info: KeyInfo = {
  keyId: 'x509-CA-A',
  keyType: 'ec-p256',
  publicKeyDer: new Uint8Array(spki),
  fingerprint: fingerprintOf(spki),
};

const requests: CustodyRequest[] = [
  { op: 'create', keyId: 'k1', keyType: 'rsa-2048' },
  { op: 'list' },
  { op: 'publicKey', keyId: 'k1' },
  {
    op: 'sign',
    keyId: 'k1',
    request: { message: new Uint8Array([1, 2, 3]), hashAlgorithm: 'sha384' },
  },
  {
    op: 'sign',
    keyId: 'k1',
    request: {
      digest: new Uint8Array(createHash('sha256').update('x').digest()),
      hashAlgorithm: 'sha256',
    },
  },
  { op: 'release', keyId: 'ключ-1' },
  { op: 'reconfigure', config: { kind: 'disk', dir: '/var/lib/tp/keys', kekPath: '/etc/tp/kek' } },
  { op: 'health' },
];

const responses: CustodyResponse[] = [
  { kind: 'keyInfo', info },
  { kind: 'keyList', keys: [info, { ...info, keyId: 'other' }] },
  { kind: 'keyList', keys: [] },
  { kind: 'signature', signature: new Uint8Array([0x30, 0x44, 9, 9]) },
  { kind: 'ok' },
  { kind: 'health', health: { ready: true, since: 1700000000123 } },
  {
    kind: 'health',
    health: { ready: false, lastErrorCode: 'WEBHOOK_TIMEOUT', lastErrorMessage: 'slow', since: 5 },
  },
  { kind: 'error', code: 'KEY_NOT_FOUND', message: 'key k not found' },
];

describe('custody frame codec', () => {
  it('round-trips every request', () => {
    requests.forEach((req, i) => {
      const frames = new FrameDecoder().push(encodeRequest(1000 + i, req));
      assert.equal(frames.length, 1);
      assert.equal(frames[0]?.id, 1000 + i);
      assert.deepEqual(decodeRequest(frames[0]!), req);
    });
  });

  it('round-trips every response', () => {
    responses.forEach((res, i) => {
      const [frame] = new FrameDecoder().push(encodeResponse(0xfffffff0 + i, res));
      assert.equal(frame?.id, 0xfffffff0 + i);
      assert.deepEqual(decodeResponse(frame!), res);
    });
  });

  it('reassembles pipelined frames split at every byte boundary', () => {
    const stream = Buffer.concat(requests.map((r, i) => encodeRequest(i + 1, r)));
    for (const step of [1, 2, 3, 7, 64, stream.length]) {
      const dec = new FrameDecoder();
      const got: CustodyRequest[] = [];
      const ids: number[] = [];
      for (let off = 0; off < stream.length; off += step) {
        for (const f of dec.push(stream.subarray(off, off + step))) {
          ids.push(f.id);
          got.push(decodeRequest(f));
        }
      }
      assert.deepEqual(
        ids,
        requests.map((_, i) => i + 1),
      );
      assert.deepEqual(got, requests);
      assert.equal(dec.pending, 0);
    }
  });

  it('encodes the documented header layout', () => {
    const frame = encodeRequest(7, { op: 'publicKey', keyId: 'ab' });
    assert.deepEqual([...frame], [0, 0, 0, 9, Op.PUBLIC_KEY, 0, 0, 0, 7, 0, 2, 0x61, 0x62]);
  });

  it('rejects bad lengths, truncation, trailing bytes and unknown ops', () => {
    const tooBig = Buffer.alloc(9);
    tooBig.writeUInt32BE(MAX_FRAME_LENGTH + 1, 0);
    assert.throws(() => new FrameDecoder().push(tooBig), protocolError);
    assert.throws(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 2, 1, 0])), protocolError);
    const truncated = new FrameWriter(Op.PUBLIC_KEY, 1).u8(0).finish();
    assert.throws(() => decodeRequest(new FrameDecoder().push(truncated)[0]!), protocolError);
    const trailing = new FrameWriter(Op.LIST, 1).u8(0).finish();
    assert.throws(() => decodeRequest(new FrameDecoder().push(trailing)[0]!), protocolError);
    const unknown = new FrameWriter(0x42, 1).finish();
    assert.throws(() => decodeRequest(new FrameDecoder().push(unknown)[0]!), protocolError);
    assert.throws(() => decodeResponse(new FrameDecoder().push(unknown)[0]!), protocolError);
    const badType = new FrameWriter(Op.CREATE, 1).str('k').u8(9).finish();
    assert.throws(() => decodeRequest(new FrameDecoder().push(badType)[0]!), protocolError);
    assert.throws(() => new PayloadReader(Buffer.from([0, 5, 1])).str(), protocolError);
  });

  it('refuses a key info whose fingerprint does not match its public key', () => {
    const lie = encodeResponse(1, {
      kind: 'keyInfo',
      info: { ...info, fingerprint: 'ab'.repeat(32) },
    });
    assert.throws(
      () => decodeResponse(new FrameDecoder().push(lie)[0]!),
      (err: unknown) => err instanceof KeyManagerError && err.code === 'FINGERPRINT_MISMATCH',
    );
  });

  it('maps unknown error codes to INTERNAL', () => {
    const f = new FrameWriter(Op.R_ERROR, 3).str('NOPE').str('m').finish();
    assert.deepEqual(decodeResponse(new FrameDecoder().push(f)[0]!), {
      kind: 'error',
      code: 'INTERNAL',
      message: 'm',
    });
  });
});
